package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// bankIDToken writes an ES256 ID token with the given birthdate, signed by
// a new key, and returns its path and the key's JWK set as JSON.
func bankIDToken(t *testing.T, issuer, audience, birthdate string) (string, []byte) {
	t.Helper()
	private, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	public, err := jwk.FromRaw(private.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := public.Set(jwk.KeyIDKey, "bank-es"); err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(map[string]any{"keys": []jwk.Key{public}})

	now := time.Now()
	payload, _ := json.Marshal(map[string]any{"iss": issuer, "aud": audience, "sub": "user-1",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "birthdate": birthdate})
	headers := jws.NewHeaders()
	_ = headers.Set(jws.KeyIDKey, "bank-es")
	token, err := jws.Sign(payload, jws.WithKey(jwa.ES256, private, jws.WithProtectedHeaders(headers)))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id-token.jwt")
	if err := os.WriteFile(path, token, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, set
}

func TestIngest_idTokenBirthDate(t *testing.T) {
	const issuer, audience = "http://127.0.0.1/bank", "insights-at-bank"
	dataDir := t.TempDir()
	token, set := bankIDToken(t, issuer, audience, "1990-05-17")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(set) }))
	t.Cleanup(srv.Close)

	out := mustCLI(t, "ingest", "-data", dataDir, "-customer", "dora", "-id-token", token,
		"-issuer", issuer, "-jwks", srv.URL+"/jwks.json", "-audience", audience)
	if !strings.Contains(out, "birth date stored") || strings.Contains(out, "1990") {
		t.Errorf("output = %q; want a stored message without the date", out)
	}
	if got := storedRows(t, dataDir, "parties"); got != "1/1" {
		t.Errorf("parties rows = %s; want 1/1", got)
	}

	// The same token against a JWK set file of another key stores nothing.
	_, otherSet := bankIDToken(t, issuer, audience, "1990-05-17")
	setFile := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(setFile, otherSet, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := cli(t, "ingest", "-data", dataDir, "-customer", "erin", "-id-token", token,
		"-issuer", issuer, "-jwks", setFile, "-audience", audience)
	var exit exitError
	if !errors.As(err, &exit) || exit.code != 1 || !strings.Contains(out, "signature does not verify") {
		t.Errorf("foreign key: error %v, output %q; want exit 1 and a signature error", err, out)
	}
	if got := storedRows(t, dataDir, "parties"); got != "1/1" {
		t.Errorf("parties rows after a rejected token = %s; want still 1/1", got)
	}

	// -id-token without -issuer and -audience is a usage error.
	_, err = cli(t, "ingest", "-data", dataDir, "-customer", "erin", "-id-token", token, "-jwks", setFile)
	if !errors.As(err, &exit) || exit.code != 2 || !strings.Contains(exit.msg, "-id-token needs -audience, -issuer") {
		t.Errorf("missing flags: error %v; want exit 2 naming -audience and -issuer", err)
	}
}
