package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestGraphQLHTTP_rejected(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{})
	oversize := `{"query":"{ viewer { id } }","variables":{"pad":"` + strings.Repeat("x", maxBodyBytes) + `"}}`

	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantMessage string
	}{
		{"malformed JSON", "application/json", `{"query": "{ viewer { id } }"`, http.StatusBadRequest, "not a valid GraphQL request object"},
		{"not an object", "application/json", `["{ viewer { id } }"]`, http.StatusBadRequest, "not a valid GraphQL request object"},
		{"variables not an object", "application/json", `{"query":"{ viewer { id } }","variables":"x"}`, http.StatusBadRequest, "not a valid GraphQL request object"},
		{"two objects", "application/json", `{"query":"{ viewer { id } }"} {}`, http.StatusBadRequest, "more than one JSON value"},
		{"empty body", "application/json", ``, http.StatusBadRequest, "empty request body"},
		{"missing query", "application/json", `{"operationName":"x"}`, http.StatusBadRequest, "missing query"},
		{"oversize body", "application/json", oversize, http.StatusRequestEntityTooLarge, "larger than 1 MiB"},
		{"plain text", "text/plain", `{"query":"{ viewer { id } }"}`, http.StatusUnsupportedMediaType, "application/json"},
		{"graphql media type", "application/graphql", `{ viewer { id } }`, http.StatusUnsupportedMediaType, "application/json"},
		{"no content type", "", `{"query":"{ viewer { id } }"}`, http.StatusUnsupportedMediaType, "missing Content-Type"},
		{"latin1 charset", "application/json; charset=iso-8859-1", `{"query":"{ viewer { id } }"}`, http.StatusUnsupportedMediaType, "charset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := srv.post(t, tt.contentType, merchantKey, strings.NewReader(tt.body))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, data)
			}
			var body gqlResponse
			if err := json.Unmarshal(data, &body); err != nil {
				t.Fatalf("body %s is not JSON: %v", data, err)
			}
			e := onlyError(t, body)
			if !strings.Contains(e.Message, tt.wantMessage) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tt.wantMessage)
			}
			if e.code() != codeBadRequest {
				t.Errorf("extensions.code = %q, want %q", e.code(), codeBadRequest)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("X-Request-Id header is missing")
			}
		})
	}
}

func TestGraphQLHTTP_accepted(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{})
	for _, contentType := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON; charset=UTF-8"} {
		t.Run(contentType, func(t *testing.T) {
			body := `{"query":"{ viewer { id } }","operationName":null,"extensions":{"persistedQuery":null}}`
			resp, data := srv.post(t, contentType, merchantKey, strings.NewReader(body))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, data)
			}
			if string(data) != `{"data":{"viewer":{"id":"cli_merchant"}}}` {
				t.Errorf("body = %s", data)
			}
		})
	}
}

func TestGraphQLHTTP_methods(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{})
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		t.Run(method, func(t *testing.T) {
			req, err := http.NewRequest(method, srv.url+"/graphql?query=%7Bviewer%7Bid%7D%7D", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, _ := do(t, req)
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("status = %d, want 405", resp.StatusCode)
			}
			if allow := resp.Header.Get("Allow"); allow != "POST" {
				t.Errorf("Allow = %q, want POST", allow)
			}
		})
	}
}

func TestGraphQLHTTP_errorCodes(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{})
	deep := "__typename"
	for range maxQueryDepth {
		deep = "ofType { " + deep + " }"
	}

	tests := []struct {
		name     string
		query    string
		wantCode string
	}{
		{"syntax error", `{ viewer { id }`, codeParseFailed},
		{"unknown field", `{ viewer { balance } }`, codeValidationFailed},
		{"missing argument", `{ attestationRequest { id } }`, codeValidationFailed},
		{"too deep", `{ __schema { types { fields { type { ` + deep + ` } } } } }`, codeValidationFailed},
	}
	// A tool's introspection query nesting ofType 9 times stays within the limit.
	toolDepth := "name"
	for range 9 {
		toolDepth = "ofType { kind " + toolDepth + " }"
	}
	resp := srv.queryWithHeader(t, "", `{ __schema { types { fields { args { type { `+toolDepth+` } } } } } }`, nil)
	if len(resp.Errors) != 0 {
		t.Errorf("introspection of depth 15 failed: %+v", resp.Errors)
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := srv.query(t, merchantKey, tt.query, nil)
			if len(resp.Errors) == 0 {
				t.Fatalf("no errors; data %s", resp.Data)
			}
			for _, e := range resp.Errors {
				if e.code() != tt.wantCode {
					t.Errorf("error %q has extensions.code %q, want %q", e.Message, e.code(), tt.wantCode)
				}
			}
		})
	}
}

func TestJWKS_served(t *testing.T) {
	t.Parallel()
	const set = `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"x","y":"y","alg":"ES256","use":"sig"}]}`
	srv := newTestServer(t, newFakeConsent(), Options{JWKS: func() ([]byte, error) { return []byte(set), nil }})

	resp, data := get(t, srv.url+"/.well-known/jwks.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/jwk-set+json" {
		t.Errorf("Content-Type = %q, want application/jwk-set+json", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=300") {
		t.Errorf("Cache-Control = %q, want max-age=300", cc)
	}
	if string(data) != set {
		t.Errorf("body = %s, want %s", data, set)
	}
}

func TestJWKS_failures(t *testing.T) {
	t.Parallel()
	t.Run("source fails", func(t *testing.T) {
		srv := newTestServer(t, newFakeConsent(), Options{JWKS: func() ([]byte, error) { return nil, errors.New("key directory unreadable") }})
		resp, data := get(t, srv.url+"/.well-known/jwks.json")
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("status = %d, want 500", resp.StatusCode)
		}
		if strings.Contains(string(data), "unreadable") {
			t.Errorf("body %q shows the internal cause", data)
		}
		if !strings.Contains(srv.log.String(), "key directory unreadable") {
			t.Errorf("cause not logged:\n%s", srv.log.String())
		}
	})
	t.Run("not configured", func(t *testing.T) {
		srv := newTestServer(t, newFakeConsent(), Options{})
		resp, _ := get(t, srv.url+"/.well-known/jwks.json")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("status = %d, want 404", resp.StatusCode)
		}
	})
}

func TestHealthz_status(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		health     func(context.Context) error
		wantStatus int
		wantBody   string
	}{
		{"healthy", func(context.Context) error { return nil }, http.StatusOK, `{"status":"ok"}`},
		{"no check", nil, http.StatusOK, `{"status":"ok"}`},
		{"storage down", func(context.Context) error { return errors.New("ping clickhouse: connection refused") },
			http.StatusServiceUnavailable, `{"status":"unavailable"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, newFakeConsent(), Options{Health: tt.health})
			resp, data := get(t, srv.url+"/healthz")
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if string(data) != tt.wantBody {
				t.Errorf("body = %s, want %s", data, tt.wantBody)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if tt.wantStatus != http.StatusOK && !strings.Contains(srv.log.String(), "connection refused") {
				t.Errorf("cause not logged:\n%s", srv.log.String())
			}
		})
	}
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}
