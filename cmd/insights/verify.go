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

	"github.com/openbanking-insights/insights/internal/attest"
)

func runVerify(ctx context.Context, args []string, stdout io.Writer) error {
	var jwksURL, audience, issuer string
	var skew time.Duration
	var checkStatus bool
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.StringVar(&jwksURL, "jwks", envOr("INSIGHTS_JWKS_URL", "http://127.0.0.1:8080/.well-known/jwks.json"),
		"URL of the issuer's JWK set (env INSIGHTS_JWKS_URL)")
	fs.StringVar(&audience, "audience", "", "client ID the token must be addressed to (aud); empty accepts any")
	fs.StringVar(&issuer, "issuer", "", "issuer the token must name (iss); empty accepts any")
	fs.DurationVar(&skew, "skew", 30*time.Second, "clock skew allowed when checking iat and exp")
	fs.BoolVar(&checkStatus, "status", true,
		"fetch the token's status list and reject a revoked or suspended token; -status=false skips the check and the request")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: insights verify [flags] TOKEN\n\n"+
			"Checks the token's signature against the JWK set, its expiry and, when given,\n"+
			"its audience and issuer. Unless -status=false, it then fetches the Status List\n"+
			"Token its status claim names, checks that token against the same JWK set and\n"+
			"reads the token's entry. Prints the header, claims and status as JSON.\n"+
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
	keys, err := attest.FetchJWKS(ctx, jwksURL, &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("insights verify: fetch JWK set: %v", err)}
	}
	v, err := attest.Verify(ctx, token, keys, attest.VerifyOptions{Audience: audience, Issuer: issuer, Skew: skew})
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("insights verify: token rejected: %v", err)}
	}

	status := "not checked"
	if checkStatus {
		client := &http.Client{Timeout: 10 * time.Second}
		err := attest.CheckStatus(ctx, v.Claims, attest.HTTPStatusFetcher(client), keys, attest.StatusOptions{Skew: skew})
		switch {
		case errors.Is(err, attest.ErrRevoked):
			return exitError{code: 1, msg: fmt.Sprintf("insights verify: token %s is revoked: %v", v.JTI, err)}
		case errors.Is(err, attest.ErrSuspended):
			return exitError{code: 1, msg: fmt.Sprintf("insights verify: token %s is suspended: %v", v.JTI, err)}
		case err != nil:
			return exitError{code: 1, msg: fmt.Sprintf("insights verify: token status not established (-status=false skips the check): %v", err)}
		}
		status = "valid"
	}

	out, err := json.MarshalIndent(map[string]any{"valid": true, "status": status, "header": v.Header, "claims": v.Claims}, "", "  ")
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
