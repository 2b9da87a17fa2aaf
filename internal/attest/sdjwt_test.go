package attest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights"
)

const testNonce = "nonce-5f2c"

// testVerifyTime is when the tests verify: 30 seconds after issuance.
var testVerifyTime = testNow.Add(30 * time.Second)

// sdFixture is a key set, its public set and a holder key pair.
type sdFixture struct {
	keys       *KeySet
	public     jwk.Set
	priv       *ecdsa.PrivateKey // the issuer's signing key
	kid        string
	holder     crypto.Signer
	holderJWK  jwk.Key
	otherKey   crypto.Signer // a second holder key, never in "cnf"
	issuer     *Issuer
	results    []insights.ClaimResult
	lifetime   time.Duration
	verifyOpts SDJWTVerifyOptions
}

func newSDFixture(t *testing.T, holderAlg string) sdFixture {
	t.Helper()
	keys, _ := newTestKeys(t)
	public, err := keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	f := sdFixture{
		keys: keys, public: public, priv: signingPrivateKey(t, keys), kid: keys.SigningKeyID(),
		holder: newHolderKey(t, holderAlg), otherKey: newHolderKey(t, holderAlg),
		issuer: newTestIssuer(keys), lifetime: 10 * time.Minute,
		verifyOpts: SDJWTVerifyOptions{
			Issuer: testIssuer, Audience: testClient, Nonce: testNonce,
			Now: func() time.Time { return testVerifyTime }, Skew: 30 * time.Second,
		},
	}
	f.holderJWK, err = jwk.FromRaw(f.holder.Public())
	if err != nil {
		t.Fatal(err)
	}

	// All claim kinds plus one unavailable, so "unavailable" gets a disclosure too.
	f.results = append(allClaimResults(t), affordabilityResult(t, true))
	f.results[3].Available = false
	return f
}

func newHolderKey(t *testing.T, alg string) crypto.Signer {
	t.Helper()
	if alg == "EdDSA" {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return priv
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// issue returns an SD-JWT of all fixture claims, bound to the holder key.
func (f sdFixture) issue(t *testing.T) IssuedSDJWT {
	t.Helper()
	issued, err := f.issuer.IssueSDJWT(testCustomer, testClient, f.results, f.lifetime, SDJWTOptions{HolderKey: f.holderJWK})
	if err != nil {
		t.Fatalf("IssueSDJWT: %v", err)
	}
	return issued
}

// signPayload signs payload as an issuer-signed JWT of typ dc+sd-jwt with
// the standard library, so tests can craft payloads IssueSDJWT never makes.
func (f sdFixture) signPayload(t *testing.T, payload map[string]any) string {
	t.Helper()
	header := mustJSON(t, map[string]any{"alg": "ES256", "kid": f.kid, "typ": SDJWTType})
	return signRaw(t, f.priv, header, mustJSON(t, payload))
}

// basePayload returns a well-formed issuer-signed payload with the given
// "_sd" digests and the holder key as "cnf".
func (f sdFixture) basePayload(t *testing.T, digests ...string) map[string]any {
	t.Helper()
	if digests == nil {
		digests = []string{}
	}
	var holder map[string]any
	if err := json.Unmarshal([]byte(mustJSON(t, f.holderJWK)), &holder); err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"iss": testIssuer, "sub": "pairwise-subject", "aud": testClient,
		"iat": testNow.Unix(), "exp": testNow.Add(10 * time.Minute).Unix(), "jti": "jti-1",
		"vct": testIssuer + "/vct/attestation", "_sd_alg": "sha-256", "_sd": digests,
		"cnf": map[string]any{"jwk": holder},
	}
}

// stdDisclosure encodes [salt, name, value] with the standard library. A
// nil name makes an array element disclosure [salt, value].
func stdDisclosure(t *testing.T, salt string, name *string, value any) string {
	t.Helper()
	array := []any{salt, value}
	if name != nil {
		array = []any{salt, *name, value}
	}
	return base64.RawURLEncoding.EncodeToString([]byte(mustJSON(t, array)))
}

func claimName(s string) *string { return &s }

// stdDigest is base64url(SHA-256(ASCII(s))), computed independently of the
// package under test.
func stdDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// splitSDJWT returns the issuer-signed JWT and the disclosures of an
// SD-JWT that ends with "~".
func splitSDJWT(t *testing.T, sdjwt string) (string, []string) {
	t.Helper()
	if !strings.HasSuffix(sdjwt, "~") {
		t.Fatalf("SD-JWT does not end with ~: %.40s...", sdjwt)
	}
	parts := strings.Split(strings.TrimSuffix(sdjwt, "~"), "~")
	return parts[0], parts[1:]
}

// withKeyBinding appends a KB-JWT over signedPart, with payload changes
// applied (a nil value removes the member), signed by signer.
func withKeyBinding(t *testing.T, signedPart string, signer crypto.Signer, changes map[string]any) string {
	t.Helper()
	payload := map[string]any{
		"iat": testVerifyTime.Unix(), "aud": testClient, "nonce": testNonce, "sd_hash": stdDigest(signedPart),
	}
	for k, v := range changes {
		if v == nil {
			delete(payload, k)
		} else {
			payload[k] = v
		}
	}
	kb, err := signKeyBinding(signer, payload)
	if err != nil {
		t.Fatal(err)
	}
	return signedPart + kb
}

// expectedClaims returns ClaimsPayload of results as encoding/json decodes it.
func expectedClaims(t *testing.T, results []insights.ClaimResult) map[string]any {
	t.Helper()
	claims, _, err := ClaimsPayload(results)
	if err != nil {
		t.Fatal(err)
	}
	var decoded map[string]any
	if err := json.Unmarshal([]byte(mustJSON(t, claims)), &decoded); err != nil {
		t.Fatal(err)
	}
	return decoded
}

func TestIssueSDJWT_headerAndPayload(t *testing.T) {
	f := newSDFixture(t, "ES256")
	issued := f.issue(t)
	jwt, disclosures := splitSDJWT(t, issued.Token)

	header := decodeTokenPart(t, jwt, 0)
	for name, want := range map[string]any{"alg": "ES256", "kid": f.kid, "typ": "dc+sd-jwt"} {
		if header[name] != want {
			t.Errorf("header %s = %v; want %v", name, header[name], want)
		}
	}
	if len(header) != 3 {
		t.Errorf("header = %v; want only alg, kid and typ", header)
	}

	payload := decodeTokenPart(t, jwt, 1)
	for name, want := range map[string]any{
		"iss": testIssuer, "sub": f.keys.Subject(testCustomer, testClient), "aud": testClient,
		"iat": float64(testNow.Unix()), "exp": float64(testNow.Add(f.lifetime).Unix()), "jti": issued.JTI,
		"vct": "https://insights.example/vct/attestation", "_sd_alg": "sha-256",
	} {
		if payload[name] != want {
			t.Errorf("payload %s = %v; want %v", name, payload[name], want)
		}
	}
	for name := range expectedClaims(t, f.results) {
		if _, ok := payload[name]; ok {
			t.Errorf("payload has claim %s in plain text; want it only as a disclosure", name)
		}
	}

	digests, ok := payload["_sd"].([]any)
	if !ok {
		t.Fatalf("_sd = %T; want an array", payload["_sd"])
	}
	if len(digests) < minDigests || len(digests) < len(disclosures)+minDecoys {
		t.Errorf("_sd has %d digests for %d disclosures; want at least %d and %d decoys", len(digests), len(disclosures), minDigests, minDecoys)
	}
	if !sort.SliceIsSorted(digests, func(a, b int) bool { return digests[a].(string) < digests[b].(string) }) {
		t.Errorf("_sd is not sorted: %v", digests)
	}

	cnf, _ := payload["cnf"].(map[string]any)
	holder, err := jwk.ParseKey([]byte(mustJSON(t, cnf["jwk"])))
	if err != nil {
		t.Fatalf("cnf.jwk: %v", err)
	}
	got, _ := holder.Thumbprint(crypto.SHA256)
	want, _ := f.holderJWK.Thumbprint(crypto.SHA256)
	if string(got) != string(want) {
		t.Error("cnf.jwk is not the holder key")
	}
	if _, isPrivate := holder.(jwk.ECDSAPrivateKey); isPrivate {
		t.Error("cnf.jwk has private members")
	}

	wantDisclosed := []string{"address_matches", "affordability", "age_over_18", "funds_at_least", "unavailable"}
	if !slices.Equal(issued.Disclosed, wantDisclosed) {
		t.Errorf("Disclosed = %v; want %v", issued.Disclosed, wantDisclosed)
	}
	if len(issued.ClaimNames) != len(f.results) {
		t.Errorf("ClaimNames = %v; want %d names", issued.ClaimNames, len(f.results))
	}
}

func TestIssueSDJWT_withoutHolderKey(t *testing.T) {
	f := newSDFixture(t, "ES256")
	issued, err := f.issuer.IssueSDJWT(testCustomer, testClient, f.results, f.lifetime, SDJWTOptions{VCT: "urn:example:vct"})
	if err != nil {
		t.Fatal(err)
	}
	jwt, _ := splitSDJWT(t, issued.Token)
	payload := decodeTokenPart(t, jwt, 1)
	if _, ok := payload["cnf"]; ok {
		t.Error("payload has cnf without a holder key")
	}
	if payload["vct"] != "urn:example:vct" {
		t.Errorf("vct = %v; want the option's value", payload["vct"])
	}
}

func TestIssueSDJWT_statusClaim(t *testing.T) {
	f := newSDFixture(t, "ES256")
	ref := StatusReference{Index: 7, URI: testIssuer + "/statuslists/1"}
	issued, err := f.issuer.IssueSDJWT(testCustomer, testClient, f.results, f.lifetime, SDJWTOptions{Status: &ref})
	if err != nil {
		t.Fatal(err)
	}
	if issued.Status == nil || *issued.Status != ref {
		t.Errorf("Status = %v; want %v", issued.Status, ref)
	}

	v, err := VerifySDJWT(context.Background(), issued.Token, f.public, f.verifyOpts)
	if err != nil {
		t.Fatalf("VerifySDJWT: %v", err)
	}
	got, err := ParseStatusReference(v.Claims)
	if err != nil {
		t.Fatalf("ParseStatusReference: %v", err)
	}
	if got != ref {
		t.Errorf("status claim = %v; want %v", got, ref)
	}

	bad := StatusReference{Index: 1, URI: "statuslists/1"}
	if _, err := f.issuer.IssueSDJWT(testCustomer, testClient, f.results, f.lifetime, SDJWTOptions{Status: &bad}); err == nil {
		t.Error("IssueSDJWT accepted a relative status list URI")
	}
}

// TestIssueSDJWT_digestsStandardLibrary recomputes every digest with the
// standard library alone and checks each disclosure's form and value.
func TestIssueSDJWT_digestsStandardLibrary(t *testing.T) {
	f := newSDFixture(t, "ES256")
	issued := f.issue(t)
	jwt, disclosures := splitSDJWT(t, issued.Token)
	payload := decodeTokenPart(t, jwt, 1)
	inPayload := map[string]bool{}
	for _, d := range payload["_sd"].([]any) {
		inPayload[d.(string)] = true
	}

	want := expectedClaims(t, f.results)
	seen := map[string]bool{}
	for n, encoded := range disclosures {
		if strings.ContainsAny(encoded, "=+/") {
			t.Errorf("disclosure %d is not unpadded base64url: %s", n, encoded)
		}
		sum := sha256.Sum256([]byte(encoded))
		if digest := base64.RawURLEncoding.EncodeToString(sum[:]); !inPayload[digest] {
			t.Errorf("digest %s of disclosure %d is not in _sd", digest, n)
		}

		raw, err := base64.RawURLEncoding.DecodeString(encoded)
		if err != nil {
			t.Fatalf("disclosure %d: %v", n, err)
		}
		var array []json.RawMessage
		if err := json.Unmarshal(raw, &array); err != nil || len(array) != 3 {
			t.Fatalf("disclosure %d = %s; want a JSON array of 3", n, raw)
		}
		var salt, name string
		if err := json.Unmarshal(array[0], &salt); err != nil {
			t.Fatalf("disclosure %d salt: %v", n, err)
		}
		if b, err := base64.RawURLEncoding.DecodeString(salt); err != nil || len(b) != 16 {
			t.Errorf("disclosure %d salt %q is not 128 bits of base64url", n, salt)
		}
		if err := json.Unmarshal(array[1], &name); err != nil {
			t.Fatalf("disclosure %d name: %v", n, err)
		}
		if seen[name] {
			t.Errorf("claim %s has more than one disclosure", name)
		}
		seen[name] = true

		var value any
		if err := json.Unmarshal(array[2], &value); err != nil {
			t.Fatal(err)
		}
		if mustJSON(t, value) != mustJSON(t, want[name]) {
			t.Errorf("disclosure of %s = %s; want %s", name, mustJSON(t, value), mustJSON(t, want[name]))
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("claim %s has no disclosure", name)
		}
	}
}

func TestIssueSDJWT_decoysVary(t *testing.T) {
	f := newSDFixture(t, "ES256")
	lengths := map[int]bool{}
	salts := map[string]bool{}
	for range 30 {
		issued := f.issue(t)
		jwt, disclosures := splitSDJWT(t, issued.Token)
		lengths[len(decodeTokenPart(t, jwt, 1)["_sd"].([]any))] = true
		for _, d := range disclosures {
			raw, _ := base64.RawURLEncoding.DecodeString(d)
			var array []any
			if err := json.Unmarshal(raw, &array); err != nil {
				t.Fatal(err)
			}
			salt := array[0].(string)
			if salts[salt] {
				t.Fatalf("salt %s was used twice", salt)
			}
			salts[salt] = true
		}
	}
	// With 4 equally likely decoy counts, 30 tokens of one length have a
	// probability of about 1e-18.
	if len(lengths) < 2 {
		t.Errorf("30 tokens all have _sd lengths %v; want the decoy count to vary", lengths)
	}
}

func TestIssueSDJWT_rejectsHolderKey(t *testing.T) {
	f := newSDFixture(t, "ES256")
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaPriv, _ := rsa.GenerateKey(rand.Reader, 2048)
	mismatched, _ := jwk.FromRaw(ecPriv.Public())
	if err := mismatched.Set(jwk.AlgorithmKey, jwa.EdDSA); err != nil {
		t.Fatal(err)
	}

	cases := map[string]any{
		"private key":   ecPriv,
		"P-384 key":     p384.Public(),
		"RSA key":       rsaPriv.Public(),
		"alg mismatch":  mismatched,
		"symmetric key": []byte("0123456789abcdef0123456789abcdef"),
	}
	for label, raw := range cases {
		t.Run(label, func(t *testing.T) {
			key, ok := raw.(jwk.Key)
			if !ok {
				var err error
				if key, err = jwk.FromRaw(raw); err != nil {
					t.Fatal(err)
				}
			}
			_, err := f.issuer.IssueSDJWT(testCustomer, testClient, f.results, f.lifetime, SDJWTOptions{HolderKey: key})
			if err == nil || !strings.Contains(err.Error(), "holder key") {
				t.Errorf("IssueSDJWT error = %v; want a holder key error", err)
			}
		})
	}
}

func TestVerifySDJWT_allDisclosures(t *testing.T) {
	f := newSDFixture(t, "ES256")
	issued := f.issue(t)

	v, err := VerifySDJWT(context.Background(), issued.Token, f.public, f.verifyOpts)
	if err != nil {
		t.Fatalf("VerifySDJWT: %v", err)
	}
	want := expectedClaims(t, f.results)
	if mustJSON(t, v.Disclosed) != mustJSON(t, want) {
		t.Errorf("Disclosed = %s; want %s", mustJSON(t, v.Disclosed), mustJSON(t, want))
	}
	for _, name := range []string{"_sd", "_sd_alg"} {
		if _, ok := v.Claims[name]; ok {
			t.Errorf("Claims has %s; want it removed", name)
		}
	}
	if v.Claims["age_over_18"] != true || v.Claims["iss"] != testIssuer {
		t.Errorf("Claims = %v; want plain and disclosed claims together", v.Claims)
	}
	if v.Subject != issued.Subject || v.JTI != issued.JTI || v.VCT != issued.VCT {
		t.Errorf("Subject, JTI, VCT = %q, %q, %q; want %q, %q, %q", v.Subject, v.JTI, v.VCT, issued.Subject, issued.JTI, issued.VCT)
	}
	if !v.ExpiresAt.Equal(issued.ExpiresAt) || v.Header.Type != SDJWTType {
		t.Errorf("ExpiresAt %s, typ %q; want %s, %q", v.ExpiresAt, v.Header.Type, issued.ExpiresAt, SDJWTType)
	}
	if v.HolderKey == nil || v.KeyBinding != nil {
		t.Errorf("HolderKey %v, KeyBinding %v; want the cnf key and no KB-JWT", v.HolderKey, v.KeyBinding)
	}
}

func TestPresent_revealsOnlyChosen(t *testing.T) {
	cases := []struct {
		label  string
		holder string
		names  []string
	}{
		{"none", "ES256", nil},
		{"age only", "ES256", []string{"age_over_18"}},
		{"funds and unavailable", "ES256", []string{"funds_at_least", "unavailable"}},
		{"all", "ES256", []string{"address_matches", "affordability", "age_over_18", "funds_at_least", "unavailable"}},
		{"EdDSA holder", "EdDSA", []string{"address_matches"}},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			f := newSDFixture(t, tc.holder)
			issued := f.issue(t)
			presented, err := present(issued.Token, tc.names, f.holder, testClient, testNonce, testVerifyTime)
			if err != nil {
				t.Fatalf("present: %v", err)
			}
			if got := strings.Count(presented, "~"); got != len(tc.names)+1 {
				t.Errorf("presentation has %d separators; want %d", got, len(tc.names)+1)
			}

			opts := f.verifyOpts
			opts.RequireKeyBinding = true
			v, err := VerifySDJWT(context.Background(), presented, f.public, opts)
			if err != nil {
				t.Fatalf("VerifySDJWT: %v", err)
			}
			got := slices.Sorted(maps.Keys(v.Disclosed))
			want := slices.Sorted(slices.Values(tc.names))
			if !slices.Equal(got, want) {
				t.Errorf("Disclosed %v; want %v", got, want)
			}
			for name := range expectedClaims(t, f.results) {
				if _, ok := v.Claims[name]; ok != slices.Contains(tc.names, name) {
					t.Errorf("Claims has %s = %v; want %v", name, ok, !ok)
				}
			}
			if v.KeyBinding == nil || v.KeyBinding.Nonce != testNonce || v.KeyBinding.Audience != testClient {
				t.Errorf("KeyBinding = %+v; want nonce %q and aud %q", v.KeyBinding, testNonce, testClient)
			}
			if v.KeyBinding != nil && v.KeyBinding.Algorithm != tc.holder {
				t.Errorf("KeyBinding.Algorithm = %q; want %q", v.KeyBinding.Algorithm, tc.holder)
			}
		})
	}
}

func TestPresent_rejects(t *testing.T) {
	f := newSDFixture(t, "ES256")
	issued := f.issue(t)
	unbound, err := f.issuer.IssueSDJWT(testCustomer, testClient, f.results, f.lifetime, SDJWTOptions{})
	if err != nil {
		t.Fatal(err)
	}
	withKB, err := present(issued.Token, nil, f.holder, testClient, testNonce, testVerifyTime)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		label  string
		sdjwt  string
		names  []string
		holder crypto.Signer
		nonce  string
		want   string
	}{
		{"unknown claim", issued.Token, []string{"age_over_21"}, f.holder, testNonce, `claim "age_over_21" has no disclosure`},
		{"other holder key", issued.Token, nil, f.otherKey, testNonce, `not the SD-JWT's "cnf" key`},
		{"token without cnf", unbound.Token, nil, f.holder, testNonce, `no "cnf" key`},
		{"empty nonce", issued.Token, nil, f.holder, "", "non-empty aud and nonce"},
		{"already bound", withKB, nil, f.holder, testNonce, "already ends with a KB-JWT"},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			_, err := Present(tc.sdjwt, tc.names, tc.holder, testClient, tc.nonce)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Present error = %v; want %q", err, tc.want)
			}
		})
	}
}

func TestVerifySDJWT_rejects(t *testing.T) {
	f := newSDFixture(t, "ES256")
	issued := f.issue(t)
	jwt, disclosures := splitSDJWT(t, issued.Token)
	ageDisclosure := stdDisclosure(t, "c2FsdC1hZ2U", claimName("age_over_18"), true)
	ageDigest := stdDigest(ageDisclosure)
	bound, err := present(issued.Token, []string{"age_over_18", "funds_at_least"}, f.holder, testClient, testNonce, testVerifyTime)
	if err != nil {
		t.Fatal(err)
	}
	boundPart := bound[:strings.LastIndex(bound, "~")+1]

	// A disclosure whose JSON is not a multiple of 3 bytes has base64 padding.
	padded := base64.URLEncoding.EncodeToString([]byte(`["c2FsdA","age_over_18",true]`))
	if !strings.HasSuffix(padded, "=") {
		t.Fatalf("test disclosure %s has no padding", padded)
	}

	// tamper re-encodes the first disclosure with its value changed.
	tamper := func() string {
		raw, _ := base64.RawURLEncoding.DecodeString(disclosures[0])
		var array []any
		if err := json.Unmarshal(raw, &array); err != nil {
			t.Fatal(err)
		}
		array[2] = map[string]any{"post_code": "SW1A 1AA", "result": false}
		changed := base64.RawURLEncoding.EncodeToString([]byte(mustJSON(t, array)))
		return strings.Replace(issued.Token, "~"+disclosures[0]+"~", "~"+changed+"~", 1)
	}

	cases := []struct {
		label   string
		sdjwt   string
		require bool
		want    error
	}{
		// The issuer-signed JWT.
		{"no tilde", jwt, false, ErrMalformed},
		{"empty disclosure", jwt + "~~" + disclosures[0] + "~", false, ErrMalformed},
		{"alg none", b64(mustJSON(t, map[string]any{"alg": "none", "kid": f.kid, "typ": SDJWTType})) + "." +
			b64(mustJSON(t, f.basePayload(t))) + ".~", false, ErrAlgorithm},
		{"typ JWT", func() string {
			plain, err := f.issuer.Issue(testCustomer, testClient, allClaimResults(t), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return plain.Token + "~"
		}(), false, ErrMalformed},
		{"unknown kid", signRaw(t, f.priv, mustJSON(t, map[string]any{"alg": "ES256", "kid": "other", "typ": SDJWTType}),
			mustJSON(t, f.basePayload(t))) + "~", false, ErrUnknownKey},
		{"signature", func() string {
			segments := strings.Split(jwt, ".")
			return segments[0] + "." + b64(mustJSON(t, f.basePayload(t))) + "." + segments[2] + "~"
		}(), false, ErrSignature},
		{"sd_alg sha-512", f.signPayload(t, func() map[string]any {
			p := f.basePayload(t, ageDigest)
			p["_sd_alg"] = "sha-512"
			return p
		}()) + "~" + ageDisclosure + "~", false, ErrAlgorithm},
		{"expired", f.signPayload(t, func() map[string]any {
			p := f.basePayload(t)
			p["exp"] = testNow.Add(-time.Minute).Unix()
			return p
		}()) + "~", false, ErrExpired},
		{"other audience", f.signPayload(t, func() map[string]any {
			p := f.basePayload(t)
			p["aud"] = "client-other"
			return p
		}()) + "~", false, ErrAudience},

		// Disclosures.
		{"injected disclosure", issued.Token + ageDisclosure + "~", false, ErrDisclosure},
		{"tampered disclosure", tamper(), false, ErrDisclosure},
		{"same disclosure twice", issued.Token + disclosures[1] + "~", false, ErrDisclosure},
		{"digest twice in _sd", f.signPayload(t, f.basePayload(t, ageDigest, ageDigest)) + "~" + ageDisclosure + "~", false, ErrDisclosure},
		{"undisclosed digest twice", f.signPayload(t, f.basePayload(t, ageDigest, ageDigest)) + "~", false, ErrDisclosure},
		{"overwrites plain claim", f.signPayload(t, func() map[string]any {
			p := f.basePayload(t, ageDigest)
			p["age_over_18"] = false
			return p
		}()) + "~" + ageDisclosure + "~", false, ErrDisclosure},
		{"overwrites iss", func() string {
			d := stdDisclosure(t, "c2FsdC1pc3M", claimName("iss"), "https://attacker.example")
			return f.signPayload(t, f.basePayload(t, stdDigest(d))) + "~" + d + "~"
		}(), false, ErrDisclosure},
		{"reserved status", func() string {
			d := stdDisclosure(t, "c2FsdC1zdA", claimName("status"), map[string]any{})
			return f.signPayload(t, f.basePayload(t, stdDigest(d))) + "~" + d + "~"
		}(), false, ErrDisclosure},
		{"reserved _sd", func() string {
			d := stdDisclosure(t, "c2FsdC1zZA", claimName("_sd"), []string{})
			return f.signPayload(t, f.basePayload(t, stdDigest(d))) + "~" + d + "~"
		}(), false, ErrDisclosure},
		{"array disclosure in _sd", func() string {
			d := stdDisclosure(t, "c2FsdC1hcnI", nil, true)
			return f.signPayload(t, f.basePayload(t, stdDigest(d))) + "~" + d + "~"
		}(), false, ErrDisclosure},
		{"padded base64url", f.signPayload(t, f.basePayload(t, stdDigest(padded))) + "~" + padded + "~", false, ErrMalformed},

		// Key binding.
		{"KB other nonce", withKeyBinding(t, boundPart, f.holder, map[string]any{"nonce": "nonce-other"}), false, ErrKeyBinding},
		{"KB other audience", withKeyBinding(t, boundPart, f.holder, map[string]any{"aud": "client-other"}), false, ErrAudience},
		{"KB other key", withKeyBinding(t, boundPart, f.otherKey, nil), false, ErrSignature},
		{"KB stale iat", withKeyBinding(t, boundPart, f.holder, map[string]any{"iat": testVerifyTime.Add(-6 * time.Minute).Unix()}), false, ErrExpired},
		{"KB future iat", withKeyBinding(t, boundPart, f.holder, map[string]any{"iat": testVerifyTime.Add(2 * time.Minute).Unix()}), false, ErrNotYetValid},
		{"KB wrong sd_hash", withKeyBinding(t, boundPart, f.holder, map[string]any{"sd_hash": stdDigest(issued.Token)}), false, ErrKeyBinding},
		{"KB without sd_hash", withKeyBinding(t, boundPart, f.holder, map[string]any{"sd_hash": nil}), false, ErrMalformed},
		{"disclosure dropped after KB", strings.Replace(bound, "~"+strings.Split(bound, "~")[1]+"~", "~", 1), false, ErrKeyBinding},
		{"KB typ JWT", func() string {
			holder := f.holder.(*ecdsa.PrivateKey)
			payload := mustJSON(t, map[string]any{"iat": testVerifyTime.Unix(), "aud": testClient, "nonce": testNonce, "sd_hash": stdDigest(boundPart)})
			return boundPart + signRaw(t, holder, `{"alg":"ES256","typ":"JWT"}`, payload)
		}(), false, ErrMalformed},
		{"KB padded signature", func() string {
			kb := withKeyBinding(t, boundPart, f.holder, nil)
			return kb + "=="
		}(), false, ErrMalformed},
		{"KB missing but required", boundPart, true, ErrKeyBinding},
		{"KB without cnf", func() string {
			p := f.basePayload(t, ageDigest)
			delete(p, "cnf")
			part := f.signPayload(t, p) + "~" + ageDisclosure + "~"
			return withKeyBinding(t, part, f.holder, nil)
		}(), false, ErrKeyBinding},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			opts := f.verifyOpts
			opts.RequireKeyBinding = tc.require
			v, err := VerifySDJWT(context.Background(), tc.sdjwt, f.public, opts)
			if !errors.Is(err, tc.want) {
				t.Errorf("VerifySDJWT error = %v; want %v", err, tc.want)
			}
			if v != nil {
				t.Errorf("VerifySDJWT returned claims %v with an error", v.Disclosed)
			}
		})
	}
}

// TestVerifySDJWT_controlCases shows that the crafted tokens of the
// rejection table verify once the one fault is removed.
func TestVerifySDJWT_controlCases(t *testing.T) {
	f := newSDFixture(t, "ES256")
	ageDisclosure := stdDisclosure(t, "c2FsdC1hZ2U", claimName("age_over_18"), true)
	part := f.signPayload(t, f.basePayload(t, stdDigest(ageDisclosure), stdDigest("decoy"))) + "~" + ageDisclosure + "~"

	cases := map[string]string{
		"crafted token":       part,
		"crafted with KB-JWT": withKeyBinding(t, part, f.holder, nil),
	}
	for label, sdjwt := range cases {
		t.Run(label, func(t *testing.T) {
			v, err := VerifySDJWT(context.Background(), sdjwt, f.public, f.verifyOpts)
			if err != nil {
				t.Fatalf("VerifySDJWT: %v", err)
			}
			if v.Disclosed["age_over_18"] != true || len(v.Disclosed) != 1 {
				t.Errorf("Disclosed = %v; want only age_over_18: true", v.Disclosed)
			}
		})
	}
}

// TestVerifySDJWT_nestedDigests checks digests inside a nested object and
// in array elements (RFC 9901 section 4.2.4), which IssueSDJWT does not
// produce but a verifier must process.
func TestVerifySDJWT_nestedDigests(t *testing.T) {
	f := newSDFixture(t, "ES256")
	result := stdDisclosure(t, "c2FsdC1yZXM", claimName("result"), true)
	shown := stdDisclosure(t, "c2FsdC1zaG93bg", nil, "GB")
	hidden := stdDisclosure(t, "c2FsdC1oaWRkZW4", nil, "FR")
	payload := f.basePayload(t)
	payload["address_matches"] = map[string]any{"post_code": "SW1A 1AA", "_sd": []string{stdDigest(result)}}
	payload["countries"] = []any{"IE", map[string]any{"...": stdDigest(shown)}, map[string]any{"...": stdDigest(hidden)}}
	jwt := f.signPayload(t, payload)

	v, err := VerifySDJWT(context.Background(), jwt+"~"+result+"~"+shown+"~", f.public, f.verifyOpts)
	if err != nil {
		t.Fatalf("VerifySDJWT: %v", err)
	}
	if got, want := mustJSON(t, v.Claims["address_matches"]), `{"post_code":"SW1A 1AA","result":true}`; got != want {
		t.Errorf("address_matches = %s; want %s", got, want)
	}
	if got, want := mustJSON(t, v.Claims["countries"]), `["IE","GB"]`; got != want {
		t.Errorf("countries = %s; want %s", got, want)
	}
	if len(v.Disclosed) != 0 {
		t.Errorf("Disclosed = %v; want no top-level disclosure", v.Disclosed)
	}

	// An object property disclosure cannot stand in for an array element.
	misplaced := stdDisclosure(t, "c2FsdC1taXM", claimName("country"), "GB")
	payload["countries"] = []any{map[string]any{"...": stdDigest(misplaced)}}
	_, err = VerifySDJWT(context.Background(), f.signPayload(t, payload)+"~"+result+"~"+misplaced+"~", f.public, f.verifyOpts)
	if !errors.Is(err, ErrDisclosure) {
		t.Errorf("misplaced disclosure error = %v; want %v", err, ErrDisclosure)
	}
}

func TestVerifySDJWT_rejectsBadOptions(t *testing.T) {
	f := newSDFixture(t, "ES256")
	issued := f.issue(t)
	cases := []struct {
		label string
		keys  jwk.Set
		opts  SDJWTVerifyOptions
		want  string
	}{
		{"no keys", nil, SDJWTVerifyOptions{}, "no JWK set"},
		{"negative skew", f.public, SDJWTVerifyOptions{Skew: -time.Second}, "negative"},
		{"negative max age", f.public, SDJWTVerifyOptions{KeyBindingMaxAge: -time.Second}, "negative"},
		{"key binding without nonce", f.public, SDJWTVerifyOptions{RequireKeyBinding: true, Audience: testClient}, "Audience and Nonce"},
	}
	for _, tc := range cases {
		t.Run(tc.label, func(t *testing.T) {
			_, err := VerifySDJWT(context.Background(), issued.Token, tc.keys, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("VerifySDJWT error = %v; want %q", err, tc.want)
			}
		})
	}
}

// FuzzProcessDisclosures feeds arbitrary payloads and disclosures to the
// digest walk, which runs only after a valid signature in VerifySDJWT.
func FuzzProcessDisclosures(f *testing.F) {
	age := base64.RawURLEncoding.EncodeToString([]byte(`["c2FsdA","age_over_18",true]`))
	element := base64.RawURLEncoding.EncodeToString([]byte(`["c2FsdA","GB"]`))
	f.Add(`{"iss":"x","_sd":["`+stdDigest(age)+`"]}`, age)
	f.Add(`{"a":[{"...":"`+stdDigest(element)+`"}],"b":{"_sd":[]}}`, element)
	f.Add(`{"_sd":"x"}`, "")
	f.Fuzz(func(t *testing.T, payload, disclosures string) {
		var list []string
		if disclosures != "" {
			list = strings.Split(disclosures, "~")
		}
		v := &VerifiedSDJWT{}
		if err := processDisclosures(v, []byte(payload), list); err != nil {
			return
		}
		if _, ok := v.Claims["_sd"]; ok {
			t.Errorf("Claims kept _sd: %v", v.Claims)
		}
		if len(v.Disclosed) > len(list) {
			t.Errorf("%d disclosed claims from %d disclosures", len(v.Disclosed), len(list))
		}
	})
}
