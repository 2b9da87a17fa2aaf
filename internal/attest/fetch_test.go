package attest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFetchJWKS_servedSet(t *testing.T) {
	keys, _ := newTestKeys(t)
	doc, err := keys.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(doc)
	}))
	defer srv.Close()

	set, err := FetchJWKS(context.Background(), srv.URL+"/.well-known/jwks.json", srv.Client())
	if err != nil {
		t.Fatalf("FetchJWKS: %v", err)
	}
	if _, ok := set.LookupKeyID(keys.SigningKeyID()); !ok {
		t.Fatalf("fetched set lacks kid %q", keys.SigningKeyID())
	}

	// A token verifies against the fetched set as it does in process.
	issued, err := newTestIssuer(keys).Issue(testCustomer, testClient, allClaimResults(t), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), issued.Token, set, VerifyOptions{
		Audience: testClient, Now: func() time.Time { return testNow },
	}); err != nil {
		t.Errorf("Verify against fetched set: %v", err)
	}
}

func TestFetchJWKS_rejects(t *testing.T) {
	keys, dir := newTestKeys(t)
	doc, err := keys.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	private, err := readPrivateFile(firstKeyFile(t, dir), maxKeyFileSize)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		handler http.HandlerFunc
		timeout time.Duration // of the caller's context; 0 means none
		wantErr string
	}{
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, 0, "status 404"},
		{"oversized body", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"keys":[` + strings.Repeat(" ", maxJWKSRespLen) + `]}`))
		}, 0, "over the limit of 1048576 bytes"},
		{"single key, not a set", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"kty":"EC","crv":"P-256","x":"a","y":"b"}`))
		}, 0, `"keys" array`},
		{"empty set", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"keys":[]}`)) }, 0, "has no keys"},
		{"private key published", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"keys":[` + string(private) + `]}`))
		}, 0, "publishes a private key"},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }, 0, `"keys" array`},
		{"slow server", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			w.Write(doc)
		}, 100 * time.Millisecond, "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}

			_, err := FetchJWKS(ctx, srv.URL+"/jwks.json", srv.Client())
			if err == nil {
				t.Fatalf("FetchJWKS succeeded; want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q; want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestFetchJWKS_rejectsURL(t *testing.T) {
	for _, raw := range []string{"", "file:///etc/passwd", "127.0.0.1/jwks.json", "https://"} {
		_, err := FetchJWKS(context.Background(), raw, nil)
		if err == nil || !strings.Contains(err.Error(), "not an absolute http or https URL") {
			t.Errorf("FetchJWKS(%q) error = %v; want a URL error", raw, err)
		}
	}
}

func firstKeyFile(t *testing.T, dir string) string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+keyFileSuffix))
	if err != nil || len(names) == 0 {
		t.Fatalf("no key file in %s: %v", dir, err)
	}
	return names[0]
}
