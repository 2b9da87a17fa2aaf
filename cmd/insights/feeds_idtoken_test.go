package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights/internal/feeds"
)

func TestBanksFile_openIDProviders(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		want    map[string]feeds.OpenIDProvider
		wantErr string
	}{
		{
			name: "issuer and jwksURL",
			file: `[{"id":"a","baseURL":"https://api.a.example","issuer":"https://auth.a.example","jwksURL":"https://keys.a.example/jwks"},
{"id":"b","baseURL":"https://api.b.example"}]`,
			want: map[string]feeds.OpenIDProvider{"a": {Issuer: "https://auth.a.example", JWKSURL: "https://keys.a.example/jwks"}},
		},
		{
			name:    "issuer not a string",
			file:    `[{"id":"a","baseURL":"https://api.a.example","issuer":7}]`,
			wantErr: "invalid issuer or jwksURL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "banks.json")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := feedsConfig{BanksFile: path}
			banks, providers, err := cfg.banks("http://127.0.0.1:8080")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("banks error = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("banks: %v", err)
			}
			if len(banks) != 2 {
				t.Errorf("banks = %d; want 2", len(banks))
			}
			if len(providers) != len(tt.want) {
				t.Errorf("providers = %v; want %v", providers, tt.want)
			}
			for id, want := range tt.want {
				if providers[id] != want {
					t.Errorf("provider %s = %+v; want %+v", id, providers[id], want)
				}
			}
		})
	}
}
