package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// writeJWKS writes a JWK set of key (public or private, as given) with kid
// and alg to a file and returns its path.
func writeJWKS(t *testing.T, dir string, key jwk.Key) string {
	t.Helper()
	if err := key.Set(jwk.KeyIDKey, "shop-1"); err != nil {
		t.Fatal(err)
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.ES256); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(map[string]any{"keys": []jwk.Key{key}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "shop-jwks.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newES256JWK(t *testing.T) jwk.Key {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestClientsAdd_jwksFileRejected(t *testing.T) {
	dataDir := t.TempDir()
	private := newES256JWK(t)
	privateFile := writeJWKS(t, t.TempDir(), private)

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"private key", []string{"-jwks-file", privateFile}, "keys[0].kty"},
		{"with key file", []string{"-jwks-file", privateFile, "-key-file", filepath.Join(dataDir, "k")}, "exclude each other"},
		{"missing file", []string{"-jwks-file", filepath.Join(dataDir, "absent.json")}, "-jwks-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"clients", "add", "-data", dataDir, "-name", "Key Shop"}, tt.args...)
			_, err := cli(t, args...)
			var exit exitError
			if !errors.As(err, &exit) {
				t.Fatalf("error = %v, want an exit error", err)
			}
			if !strings.Contains(exit.msg, tt.want) {
				t.Errorf("message = %q, want it to contain %q", exit.msg, tt.want)
			}
		})
	}
}

// TestEndToEnd_clientAssertion registers a client with a JWK set and calls
// GraphQL over loopback HTTP with a client assertion signed by its key.
func TestEndToEnd_clientAssertion(t *testing.T) {
	dataDir := t.TempDir()
	private := newES256JWK(t)
	public, err := private.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, "clients", "add", "-data", dataDir, "-name", "Key Shop", "-jwks-file", writeJWKS(t, t.TempDir(), public))
	match := regexp.MustCompile(`client_id: (cli_\S+)`).FindStringSubmatch(out)
	if match == nil {
		t.Fatalf("clients add output has no client_id:\n%s", out)
	}
	clientID := match[1]

	m := startServer(t, dataDir)
	t.Cleanup(func() { _ = m.Close() })
	now := time.Now()
	payload, _ := json.Marshal(map[string]any{
		"iss": clientID, "sub": clientID, "aud": m.BaseURL() + "/graphql",
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": "e2e-1",
	})
	headers := jws.NewHeaders()
	if err := headers.Set(jws.KeyIDKey, "shop-1"); err != nil {
		t.Fatal(err)
	}
	assertion, err := jws.Sign(payload, jws.WithKey(jwa.ES256, private, jws.WithProtectedHeaders(headers)))
	if err != nil {
		t.Fatal(err)
	}

	mc := merchant{t: t, base: m.BaseURL(), apiKey: string(assertion)}
	data := mc.graphql(`{ viewer { id name } }`, nil)
	viewer, _ := data["viewer"].(map[string]any)
	if viewer["id"] != clientID || viewer["name"] != "Key Shop" {
		t.Errorf("viewer = %v, want id %s and name Key Shop", data["viewer"], clientID)
	}
}
