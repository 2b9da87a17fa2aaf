package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Steps of one issuance flow, in order.
const (
	StepRequest = "request" // merchant: requestAttestation mutation
	StepOpen    = "open"    // customer: GET the consent page
	StepApprove = "approve" // customer: POST approve; the token is issued here
	StepFetch   = "fetch"   // merchant: attestationRequest query returning the token
)

// Steps lists the steps in flow order.
var Steps = []string{StepRequest, StepOpen, StepApprove, StepFetch}

// Driver runs issuance flows against one service.
type Driver struct {
	Base   string
	APIKey string
	http   *http.Client
}

// NewDriver returns a Driver whose connections to base are kept alive and
// shared by every flow.
func NewDriver(base, apiKey string, timeout time.Duration) *Driver {
	transport := &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}
	return &Driver{Base: base, APIKey: apiKey, http: &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// Redirects are not followed, so each step is one request.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Session is a signed-in customer of the development sign-in.
type Session struct {
	Customer string
	jar      http.CookieJar
	csrf     string
}

var csrfPattern = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// SignIn signs customer in through the development sign-in and keeps the
// session cookie and its CSRF token.
func (d *Driver) SignIn(ctx context.Context, customer string) (*Session, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: d.http.Transport, Jar: jar, Timeout: time.Minute}
	form := url.Values{"customer": {customer}, "next": {"/consent/"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Base+"/consent/signin", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sign in %s: %w", customer, err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfPattern.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		return nil, fmt.Errorf("sign in %s: status %d, no CSRF token on the page", customer, resp.StatusCode)
	}
	return &Session{Customer: customer, jar: jar, csrf: string(m[1])}, nil
}

// Result is one flow's outcome: the duration of each step it reached, and
// the issued token when it got that far.
type Result struct {
	Durations map[string]time.Duration
	// FailedStep is the step that failed, or "" when the flow completed.
	FailedStep string
	Err        error
	RequestID  string
	JTI        string
	Token      string
}

// Claims of every flow: three claims derived from parties and balances.
var flowClaims = []any{
	map[string]any{"ageOver": map[string]any{"minimumAge": 18}},
	map[string]any{"fundsAtLeast": map[string]any{"amount": "50.00", "currency": "GBP"}},
	map[string]any{"addressMatches": map[string]any{"postCode": strings.ToLower(PostCode)}},
}

const requestMutation = `mutation($input: RequestAttestationInput!) {
  requestAttestation(input: $input) { attestationRequest { id consentUrl } userErrors { field message } }
}`

const fetchQuery = `query($id: ID!) { attestationRequest(id: $id) { status attestation { token jti } } }`

// Flow runs one issuance: the merchant requests claims, the customer of s
// opens the consent page and approves, and the merchant fetches the token.
func (d *Driver) Flow(ctx context.Context, s *Session) Result {
	res := Result{Durations: make(map[string]time.Duration, len(Steps))}
	fail := func(step string, err error) Result {
		res.FailedStep, res.Err = step, err
		return res
	}

	start := time.Now()
	var created struct {
		RequestAttestation struct {
			AttestationRequest *struct{ ID, ConsentURL string }
			UserErrors         []struct{ Field, Message string }
		}
	}
	err := d.graphql(ctx, requestMutation, map[string]any{"input": map[string]any{
		"purpose": "Load test age, funds and address check", "claims": flowClaims}}, &created)
	res.Durations[StepRequest] = time.Since(start)
	if err == nil && created.RequestAttestation.AttestationRequest == nil {
		err = fmt.Errorf("userErrors %v", created.RequestAttestation.UserErrors)
	}
	if err != nil {
		return fail(StepRequest, err)
	}
	res.RequestID = created.RequestAttestation.AttestationRequest.ID
	consentURL := created.RequestAttestation.AttestationRequest.ConsentURL

	start = time.Now()
	err = d.customerRequest(ctx, s, http.MethodGet, consentURL, nil)
	res.Durations[StepOpen] = time.Since(start)
	if err != nil {
		return fail(StepOpen, err)
	}

	start = time.Now()
	err = d.customerRequest(ctx, s, http.MethodPost, consentURL+"/approve", url.Values{"csrf_token": {s.csrf}})
	res.Durations[StepApprove] = time.Since(start)
	if err != nil {
		return fail(StepApprove, err)
	}

	start = time.Now()
	var fetched struct {
		AttestationRequest struct {
			Status      string
			Attestation *struct{ Token, JTI string }
		}
	}
	err = d.graphql(ctx, fetchQuery, map[string]any{"id": res.RequestID}, &fetched)
	res.Durations[StepFetch] = time.Since(start)
	if err == nil && (fetched.AttestationRequest.Status != "ISSUED" || fetched.AttestationRequest.Attestation == nil) {
		err = fmt.Errorf("request %s is %s without a token after approval", res.RequestID, fetched.AttestationRequest.Status)
	}
	if err != nil {
		return fail(StepFetch, err)
	}
	res.Token, res.JTI = fetched.AttestationRequest.Attestation.Token, fetched.AttestationRequest.Attestation.JTI
	return res
}

// customerRequest sends a consent page request with the session's cookie.
// A 2xx or 303 response is success.
func (d *Driver) customerRequest(ctx context.Context, s *Session, method, target string, form url.Values) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range s.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("%s %s: status %d", method, req.URL.Path, resp.StatusCode)
	}
	return nil
}

// graphql posts a GraphQL operation with the client's API key and decodes
// data into out. GraphQL errors are returned as an error.
func (d *Driver) graphql(ctx context.Context, query string, vars map[string]any, out any) error {
	payload, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Base+"/graphql", bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+d.APIKey)
	resp, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var envelope struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&envelope); err != nil {
		return fmt.Errorf("POST /graphql: status %d, undecodable response: %w", resp.StatusCode, err)
	}
	if len(envelope.Errors) > 0 {
		return fmt.Errorf("POST /graphql: status %d: %s", resp.StatusCode, envelope.Errors[0].Message)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /graphql: status %d", resp.StatusCode)
	}
	if len(envelope.Data) == 0 {
		return errors.New("POST /graphql: no data")
	}
	return json.Unmarshal(envelope.Data, out)
}
