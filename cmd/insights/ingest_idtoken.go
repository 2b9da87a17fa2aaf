package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/derive"
	"github.com/openbanking-insights/insights/internal/store"
)

// idTokenFlags are the ingest options for a birth date from an OpenID
// Connect ID token.
type idTokenFlags struct {
	file     string
	issuer   string
	jwks     string
	audience string
}

func (f *idTokenFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.file, "id-token", "", "file holding an OpenID Connect ID token from the customer's bank; its verified birthdate becomes the customer's birth date")
	fs.StringVar(&f.issuer, "issuer", "", "the bank's OpenID Provider URL, which the ID token's iss must equal (with -id-token)")
	fs.StringVar(&f.jwks, "jwks", "", "the bank's JWK set: a file, or an http(s) URL such as its jwks_uri (with -id-token)")
	fs.StringVar(&f.audience, "audience", "", "this service's client ID at the bank, which the ID token's aud must contain (with -id-token)")
}

// check requires -issuer, -jwks and -audience with -id-token, and none of
// them without it.
func (f *idTokenFlags) check() error {
	if f.file == "" {
		if f.issuer != "" || f.jwks != "" || f.audience != "" {
			return errors.New("-issuer, -jwks and -audience apply only with -id-token")
		}
		return nil
	}
	var missing []string
	for name, value := range map[string]string{"-issuer": f.issuer, "-jwks": f.jwks, "-audience": f.audience} {
		if value == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("-id-token needs %s", strings.Join(missing, ", "))
	}
	return nil
}

// ingest verifies the ID token and stores its birth date. It prints the
// outcome without the date.
func (f *idTokenFlags) ingest(ctx context.Context, engine store.Engine, customer string, stdout io.Writer, logger *slog.Logger) error {
	data, err := os.ReadFile(f.file)
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("insights ingest: read -id-token: %v", err)}
	}
	keys, err := f.loadJWKS(ctx)
	if err != nil {
		return exitError{code: 1, msg: "insights ingest: -jwks: " + err.Error()}
	}
	birth, err := derive.VerifyIDTokenBirthDate(ctx, string(data), keys,
		derive.IDTokenOptions{Issuer: f.issuer, Audience: f.audience, Skew: 30 * time.Second})
	if err != nil {
		fmt.Fprintf(stdout, "%s: rejected, nothing stored:\n  %v\n", f.file, err)
		return exitError{code: 1, msg: "insights ingest: the ID token was rejected"}
	}
	deriver := &derive.Deriver{Engine: engine, Logger: logger}
	if err := deriver.StoreBirthDate(ctx, customer, birth, derive.IDTokenSource, f.issuer); err != nil {
		return err
	}
	logger.Info("birth date stored from an ID token", "customer_id", customer, "issuer", f.issuer)
	fmt.Fprintf(stdout, "%s: birth date stored from the verified ID token of %s\n", f.file, f.issuer)
	return nil
}

// loadJWKS reads the bank's JWK set from a URL or a file. A set with a
// private or secret key is rejected either way.
func (f *idTokenFlags) loadJWKS(ctx context.Context) (jwk.Set, error) {
	if strings.HasPrefix(f.jwks, "http://") || strings.HasPrefix(f.jwks, "https://") {
		return attest.FetchJWKS(ctx, f.jwks, nil)
	}
	data, err := os.ReadFile(f.jwks)
	if err != nil {
		return nil, err
	}
	set, err := jwk.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not a JWK set: %w", f.jwks, err)
	}
	for i := range set.Len() {
		key, _ := set.Key(i)
		if !jwkIsPublic(key) {
			return nil, fmt.Errorf("%s: key %d is a private or secret key; the JWK set must contain public keys only", f.jwks, i)
		}
	}
	return set, nil
}

// jwkIsPublic reports whether key carries no private members.
func jwkIsPublic(key jwk.Key) bool {
	switch key.(type) {
	case jwk.RSAPrivateKey, jwk.ECDSAPrivateKey, jwk.OKPPrivateKey, jwk.SymmetricKey:
		return false
	}
	return true
}
