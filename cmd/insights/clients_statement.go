package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// runOperatorKey creates an ES256 operator key pair: the private JWK, mode
// 0600, which signs software statements, and the public JWK set that
// `insights serve` checks them against.
func runOperatorKey(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("clients operator-key", flag.ContinueOnError)
	out := fs.String("out", envOr("INSIGHTS_DATA_DIR", ".data"),
		"directory to write "+operatorPrivateKeyName+" and "+operatorJWKSName+" to; serve reads the set from its data directory by default")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	privatePath := filepath.Join(*out, operatorPrivateKeyName)
	publicPath := filepath.Join(*out, operatorJWKSName)
	for _, p := range []string{privatePath, publicPath} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			return exitError{code: 1, msg: fmt.Sprintf("insights clients operator-key: %s already exists; remove it or pick another -out", p)}
		}
	}

	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate operator key: %w", err)
	}
	private, err := jwk.FromRaw(raw)
	if err != nil {
		return fmt.Errorf("encode operator key: %w", err)
	}
	if err := jwk.AssignKeyID(private); err != nil {
		return fmt.Errorf("assign operator key ID: %w", err)
	}
	_ = private.Set(jwk.AlgorithmKey, jwa.ES256)
	_ = private.Set(jwk.KeyUsageKey, jwk.ForSignature)
	public, err := private.PublicKey()
	if err != nil {
		return fmt.Errorf("derive operator public key: %w", err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(public); err != nil {
		return err
	}

	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", *out, err)
	}
	privateJSON, err := json.MarshalIndent(private, "", "  ")
	if err != nil {
		return err
	}
	publicJSON, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(privatePath, append(privateJSON, '\n'), 0o600); err != nil {
		return fmt.Errorf("write operator key: %w", err)
	}
	if err := os.WriteFile(publicPath, append(publicJSON, '\n'), 0o644); err != nil {
		return fmt.Errorf("write operator JWK set: %w", err)
	}
	fmt.Fprintf(stdout, "operator key %s written to %s (keep it secret)\npublic JWK set written to %s; restart insights serve to enable POST /register\n",
		private.KeyID(), privatePath, publicPath)
	return nil
}

// runSignStatement prints a software statement: a JWT signed with the
// operator key that lets a client register itself at POST /register.
func runSignStatement(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("clients sign-statement", flag.ContinueOnError)
	keyFile := fs.String("key", filepath.Join(envOr("INSIGHTS_DATA_DIR", ".data"), operatorPrivateKeyName),
		"the operator's private JWK, with kid and alg, from insights clients operator-key")
	issuer := fs.String("issuer", envOr("INSIGHTS_OPERATOR_ISSUER", defaultOperatorIssuer), "the statement's iss, which serve's -operator-issuer must equal")
	softwareID := fs.String("software-id", "", "identifier of the client software, unique among registrations (required)")
	name := fs.String("name", "", "the client's name, shown to customers (required)")
	redirectURIs := fs.String("redirect-uris", "", "comma-separated redirect URIs the client may register (required)")
	env := fs.String("env", consent.EnvSandbox, "sandbox or live")
	claims := fs.String("claims", "age_over,funds_at_least,address_matches,next_salary,affordability",
		"comma-separated claim kinds the client may register for")
	contact := fs.String("contact", "", "e-mail address of the client's operations team")
	jwksURI := fs.String("jwks-uri", "", "the URL the client publishes its public JWK set at; the only jwks_uri it may register")
	lifetime := fs.Duration("lifetime", 7*24*time.Hour, "how long the statement may be used to register")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	usage := func(format string, a ...any) error {
		return exitError{code: 2, msg: "insights clients sign-statement: " + fmt.Sprintf(format, a...)}
	}
	switch {
	case *softwareID == "":
		return usage("-software-id is required")
	case *name == "":
		return usage("-name is required")
	case len(splitList(*redirectURIs)) == 0:
		return usage("-redirect-uris is required")
	case *lifetime < time.Minute:
		return usage("-lifetime %s: must be at least 1m", *lifetime)
	}
	if _, err := consent.ParseEnvironment(*env); err != nil {
		return usage("-env: %s", *env)
	}
	for i, uri := range splitList(*redirectURIs) {
		if err := consent.CheckRedirectURI(uri, *env); err != nil {
			return usage("-redirect-uris[%d] %q: %v", i, uri, err)
		}
	}
	if _, err := parseClaimKinds(*claims); err != nil {
		return err
	}

	data, err := os.ReadFile(*keyFile)
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("insights clients sign-statement: -key: %v", err)}
	}
	key, err := jwk.ParseKey(data)
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("insights clients sign-statement: -key %s: not a JWK", *keyFile)}
	}
	if key.KeyID() == "" || key.Algorithm() == nil || key.Algorithm().String() == "" {
		return exitError{code: 1, msg: fmt.Sprintf("insights clients sign-statement: -key %s: the JWK needs kid and alg", *keyFile)}
	}

	now := time.Now()
	jti, err := randomHex(16)
	if err != nil {
		return err
	}
	b := jwt.NewBuilder().Issuer(*issuer).IssuedAt(now).Expiration(now.Add(*lifetime)).JwtID(jti).
		Claim("software_id", *softwareID).Claim("software_client_name", *name).
		Claim("software_redirect_uris", splitList(*redirectURIs)).Claim("software_environment", *env).
		Claim("software_allowed_claims", splitList(*claims))
	if *contact != "" {
		b = b.Claim("software_contacts", []string{*contact})
	}
	if *jwksURI != "" {
		if err := consent.CheckJWKSURI(*jwksURI, *env); err != nil {
			return usage("-jwks-uri: %s", insights.ErrorMessage(err))
		}
		b = b.Claim("software_jwks_endpoint", *jwksURI)
	}
	token, err := b.Build()
	if err != nil {
		return fmt.Errorf("build software statement: %w", err)
	}
	signed, err := jwt.Sign(token, jwt.WithKey(jwa.SignatureAlgorithm(key.Algorithm().String()), key))
	if err != nil {
		return fmt.Errorf("sign software statement: %w", err)
	}
	fmt.Fprintln(stdout, string(signed))
	return nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", b), nil
}
