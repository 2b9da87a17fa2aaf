package attest

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// tokenFixture is a key set with the raw pieces the rejection cases need.
type tokenFixture struct {
	keys  *KeySet
	priv  *ecdsa.PrivateKey
	kid   string
	valid string // a token Issue produced
}

func newTokenFixture(t *testing.T) tokenFixture {
	t.Helper()
	keys, _ := newTestKeys(t)
	issued, err := newTestIssuer(keys).Issue(testCustomer, testClient, allClaimResults(t), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tokenFixture{keys: keys, priv: signingPrivateKey(t, keys), kid: keys.SigningKeyID(), valid: issued.Token}
}

func (f tokenFixture) header(t *testing.T, changes map[string]any) string {
	return mustJSON(t, merge(map[string]any{"alg": "ES256", "kid": f.kid, "typ": "JWT"}, changes))
}

func (f tokenFixture) payload(t *testing.T, changes map[string]any) string {
	return mustJSON(t, merge(map[string]any{
		"iss": testIssuer, "sub": "pairwise-subject", "aud": testClient,
		"iat": testNow.Unix(), "exp": testNow.Add(5 * time.Minute).Unix(), "jti": "jti-1",
		"age_over_18": true,
	}, changes))
}

// merge returns base with changes applied; a nil value removes the member.
func merge(base, changes map[string]any) map[string]any {
	for k, v := range changes {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	return base
}

// publicSet returns a fresh public set of keys with change applied to the
// key kid.
func publicSet(t *testing.T, keys *KeySet, kid string, change func(jwk.Key) error) jwk.Set {
	t.Helper()
	set, err := keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		key, _ := set.LookupKeyID(kid)
		if err := change(key); err != nil {
			t.Fatal(err)
		}
	}
	return set
}

// flipPayloadByte changes one byte of the decoded payload of token and
// re-encodes it, keeping the header and signature.
func flipPayloadByte(t *testing.T, token string) string {
	t.Helper()
	segments := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(segments[1])
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(payload), "true")
	payload[i] = 'T' // still valid base64 and still the same length
	segments[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(segments, ".")
}

func TestVerify_rejects(t *testing.T) {
	f := newTokenFixture(t)
	at := func(d time.Duration) int64 { return testNow.Add(d).Unix() }

	hmacToken := func() string {
		// The classic key-confusion attack: HS256 keyed with the bytes of
		// the published public key, under the real kid.
		secret, err := f.keys.PublicJWKS()
		if err != nil {
			t.Fatal(err)
		}
		input := b64(f.header(t, map[string]any{"alg": "HS256"})) + "." + b64(f.payload(t, nil))
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(input))
		return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	signatureChanged := func() string {
		segments := strings.Split(f.valid, ".")
		sig, _ := base64.RawURLEncoding.DecodeString(segments[2])
		sig[10] ^= 0x01
		segments[2] = base64.RawURLEncoding.EncodeToString(sig)
		return strings.Join(segments, ".")
	}

	tests := []struct {
		name    string
		token   string
		set     jwk.Set // nil means the fixture's public set
		opts    VerifyOptions
		wantIs  error
		wantMsg string
	}{
		{name: "alg none", token: b64(f.header(t, map[string]any{"alg": "none"})) + "." + b64(f.payload(t, nil)) + ".",
			wantIs: ErrAlgorithm, wantMsg: `alg "none"`},
		{name: "HS256 keyed with public key", token: hmacToken(),
			wantIs: ErrAlgorithm, wantMsg: `alg "HS256"`},
		{name: "unknown kid", token: signRaw(t, f.priv, f.header(t, map[string]any{"kid": "retired"}), f.payload(t, nil)),
			wantIs: ErrUnknownKey, wantMsg: `unknown key id "retired"`},
		{name: "JWKS key without alg", token: f.valid,
			set:    publicSet(t, f.keys, f.kid, func(k jwk.Key) error { return k.Remove(jwk.AlgorithmKey) }),
			wantIs: ErrAlgorithm, wantMsg: `has no "alg"`},
		{name: "JWKS key with other alg", token: f.valid,
			set:    publicSet(t, f.keys, f.kid, func(k jwk.Key) error { return k.Set(jwk.AlgorithmKey, jwa.ES384) }),
			wantIs: ErrAlgorithm, wantMsg: `token alg "ES256" differs from alg "ES384"`},
		{name: "EdDSA header on EC key", token: signRaw(t, f.priv, f.header(t, map[string]any{"alg": "EdDSA"}), f.payload(t, nil)),
			wantIs: ErrAlgorithm, wantMsg: `differs from alg "ES256"`},
		{name: "EC key labelled EdDSA", token: signRaw(t, f.priv, f.header(t, map[string]any{"alg": "EdDSA"}), f.payload(t, nil)),
			set:    publicSet(t, f.keys, f.kid, func(k jwk.Key) error { return k.Set(jwk.AlgorithmKey, jwa.EdDSA) }),
			wantIs: ErrAlgorithm, wantMsg: "EdDSA needs an OKP Ed25519 key"},
		{name: "expired", token: signRaw(t, f.priv, f.header(t, nil), f.payload(t, map[string]any{"exp": at(-time.Second)})),
			wantIs: ErrExpired, wantMsg: "token expired at 2026-12-04T09:59:59Z"},
		{name: "expires now", token: signRaw(t, f.priv, f.header(t, nil), f.payload(t, map[string]any{"exp": at(0)})),
			wantIs: ErrExpired, wantMsg: "token expired at"},
		{name: "issued in the future", token: signRaw(t, f.priv, f.header(t, nil), f.payload(t, map[string]any{"iat": at(time.Minute), "exp": at(time.Hour)})),
			wantIs: ErrNotYetValid, wantMsg: "in the future"},
		{name: "nbf in the future", token: signRaw(t, f.priv, f.header(t, nil), f.payload(t, map[string]any{"nbf": at(time.Minute)})),
			wantIs: ErrNotYetValid, wantMsg: "token not yet valid before"},
		{name: "wrong audience", token: f.valid, opts: VerifyOptions{Audience: "client-other"},
			wantIs: ErrAudience, wantMsg: `does not include "client-other"`},
		{name: "wrong issuer", token: f.valid, opts: VerifyOptions{Issuer: "https://other.example"},
			wantIs: ErrIssuer, wantMsg: "wrong issuer"},
		{name: "payload byte changed", token: flipPayloadByte(t, f.valid),
			wantIs: ErrSignature, wantMsg: "signature invalid"},
		{name: "signature byte changed", token: signatureChanged(),
			wantIs: ErrSignature, wantMsg: "signature invalid"},
		{name: "other typ", token: signRaw(t, f.priv, f.header(t, map[string]any{"typ": "kb+jwt"}), f.payload(t, nil)),
			wantIs: ErrMalformed, wantMsg: `typ "kb+jwt"`},
		{name: "missing kid", token: signRaw(t, f.priv, f.header(t, map[string]any{"kid": nil}), f.payload(t, nil)),
			wantIs: ErrMalformed, wantMsg: `missing "kid"`},
		{name: "crit header", token: signRaw(t, f.priv, f.header(t, map[string]any{"crit": []string{"b64"}, "b64": false}), f.payload(t, nil)),
			wantIs: ErrMalformed, wantMsg: `"crit"`},
		{name: "duplicate aud", token: signRaw(t, f.priv, f.header(t, nil),
			strings.Replace(f.payload(t, nil), `"aud":"`+testClient+`"`, `"aud":"`+testClient+`","aud":"client-other"`, 1)),
			wantIs: ErrMalformed, wantMsg: `member "aud" occurs twice`},
		{name: "missing exp", token: signRaw(t, f.priv, f.header(t, nil), f.payload(t, map[string]any{"exp": nil})),
			wantIs: ErrMalformed, wantMsg: `missing "exp"`},
		{name: "missing sub", token: signRaw(t, f.priv, f.header(t, nil), f.payload(t, map[string]any{"sub": nil})),
			wantIs: ErrMalformed, wantMsg: `"sub" is missing`},
		{name: "exp as string", token: signRaw(t, f.priv, f.header(t, nil), f.payload(t, map[string]any{"exp": "tomorrow"})),
			wantIs: ErrMalformed, wantMsg: `"exp" is not a number`},
		{name: "two segments", token: strings.Join(strings.Split(f.valid, ".")[:2], "."),
			wantIs: ErrMalformed, wantMsg: "got 2"},
		{name: "padded signature", token: f.valid + "==",
			wantIs: ErrMalformed, wantMsg: "signature segment"},
		{name: "JSON serialization", token: `{"payload":"e30","signatures":[]}`,
			wantIs: ErrMalformed, wantMsg: "want 3 base64url segments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := tt.set
			if set == nil {
				set = publicSet(t, f.keys, f.kid, nil)
			}
			opts := tt.opts
			opts.Now = func() time.Time { return testNow }

			v, err := Verify(context.Background(), tt.token, set, opts)
			if err == nil {
				t.Fatalf("Verify succeeded with claims %v; want %v", v.Claims, tt.wantIs)
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error = %q; want errors.Is %q", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %q; want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestVerify_clockSkew(t *testing.T) {
	f := newTokenFixture(t)
	set := publicSet(t, f.keys, f.kid, nil)
	expiredAgo := signRaw(t, f.priv, f.header(t, nil), f.payload(t, map[string]any{"exp": testNow.Add(-10 * time.Second).Unix()}))
	issuedAhead := signRaw(t, f.priv, f.header(t, nil), f.payload(t, map[string]any{"iat": testNow.Add(10 * time.Second).Unix()}))

	tests := []struct {
		name    string
		token   string
		skew    time.Duration
		wantErr error
	}{
		{"expired within skew", expiredAgo, 30 * time.Second, nil},
		{"expired beyond skew", expiredAgo, 5 * time.Second, ErrExpired},
		{"issued ahead within skew", issuedAhead, 30 * time.Second, nil},
		{"issued ahead without skew", issuedAhead, 0, ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(context.Background(), tt.token, set, VerifyOptions{
				Now: func() time.Time { return testNow }, Skew: tt.skew,
			})
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v; want %v", err, tt.wantErr)
			}
		})
	}
}

// TestVerify_standardLibraryOnly checks a token's ES256 signature with
// crypto/ecdsa and the published JWKS read by encoding/json, so the
// signature is verified by code other than jwx.
func TestVerify_standardLibraryOnly(t *testing.T) {
	f := newTokenFixture(t)
	doc, err := f.keys.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct {
		Keys []struct{ Kty, Crv, Kid, Alg, X, Y string } `json:"keys"`
	}
	if err := json.Unmarshal(doc, &jwks); err != nil {
		t.Fatal(err)
	}

	verifyES256 := func(token string) bool {
		segments := strings.Split(token, ".")
		var header struct{ Alg, Kid string }
		headerJSON, _ := base64.RawURLEncoding.DecodeString(segments[0])
		if err := json.Unmarshal(headerJSON, &header); err != nil || header.Alg != "ES256" {
			t.Fatalf("header %s: alg is not ES256", headerJSON)
		}
		for _, k := range jwks.Keys {
			if k.Kid != header.Kid {
				continue
			}
			if k.Kty != "EC" || k.Crv != "P-256" || k.Alg != "ES256" {
				t.Fatalf("JWK %s: kty %s crv %s alg %s", k.Kid, k.Kty, k.Crv, k.Alg)
			}
			x, errX := base64.RawURLEncoding.DecodeString(k.X)
			y, errY := base64.RawURLEncoding.DecodeString(k.Y)
			if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
				t.Fatalf("JWK %s: x or y is not 32 bytes of base64url", k.Kid)
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
			if err != nil {
				t.Fatalf("JWK %s: %v", k.Kid, err)
			}

			sig, err := base64.RawURLEncoding.DecodeString(segments[2])
			if err != nil || len(sig) != 64 {
				t.Fatalf("signature is not 64 bytes of base64url")
			}
			digest := sha256.Sum256([]byte(segments[0] + "." + segments[1]))
			r := new(big.Int).SetBytes(sig[:32])
			s := new(big.Int).SetBytes(sig[32:])
			return ecdsa.Verify(pub, digest[:], r, s)
		}
		t.Fatalf("kid %q not in the JWKS", header.Kid)
		return false
	}

	if !verifyES256(f.valid) {
		t.Error("standard library rejects the signature of an issued token")
	}
	if verifyES256(flipPayloadByte(t, f.valid)) {
		t.Error("standard library accepts a token with a changed payload byte")
	}
}

func TestVerify_EdDSARoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	writeKeyFile(t, dir, "a.jwk", map[string]string{
		"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "ed-key",
		"x": enc(pub), "d": enc(priv.Seed()),
	}, 0o600)
	keys, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}

	issued, err := newTestIssuer(keys).Issue(testCustomer, testClient, allClaimResults(t), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	segments := strings.Split(issued.Token, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(segments[2])
	if !ed25519.Verify(pub, []byte(segments[0]+"."+segments[1]), sig) {
		t.Error("crypto/ed25519 rejects the signature")
	}

	set, err := keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(context.Background(), issued.Token, set, VerifyOptions{Audience: testClient, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if v.Header.Algorithm != "EdDSA" || v.Header.KeyID != "ed-key" {
		t.Errorf("header = %+v; want alg EdDSA, kid ed-key", v.Header)
	}
}

func TestVerify_rejectsBadOptions(t *testing.T) {
	f := newTokenFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name    string
		ctx     context.Context
		set     jwk.Set
		opts    VerifyOptions
		wantErr string
	}{
		{"nil set", context.Background(), nil, VerifyOptions{}, "no JWK set"},
		{"negative skew", context.Background(), publicSet(t, f.keys, f.kid, nil), VerifyOptions{Skew: -time.Second}, "negative"},
		{"canceled context", ctx, publicSet(t, f.keys, f.kid, nil), VerifyOptions{}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(tt.ctx, f.valid, tt.set, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v; want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
