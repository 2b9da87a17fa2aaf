package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/openbanking-insights/insights/internal/consent"
)

func TestClientsCLI_metadata(t *testing.T) {
	dataDir := t.TempDir()
	out := mustCLI(t, "clients", "add", "-data", dataDir, "-name", "Sandbox Shop", "-env", "sandbox", "-claims", "age_over",
		"-redirect-uris", "http://127.0.0.1:9000/cb,https://shop.example/return", "-contact", "ops@shop.example")
	id := regexp.MustCompile(`client_id: (cli_\S+)`).FindStringSubmatch(out)
	if id == nil || !strings.Contains(out, "environment: sandbox") {
		t.Fatalf("clients add output:\n%s", out)
	}

	list := mustCLI(t, "clients", "list", "-data", dataDir)
	for _, want := range []string{id[1], "sandbox", "api_key", "http://127.0.0.1:9000/cb,https://shop.example/return"} {
		if !strings.Contains(list, want) {
			t.Errorf("clients list has no %q:\n%s", want, list)
		}
	}

	mustCLI(t, "clients", "redirect-uris", "-data", dataDir, id[1], "https://shop.example/new")
	if list := mustCLI(t, "clients", "list", "-data", dataDir); !strings.Contains(list, "https://shop.example/new") || strings.Contains(list, "9000") {
		t.Errorf("clients list after redirect-uris:\n%s", list)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"http redirect for live", []string{"add", "-data", dataDir, "-name", "Live", "-redirect-uris", "http://127.0.0.1/cb"}, "redirect_uris[0]"},
		{"bad env", []string{"add", "-data", dataDir, "-name", "X", "-env", "prod"}, "environment"},
		{"bad contact", []string{"add", "-data", dataDir, "-name", "X", "-contact", "nobody"}, "contacts"},
		{"unknown client", []string{"redirect-uris", "-data", dataDir, "cli_nope", "https://a.example/"}, "not found"},
		{"keys without source", []string{"keys", "-data", dataDir, id[1]}, "exactly one of -jwks-file and -jwks-uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cli(t, append([]string{"clients"}, tt.args...)...)
			var exit exitError
			if !errors.As(err, &exit) || exit.code != 2 {
				t.Fatalf("error = %v, want exit code 2", err)
			}
			if !strings.Contains(exit.msg, tt.want) {
				t.Errorf("message = %q, want it to contain %q", exit.msg, tt.want)
			}
		})
	}
}

// TestDynamicRegistration_endToEnd creates an operator key, signs a
// software statement with the CLI, registers a client at POST /register of
// the running service, and calls the API with a client assertion of the
// registered key.
func TestDynamicRegistration_endToEnd(t *testing.T) {
	dataDir := t.TempDir()
	mustCLI(t, "clients", "operator-key", "-out", dataDir)
	info, err := os.Stat(filepath.Join(dataDir, operatorPrivateKeyName))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("operator key file: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	statement := strings.TrimSpace(mustCLI(t, "clients", "sign-statement", "-key", filepath.Join(dataDir, operatorPrivateKeyName),
		"-software-id", "corner-shop", "-name", "Corner Shop", "-redirect-uris", "https://shop.example/return",
		"-env", "live", "-claims", "age_over,funds_at_least", "-contact", "ops@shop.example"))

	// The server finds the operator JWK set in its data directory.
	m := startServer(t, dataDir)
	defer m.Close()

	clientKey := newES256JWK(t)
	_ = clientKey.Set(jwk.KeyIDKey, "shop-2026")
	_ = clientKey.Set(jwk.AlgorithmKey, jwa.ES256)
	public, err := clientKey.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	register := func(body map[string]any) (int, map[string]any) {
		t.Helper()
		data, _ := json.Marshal(body)
		resp, err := http.Post(m.BaseURL()+"/register", "application/json", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}

	status, body := register(map[string]any{"software_statement": statement, "jwks": map[string]any{"keys": []any{public}},
		"allowed_claims": []string{"age_over"}})
	if status != http.StatusCreated {
		t.Fatalf("register: %d %v", status, body)
	}
	clientID, _ := body["client_id"].(string)
	if body["token_endpoint_auth_method"] != "private_key_jwt" || body["api_key"] != nil || body["environment"] != "live" {
		t.Errorf("registration response = %v", body)
	}
	reg, err := m.Consent.ClientRegistration(t.Context(), clientID)
	if err != nil {
		t.Fatal(err)
	}
	if reg.SoftwareID != "corner-shop" || reg.Contact != "ops@shop.example" || reg.Environment != consent.EnvLive ||
		len(reg.AllowedClaims) != 1 || len(reg.KeyIDs) != 1 || reg.KeyIDs[0] != "shop-2026" {
		t.Errorf("stored registration = %+v", reg)
	}

	// The new client calls the API with an assertion signed by its key.
	now := time.Now()
	assertion, err := jwt.NewBuilder().Issuer(clientID).Subject(clientID).Audience([]string{m.BaseURL() + "/graphql"}).
		IssuedAt(now).Expiration(now.Add(time.Minute)).JwtID("first").Build()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(assertion, jwt.WithKey(jwa.ES256, clientKey))
	if err != nil {
		t.Fatal(err)
	}
	viewer := merchant{t: t, base: m.BaseURL(), apiKey: string(signed)}.graphql(`{ viewer { id name } }`, nil)
	if got, _ := json.Marshal(viewer); !strings.Contains(string(got), clientID) || !strings.Contains(string(got), "Corner Shop") {
		t.Errorf("viewer with a client assertion = %s", got)
	}

	// The same software cannot register twice, and a changed statement is
	// rejected.
	if status, body := register(map[string]any{"software_statement": statement}); status != http.StatusConflict || body["error"] != "software_id_in_use" {
		t.Errorf("second registration: %d %v", status, body)
	}
	tampered := statement[:len(statement)-4] + "AAAA"
	if status, body := register(map[string]any{"software_statement": tampered}); status != http.StatusBadRequest || body["error"] != "invalid_software_statement" {
		t.Errorf("tampered statement: %d %v", status, body)
	}
}
