package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/openbanking-insights/insights/internal/api"
	"github.com/openbanking-insights/insights/internal/consent"
)

// Default names, under the data directory, of the operator's key files
// that `insights clients operator-key` writes.
const (
	operatorJWKSName       = "operator-jwks.json"
	operatorPrivateKeyName = "operator-key.json"
	defaultOperatorIssuer  = "insights-operator"
)

// platformConfig configures what the service offers client developers:
// the GraphQL explorer and dynamic client registration.
type platformConfig struct {
	Explorer bool
	// OperatorJWKSFile holds the operator's public JWK set that software
	// statements are checked against. Empty means DATA_DIR/operator-jwks.json
	// when that file exists; without a set, POST /register is not served.
	OperatorJWKSFile string
	OperatorIssuer   string
}

func (c *platformConfig) register(fs *flag.FlagSet) {
	fs.BoolVar(&c.Explorer, "graphql-explorer", envOr("INSIGHTS_GRAPHQL_EXPLORER", "true") == "true",
		"serve the GraphiQL explorer at GET /graphql to browsers; false turns it off (env INSIGHTS_GRAPHQL_EXPLORER)")
	fs.StringVar(&c.OperatorJWKSFile, "operator-jwks-file", envOr("INSIGHTS_OPERATOR_JWKS_FILE", ""),
		"public JWK set of the operator keys that sign software statements, which enables POST /register; "+
			"empty means DATA_DIR/"+operatorJWKSName+" when it exists (env INSIGHTS_OPERATOR_JWKS_FILE)")
	fs.StringVar(&c.OperatorIssuer, "operator-issuer", envOr("INSIGHTS_OPERATOR_ISSUER", defaultOperatorIssuer),
		"the iss that software statements must carry (env INSIGHTS_OPERATOR_ISSUER)")
}

// registration returns the options of POST /register, or nil when no
// operator JWK set is configured or found.
func (c *platformConfig) registration(dataDir string, registrar api.Registrar) (*api.RegistrationOptions, error) {
	path := c.OperatorJWKSFile
	if path == "" {
		path = filepath.Join(dataDir, operatorJWKSName)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-operator-jwks-file: %w", err)
	}
	set, err := consent.ParseClientJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("-operator-jwks-file %s: %v", path, err)
	}
	issuer := strings.TrimSpace(c.OperatorIssuer)
	if issuer == "" {
		issuer = defaultOperatorIssuer
	}
	return &api.RegistrationOptions{Registrar: registrar, OperatorKeys: set, OperatorIssuer: issuer}, nil
}

// markDemoCustomers marks each -demo-link customer as a demo customer, so
// sandbox clients can reach them. Their data comes from the demo bank.
func (m *Main) markDemoCustomers(ctx context.Context) {
	var ids []string
	for _, id := range strings.Split(m.Config.Feeds.DemoLink, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	if err := m.Consent.MarkDemoCustomers(ctx, ids...); err != nil {
		m.Logger.Error("marking demo customers failed", "customers", len(ids), "err", err)
	}
}
