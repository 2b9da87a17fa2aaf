package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestServerConfig_flags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, c serverConfig)
		wantErr string
	}{
		{"defaults", nil, func(t *testing.T, c serverConfig) {
			if c.GraphQL.DisableIntrospection {
				t.Error("introspection off by default")
			}
			if c.Rate.ClientRate != 100 || c.Rate.IPRate != 20 {
				t.Errorf("rates = %+v, want 100 per client and 20 per address", c.Rate)
			}
			if c.WriteTimeout <= c.GraphQL.Timeout {
				t.Errorf("default -write-timeout %s does not exceed -graphql-timeout %s", c.WriteTimeout, c.GraphQL.Timeout)
			}
		}, ""},
		{"introspection off", []string{"-graphql-introspection=false"}, func(t *testing.T, c serverConfig) {
			if !c.GraphQL.DisableIntrospection {
				t.Error("-graphql-introspection=false left introspection on")
			}
		}, ""},
		{"rate limits off", []string{"-rate-limit-client", "0", "-rate-limit-ip", "0"}, func(t *testing.T, c serverConfig) {
			if c.Rate.ClientRate != 0 || c.Rate.IPRate != 0 {
				t.Errorf("rates = %+v, want both off", c.Rate)
			}
		}, ""},
		{"write timeout too short", []string{"-write-timeout", "5s", "-graphql-timeout", "10s"}, nil, "-write-timeout 5s must exceed -graphql-timeout 10s"},
		{"negative rate", []string{"-rate-limit-ip", "-1"}, nil, "must not be negative"},
		{"zero burst", []string{"-rate-limit-client-burst", "0"}, nil, "must be at least 1"},
		{"zero body limit", []string{"-max-body-bytes", "-5"}, nil, "-max-body-bytes -5: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c serverConfig
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := c.validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("validate() = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("validate() = %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestServerConfig_zeroTakesDefaults(t *testing.T) {
	var c serverConfig
	if err := c.validate(); err != nil {
		t.Fatalf("validate() of a zero config = %v", err)
	}
	srv := c.httpServer(nil)
	if srv.ReadHeaderTimeout != 5*time.Second || srv.ReadTimeout != 30*time.Second || srv.WriteTimeout != 30*time.Second ||
		srv.IdleTimeout != 2*time.Minute || srv.MaxHeaderBytes != 64<<10 {
		t.Errorf("server = %+v, want the flag defaults", srv)
	}
	if c.Rate.ClientRate != 0 || c.Rate.IPRate != 0 {
		t.Errorf("zero config rates = %+v, want off", c.Rate)
	}
}
