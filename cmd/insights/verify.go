package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/openbanking-insights/insights/internal/attest"
)

func runVerify(ctx context.Context, args []string, stdout io.Writer) error {
	var jwksURL, audience, issuer string
	var skew time.Duration
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.StringVar(&jwksURL, "jwks", envOr("INSIGHTS_JWKS_URL", "http://127.0.0.1:8080/.well-known/jwks.json"),
		"URL of the issuer's JWK set (env INSIGHTS_JWKS_URL)")
	fs.StringVar(&audience, "audience", "", "client ID the token must be addressed to (aud); empty accepts any")
	fs.StringVar(&issuer, "issuer", "", "issuer the token must name (iss); empty accepts any")
	fs.DurationVar(&skew, "skew", 30*time.Second, "clock skew allowed when checking iat and exp")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: insights verify [flags] TOKEN\n\nChecks the token's signature against the JWK set, its expiry and, when given,\nits audience and issuer; prints the header and claims as JSON. TOKEN - reads it from standard input.")
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
	keys, err := attest.FetchJWKS(ctx, jwksURL, &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("insights verify: fetch JWK set: %v", err)}
	}
	v, err := attest.Verify(ctx, token, keys, attest.VerifyOptions{Audience: audience, Issuer: issuer, Skew: skew})
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("insights verify: token rejected: %v", err)}
	}

	out, err := json.MarshalIndent(map[string]any{"valid": true, "header": v.Header, "claims": v.Claims}, "", "  ")
	if err != nil {
		return fmt.Errorf("print claims: %w", err)
	}
	fmt.Fprintln(stdout, string(out))
	return nil
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
