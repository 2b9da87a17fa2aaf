// Command go-merchant is a minimal merchant integration of insights. It
// requests a proof that the customer is over 18, prints the consent page link,
// waits for the customer to come back to its redirect URI (or polls when it
// has none), fetches the token and verifies it offline with
// lestrrat-go/jwx: signature against the issuer's JWK set, issuer,
// audience, expiry with clock skew, and the token's status list entry.
//
// It depends on nothing from the insights repository, so it can be copied
// as the start of a real integration.
package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// clockSkew is how far the merchant's clock may differ from the issuer's.
const clockSkew = 30 * time.Second

func main() {
	baseURL := flag.String("base-url", envOr("INSIGHTS_URL", "http://127.0.0.1:8080"), "the insights service's public URL")
	apiKey := flag.String("api-key", os.Getenv("INSIGHTS_API_KEY"), "the merchant's API key (env INSIGHTS_API_KEY)")
	redirectURI := flag.String("redirect-uri", "", "a registered redirect URI on 127.0.0.1 to receive the customer on; empty polls instead")
	timeout := flag.Duration("timeout", 5*time.Minute, "how long to wait for the customer's decision")
	flag.Parse()
	if *apiKey == "" {
		log.Fatal("-api-key or INSIGHTS_API_KEY is required")
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	m := &merchant{baseURL: strings.TrimRight(*baseURL, "/"), apiKey: *apiKey, http: &http.Client{Timeout: 30 * time.Second}}
	if err := m.run(ctx, *redirectURI); err != nil {
		log.Fatal(err)
	}
}

type merchant struct {
	baseURL string
	apiKey  string
	http    *http.Client
}

func (m *merchant) run(ctx context.Context, redirectURI string) error {
	// 1. Who am I? The token's aud must be this client ID.
	var viewer struct {
		Viewer struct{ ID string } `json:"viewer"`
	}
	if err := m.graphql(ctx, `{ viewer { id } }`, nil, &viewer); err != nil {
		return err
	}

	// 2. Ask for the proof. state ties the customer's return to this run.
	state := randomHex(16)
	input := map[string]any{
		"purpose": "Age check for your order",
		"claims":  []any{map[string]any{"ageOver": map[string]any{"minimumAge": 18}}},
	}
	if redirectURI != "" {
		input["redirectUri"] = redirectURI
		input["state"] = state
	}
	var created struct {
		RequestAttestation struct {
			AttestationRequest *struct{ ID, ConsentURL string } `json:"attestationRequest"`
			UserErrors         []struct {
				Field   []string
				Message string
			} `json:"userErrors"`
		} `json:"requestAttestation"`
	}
	err := m.graphql(ctx, `mutation($input: RequestAttestationInput!) {
  requestAttestation(input: $input) { attestationRequest { id consentUrl } userErrors { field message } }
}`, map[string]any{"input": input}, &created)
	if err != nil {
		return err
	}
	if ue := created.RequestAttestation.UserErrors; len(ue) > 0 {
		return fmt.Errorf("request rejected: %s: %s", strings.Join(ue[0].Field, "."), ue[0].Message)
	}
	req := created.RequestAttestation.AttestationRequest
	fmt.Printf("request_id: %s\nconsent_url: %s\n", req.ID, req.ConsentURL)

	// 3. Wait for the customer.
	if redirectURI != "" {
		if err := waitForRedirect(ctx, redirectURI, req.ID, state); err != nil {
			return err
		}
	}
	token, err := m.waitForToken(ctx, req.ID)
	if err != nil {
		return err
	}

	// 4. Verify the token offline and check its status list entry.
	claims, err := m.verify(ctx, token, viewer.Viewer.ID)
	if err != nil {
		return fmt.Errorf("token rejected: %w", err)
	}
	out, _ := json.Marshal(claims)
	fmt.Printf("verified claims: %s\n", out)
	return nil
}

// waitForRedirect serves the redirect URI until the customer arrives with
// this request's ID and the state sent with it.
func waitForRedirect(ctx context.Context, redirectURI, requestID, state string) error {
	u, err := parseLoopback(redirectURI)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		return fmt.Errorf("listen for the redirect: %w", err)
	}
	done := make(chan error, 1)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.URL.Path != u.Path:
			http.NotFound(w, r)
			return
		case q.Get("state") != state || q.Get("request_id") != requestID:
			// Another tab or a forged link: ignore it and keep waiting.
			http.Error(w, "unknown request or state", http.StatusBadRequest)
			return
		case q.Get("status") != "approved":
			fmt.Fprintln(w, "You declined. Nothing was shared.")
			done <- fmt.Errorf("the customer declined request %s", requestID)
			return
		}
		fmt.Fprintln(w, "Thank you. You can close this page.")
		done <- nil
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	fmt.Printf("waiting for the customer at %s\n", redirectURI)

	select {
	case err := <-done:
		if err == nil {
			fmt.Println("customer returned: approved")
		}
		return err
	case <-ctx.Done():
		return fmt.Errorf("no decision before the timeout: %w", ctx.Err())
	}
}

// waitForToken polls the request until its token is issued.
func (m *merchant) waitForToken(ctx context.Context, requestID string) (string, error) {
	for {
		var got struct {
			AttestationRequest struct {
				Status      string
				Attestation *struct{ Token string }
			} `json:"attestationRequest"`
		}
		err := m.graphql(ctx, `query($id: ID!) { attestationRequest(id: $id) { status attestation { token } } }`,
			map[string]any{"id": requestID}, &got)
		if err != nil {
			return "", err
		}
		switch got.AttestationRequest.Status {
		case "ISSUED":
			return got.AttestationRequest.Attestation.Token, nil
		case "DENIED", "EXPIRED", "REVOKED":
			return "", fmt.Errorf("request %s is %s", requestID, got.AttestationRequest.Status)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no token before the timeout: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// verify checks the token as any offline verifier should, and returns its
// claims.
func (m *merchant) verify(ctx context.Context, token, clientID string) (map[string]any, error) {
	// A real integration keeps one jwk.Cache for the process, so keys are
	// fetched once and refreshed when the issuer rotates them.
	cache := jwk.NewCache(ctx)
	jwksURL := m.baseURL + "/.well-known/jwks.json"
	if err := cache.Register(jwksURL, jwk.WithMinRefreshInterval(5*time.Minute)); err != nil {
		return nil, err
	}
	keys := jwk.NewCachedSet(cache, jwksURL)

	parsed, err := jwt.ParseString(token,
		jwt.WithKeySet(keys),
		jwt.WithIssuer(m.baseURL),
		jwt.WithAudience(clientID),
		jwt.WithAcceptableSkew(clockSkew),
		jwt.WithValidate(true),
	)
	if err != nil {
		return nil, err
	}
	claims, err := parsed.AsMap(ctx)
	if err != nil {
		return nil, err
	}

	status, err := m.tokenStatus(ctx, claims, keys)
	if err != nil {
		return nil, fmt.Errorf("status list: %w", err)
	}
	if status != 0 {
		return nil, fmt.Errorf("status list entry is %d, not 0 (VALID): the customer revoked the proof", status)
	}
	fmt.Println("status: VALID")
	return claims, nil
}

// tokenStatus fetches the status list the token's status claim names,
// verifies it with the issuer's keys and returns the token's entry
// (IETF draft-ietf-oauth-status-list: 0 VALID, 1 INVALID, 2 SUSPENDED).
func (m *merchant) tokenStatus(ctx context.Context, claims map[string]any, keys jwk.Set) (int, error) {
	raw, _ := json.Marshal(claims["status"])
	var ref struct {
		StatusList struct {
			Idx int    `json:"idx"`
			URI string `json:"uri"`
		} `json:"status_list"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil || ref.StatusList.URI == "" {
		return 0, errors.New("the token has no status claim")
	}
	if !strings.HasPrefix(ref.StatusList.URI, m.baseURL+"/") {
		return 0, fmt.Errorf("status list %s is not on the issuer", ref.StatusList.URI)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref.StatusList.URI, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/statuslist+jwt")
	resp, err := m.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("fetch %s: HTTP %d %v", ref.StatusList.URI, resp.StatusCode, err)
	}
	list, err := jwt.Parse(body, jwt.WithKeySet(keys), jwt.WithSubject(ref.StatusList.URI),
		jwt.WithAcceptableSkew(clockSkew), jwt.WithValidate(true))
	if err != nil {
		return 0, err
	}
	value, ok := list.Get("status_list")
	if !ok {
		return 0, errors.New("status list token has no status_list claim")
	}
	raw, _ = json.Marshal(value)
	var sl struct {
		Bits int    `json:"bits"`
		Lst  string `json:"lst"`
	}
	if err := json.Unmarshal(raw, &sl); err != nil {
		return 0, err
	}
	compressed, err := base64.RawURLEncoding.DecodeString(sl.Lst)
	if err != nil {
		return 0, fmt.Errorf("lst is not base64url: %w", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return 0, fmt.Errorf("lst is not zlib: %w", err)
	}
	bitmap, err := io.ReadAll(zr)
	if err != nil {
		return 0, err
	}
	// Entry idx occupies bits idx*bits ... of the byte array, least
	// significant bit first.
	bit := ref.StatusList.Idx * sl.Bits
	if sl.Bits <= 0 || bit/8 >= len(bitmap) {
		return 0, fmt.Errorf("index %d is outside the list", ref.StatusList.Idx)
	}
	return int(bitmap[bit/8]>>(bit%8)) & (1<<sl.Bits - 1), nil
}

// graphql sends one operation and decodes data into out.
func (m *merchant) graphql(ctx context.Context, query string, variables map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": variables})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.baseURL+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+m.apiKey)
	resp, err := m.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var result struct {
		Data   json.RawMessage
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&result); err != nil {
		return fmt.Errorf("decode GraphQL response (HTTP %d): %w", resp.StatusCode, err)
	}
	if len(result.Errors) > 0 {
		return fmt.Errorf("GraphQL error %s: %s", result.Errors[0].Extensions.Code, result.Errors[0].Message)
	}
	return json.Unmarshal(result.Data, out)
}

func parseLoopback(raw string) (*struct{ Host, Path string }, error) {
	rest, ok := strings.CutPrefix(raw, "http://")
	if !ok {
		return nil, fmt.Errorf("redirect URI %s: this example receives the customer on http://127.0.0.1 only", raw)
	}
	host, path, _ := strings.Cut(rest, "/")
	if h, _, err := net.SplitHostPort(host); err != nil || h != "127.0.0.1" {
		return nil, fmt.Errorf("redirect URI %s: want http://127.0.0.1:PORT/PATH", raw)
	}
	return &struct{ Host, Path string }{host, "/" + path}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
