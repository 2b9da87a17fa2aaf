package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights/internal/attest"
)

// verifyConfig holds the flags of insights verify.
type verifyConfig struct {
	jwksURL     string
	audience    string
	issuer      string
	nonce       string
	skew        time.Duration
	checkStatus bool
}

func runVerify(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg verifyConfig
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.StringVar(&cfg.jwksURL, "jwks", envOr("INSIGHTS_JWKS_URL", "http://127.0.0.1:8080/.well-known/jwks.json"),
		"URL of the issuer's JWK set (env INSIGHTS_JWKS_URL)")
	fs.StringVar(&cfg.audience, "audience", "",
		"client ID the token must be addressed to (aud), and for an SD-JWT the aud its KB-JWT must name; empty accepts any aud and no KB-JWT")
	fs.StringVar(&cfg.issuer, "issuer", "", "issuer the token must name (iss); empty accepts any")
	fs.StringVar(&cfg.nonce, "nonce", "",
		"for an SD-JWT: the nonce given to the holder, which its KB-JWT must carry; when set, a presentation without a KB-JWT is rejected")
	fs.DurationVar(&cfg.skew, "skew", 30*time.Second, "clock skew allowed when checking iat and exp")
	fs.BoolVar(&cfg.checkStatus, "status", true,
		"fetch the token's status list and reject a revoked or suspended token; -status=false skips the check and the request")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: insights verify [flags] TOKEN\n\n"+
			"Checks the token's signature against the JWK set, its expiry and, when given,\n"+
			"its audience and issuer. TOKEN is a compact JWS or, when it contains \"~\", an\n"+
			"SD-JWT presentation (RFC 9901): its disclosures must match digests of the token,\n"+
			"and a Key Binding JWT at its end must be signed by the token's cnf key over\n"+
			"-audience and -nonce. Unless -status=false, it then fetches the Status List\n"+
			"Token its status claim names, checks that token against the same JWK set and\n"+
			"reads the token's entry. Prints the header, claims and status as JSON, and for\n"+
			"an SD-JWT the disclosed claims and the key binding.\n"+
			"Exits with status 1 for a rejected or revoked token. TOKEN - reads it from\n"+
			"standard input.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitError{code: 2, msg: "insights verify: exactly one TOKEN is required"}
	}
	token, err := readToken(fs.Arg(0))
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	keys, err := attest.FetchJWKS(ctx, cfg.jwksURL, &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("insights verify: fetch JWK set: %v", err)}
	}

	// A compact JWS has no "~": RFC 9901 section 4 separates the issuer-signed
	// JWT, the disclosures and the KB-JWT with it.
	var result map[string]any
	if strings.Contains(token, "~") {
		result, err = verifySDJWT(ctx, token, keys, cfg)
	} else {
		result, err = verifyJWS(ctx, token, keys, cfg)
	}
	if err != nil {
		return err
	}

	out, err := json.MarshalIndent(result, "", "  ")
	if err != nil {
		return fmt.Errorf("print claims: %w", err)
	}
	fmt.Fprintln(stdout, string(out))
	return nil
}

// verifyJWS checks a compact JWS token and returns what runVerify prints.
func verifyJWS(ctx context.Context, token string, keys jwk.Set, cfg verifyConfig) (map[string]any, error) {
	if cfg.nonce != "" {
		return nil, exitError{code: 2, msg: "insights verify: -nonce applies to SD-JWT presentations only, and the token is a compact JWS"}
	}
	v, err := attest.Verify(ctx, token, keys, attest.VerifyOptions{Audience: cfg.audience, Issuer: cfg.issuer, Skew: cfg.skew})
	if err != nil {
		return nil, exitError{code: 1, msg: fmt.Sprintf("insights verify: token rejected: %v", err)}
	}
	status, err := checkTokenStatus(ctx, v.Claims, v.JTI, keys, cfg)
	if err != nil {
		return nil, err
	}
	return map[string]any{"valid": true, "status": status, "header": v.Header, "claims": v.Claims}, nil
}

// verifySDJWT checks an SD-JWT presentation and returns what runVerify
// prints: "claims" is the processed payload with the disclosed claims in
// place, and "disclosed" lists those claims alone.
func verifySDJWT(ctx context.Context, token string, keys jwk.Set, cfg verifyConfig) (map[string]any, error) {
	opts := attest.SDJWTVerifyOptions{Issuer: cfg.issuer, Audience: cfg.audience, Nonce: cfg.nonce,
		RequireKeyBinding: cfg.nonce != "", Skew: cfg.skew}
	if endsWithKeyBinding(token) && (cfg.audience == "" || cfg.nonce == "") {
		return nil, exitError{code: 2, msg: "insights verify: the presentation ends with a KB-JWT: set -audience to your client ID and -nonce to the nonce you gave the holder"}
	}
	v, err := attest.VerifySDJWT(ctx, token, keys, opts)
	if err != nil {
		return nil, exitError{code: 1, msg: fmt.Sprintf("insights verify: SD-JWT rejected: %v", err)}
	}
	status, err := checkTokenStatus(ctx, v.Claims, v.JTI, keys, cfg)
	if err != nil {
		return nil, err
	}

	result := map[string]any{"valid": true, "status": status, "format": "sd-jwt", "header": v.Header,
		"claims": v.Claims, "disclosed": v.Disclosed}
	if v.KeyBinding != nil {
		result["key_binding"] = map[string]any{"alg": v.KeyBinding.Algorithm, "aud": v.KeyBinding.Audience,
			"nonce": v.KeyBinding.Nonce, "iat": v.KeyBinding.IssuedAt.UTC().Format(time.RFC3339)}
	}
	return result, nil
}

// endsWithKeyBinding reports whether a presentation has a KB-JWT: text
// after its last "~" (RFC 9901 section 4).
func endsWithKeyBinding(token string) bool {
	return !strings.HasSuffix(token, "~")
}

// checkTokenStatus reads the token's entry in the status list its status
// claim names, unless -status=false. It returns the status to print.
func checkTokenStatus(ctx context.Context, claims map[string]any, jti string, keys jwk.Set, cfg verifyConfig) (string, error) {
	if !cfg.checkStatus {
		return "not checked", nil
	}
	client := &http.Client{Timeout: 10 * time.Second}
	err := attest.CheckStatus(ctx, claims, attest.HTTPStatusFetcher(client), keys, attest.StatusOptions{Skew: cfg.skew})
	switch {
	case errors.Is(err, attest.ErrRevoked):
		return "", exitError{code: 1, msg: fmt.Sprintf("insights verify: token %s rejected: %v", jti, err)}
	case errors.Is(err, attest.ErrSuspended):
		return "", exitError{code: 1, msg: fmt.Sprintf("insights verify: token %s rejected: %v", jti, err)}
	case err != nil:
		return "", exitError{code: 1, msg: fmt.Sprintf("insights verify: token status not established (-status=false skips the check): %v", err)}
	}
	return "valid", nil
}

func readToken(arg string) (string, error) {
	if arg != "-" {
		return strings.TrimSpace(arg), nil
	}
	b, err := io.ReadAll(io.LimitReader(os.Stdin, 64<<10))
	if err != nil {
		return "", fmt.Errorf("read token from standard input: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
