package attest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights"
)

// verifyCategories are the error classes a rejected token must carry, so
// that every rejection maps onto a VerificationFailureReason.
var verifyCategories = []error{
	ErrMalformed, ErrAlgorithm, ErrUnknownKey, ErrSignature, ErrExpired,
	ErrNotYetValid, ErrAudience, ErrIssuer, ErrDisclosure, ErrKeyBinding,
}

func hasCategory(err error) bool {
	for _, c := range verifyCategories {
		if errors.Is(err, c) {
			return true
		}
	}
	return false
}

// fuzzTokens issues one token of each form with a fresh key set and
// returns the public set, the JWS, the SD-JWT and a presentation of the
// SD-JWT with a Key Binding JWT.
func fuzzTokens(f *testing.F) (jwk.Set, Issued, IssuedSDJWT, string) {
	f.Helper()
	keys, err := LoadOrCreateKeys(filepath.Join(f.TempDir(), "keys"))
	if err != nil {
		f.Fatal(err)
	}
	public, err := keys.PublicSet()
	if err != nil {
		f.Fatal(err)
	}
	amount, err := insights.ParseAmount("500")
	if err != nil {
		f.Fatal(err)
	}
	results := []insights.ClaimResult{
		{Request: insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}, Available: true, Holds: true},
		{Request: insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: amount, Currency: "GBP"},
			Available: true, Holds: true, AsOf: testNow.Add(-time.Hour)},
		{Request: insights.ClaimRequest{Kind: insights.ClaimAddressMatches, PostCode: "SW1A 1AA"}, Available: false},
	}
	issuer := newTestIssuer(keys)
	jws, err := issuer.Issue(testCustomer, testClient, results, 10*time.Minute)
	if err != nil {
		f.Fatal(err)
	}

	holder, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	holderJWK, err := jwk.FromRaw(holder.Public())
	if err != nil {
		f.Fatal(err)
	}
	sd, err := issuer.IssueSDJWT(testCustomer, testClient, results, 10*time.Minute, SDJWTOptions{HolderKey: holderJWK})
	if err != nil {
		f.Fatal(err)
	}
	presented, err := Present(sd.Token, []string{"age_over_18"}, holder, testClient, "nonce-fuzz")
	if err != nil {
		f.Fatal(err)
	}
	return public, jws, sd, presented
}

// FuzzVerify checks that Verify never panics, that every rejection carries
// a failure category, and that an accepted token is the one issued: the
// fuzzer cannot forge a signature, so any token it accepts must carry the
// issued jti and subject.
func FuzzVerify(f *testing.F) {
	public, jws, sd, _ := fuzzTokens(f)
	issuerJWT, _, _ := strings.Cut(sd.Token, "~")
	for _, seed := range []string{
		jws.Token, issuerJWT, jws.Token + ".", strings.Replace(jws.Token, ".", "..", 1),
		"", "a.b.c", "eyJhbGciOiJub25lIn0.e30.",
	} {
		f.Add(seed)
	}
	opts := VerifyOptions{Issuer: testIssuer, Audience: testClient, Now: func() time.Time { return testNow.Add(time.Minute) }, Skew: 30 * time.Second}

	f.Fuzz(func(t *testing.T, token string) {
		v, err := Verify(context.Background(), token, public, opts)
		if err != nil {
			if v != nil {
				t.Errorf("rejected token also returned claims")
			}
			if !hasCategory(err) {
				t.Errorf("Verify error %q wraps no failure category", err)
			}
			return
		}
		if v.JTI != jws.JTI || v.Subject != jws.Subject {
			t.Errorf("accepted token with jti %q sub %q, want the issued jti %q sub %q", v.JTI, v.Subject, jws.JTI, jws.Subject)
		}
		if v.Issuer != testIssuer {
			t.Errorf("accepted token with iss %q", v.Issuer)
		}
	})
}

// FuzzVerifySDJWT checks the SD-JWT verifier on presentations with and
// without a Key Binding JWT: no panic, a category on every rejection, and
// only issued claims in an accepted presentation.
func FuzzVerifySDJWT(f *testing.F) {
	public, _, sd, presented := fuzzTokens(f)
	issuerJWT, _, _ := strings.Cut(sd.Token, "~")
	for _, seed := range []string{
		sd.Token, presented, issuerJWT + "~", issuerJWT, sd.Token + sd.Token, "~", "~~", "a.b.c~WyJhIiwiYiJd~",
	} {
		f.Add(seed)
	}
	issued := map[string]bool{}
	for _, name := range sd.ClaimNames {
		issued[name] = true
	}
	opts := SDJWTVerifyOptions{
		Issuer: testIssuer, Audience: testClient, Nonce: "nonce-fuzz",
		Now: func() time.Time { return testNow.Add(time.Minute) }, Skew: 30 * time.Second,
	}

	f.Fuzz(func(t *testing.T, presentation string) {
		v, err := VerifySDJWT(context.Background(), presentation, public, opts)
		if err != nil {
			if v != nil {
				t.Errorf("rejected presentation also returned claims")
			}
			if !hasCategory(err) {
				t.Errorf("VerifySDJWT error %q wraps no failure category", err)
			}
			return
		}
		if v.JTI != sd.JTI {
			t.Errorf("accepted presentation with jti %q, want the issued %q", v.JTI, sd.JTI)
		}
		for name := range v.Disclosed {
			if !issued[name] && name != "unavailable" {
				t.Errorf("accepted presentation discloses %q, which was never issued (issued %v)", name, sd.ClaimNames)
			}
		}
	})
}
