package attest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Members of a Key Binding JWT payload besides "iat" and "aud" (RFC 9901
// section 4.3).
const (
	claimNonce  = "nonce"
	claimSDHash = "sd_hash"
)

// verifyKeyBinding checks the KB-JWT of parts against the holder key of
// "cnf" (RFC 9901 section 7.3): typ "kb+jwt", the key's algorithm, the
// signature, an "iat" within opts.KeyBindingMaxAge of now, "aud" and
// "nonce" equal to opts, and "sd_hash" over parts.signedPart.
func verifyKeyBinding(ctx context.Context, parts presentation, holderKey jwk.Key, opts SDJWTVerifyOptions, now time.Time) (*KeyBinding, error) {
	if opts.Audience == "" || opts.Nonce == "" {
		return nil, errors.New("a KB-JWT can be verified only with SDJWTVerifyOptions.Audience and Nonce set")
	}

	// Step 1: header and signature, with the key "cnf" names and no other.
	segments, err := splitCompact(parts.keyBinding)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyBinding, err)
	}
	header, err := parseTypedHeader(segments[0], KeyBindingType, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyBinding, err)
	}
	for n, name := range []string{"payload", "signature"} {
		if _, err := decodeSegment(segments[n+1]); err != nil {
			return nil, fmt.Errorf("%w: %w: KB-JWT %s segment: %v", ErrKeyBinding, ErrMalformed, name, err)
		}
	}
	alg, err := keyBindingAlgorithm(holderKey)
	if err != nil {
		return nil, fmt.Errorf("%w: cnf.jwk: %v", ErrKeyBinding, err)
	}
	if header.Algorithm != alg {
		return nil, fmt.Errorf("%w: %w: KB-JWT alg %q, but the cnf key signs with %s", ErrKeyBinding, ErrAlgorithm, header.Algorithm, alg)
	}
	payload, err := jws.Verify([]byte(parts.keyBinding), jws.WithKey(jwa.SignatureAlgorithm(alg), holderKey), jws.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%w: %w: the KB-JWT is not signed by the cnf key", ErrKeyBinding, ErrSignature)
	}

	// Step 2: the payload members.
	members, err := decodeObject(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w: KB-JWT payload: %v", ErrKeyBinding, ErrMalformed, err)
	}
	kb := &KeyBinding{Algorithm: alg}
	var sdHash string
	for _, f := range []struct {
		name string
		dst  *string
	}{{claimAudience, &kb.Audience}, {claimNonce, &kb.Nonce}, {claimSDHash, &sdHash}} {
		if err := json.Unmarshal(members[f.name], f.dst); err != nil || *f.dst == "" {
			return nil, fmt.Errorf("%w: %w: KB-JWT %q is missing or not a non-empty string", ErrKeyBinding, ErrMalformed, f.name)
		}
	}
	if kb.IssuedAt, err = parseNumericDate(members, claimIssuedAt); err != nil {
		return nil, fmt.Errorf("%w: KB-JWT: %w", ErrKeyBinding, err)
	}

	// Step 3: freshness, audience, nonce and the hash that ties the KB-JWT
	// to exactly the disclosures presented with it.
	maxAge := opts.KeyBindingMaxAge
	if maxAge == 0 {
		maxAge = DefaultKeyBindingMaxAge
	}
	switch {
	case kb.IssuedAt.After(now.Add(opts.Skew)):
		return nil, fmt.Errorf("%w: %w: KB-JWT issued at %s, in the future", ErrKeyBinding, ErrNotYetValid, kb.IssuedAt.Format(time.RFC3339))
	case kb.IssuedAt.Before(now.Add(-maxAge - opts.Skew)):
		return nil, fmt.Errorf("%w: %w: KB-JWT issued at %s, more than %s ago", ErrKeyBinding, ErrExpired, kb.IssuedAt.Format(time.RFC3339), maxAge)
	case kb.Audience != opts.Audience:
		return nil, fmt.Errorf("%w: %w: KB-JWT aud %q; want %q", ErrKeyBinding, ErrAudience, kb.Audience, opts.Audience)
	case kb.Nonce != opts.Nonce:
		return nil, fmt.Errorf("%w: the KB-JWT nonce differs from the expected nonce", ErrKeyBinding)
	case sdHash != disclosureDigest(parts.signedPart):
		return nil, fmt.Errorf("%w: the KB-JWT sd_hash does not match the SD-JWT and disclosures presented", ErrKeyBinding)
	}
	return kb, nil
}

// Present returns a presentation of sdjwt, as IssueSDJWT returned it, that
// keeps only the disclosures of the claims in names, followed by a Key
// Binding JWT that holder signs over aud, nonce and the current time.
// With a nil holder, it returns the presentation without a KB-JWT.
//
// holder must be an ECDSA P-256 or Ed25519 key whose public half is the
// token's "cnf" key. Present selects object property disclosures by name;
// it drops disclosures of array elements. It does not verify the issuer's
// signature: the holder does that with VerifySDJWT.
func Present(sdjwt string, names []string, holder crypto.Signer, aud, nonce string) (string, error) {
	return present(sdjwt, names, holder, aud, nonce, time.Now())
}

func present(sdjwt string, names []string, holder crypto.Signer, aud, nonce string, now time.Time) (string, error) {
	parts, err := splitPresentation(sdjwt)
	if err != nil {
		return "", err
	}
	if parts.keyBinding != "" {
		return "", errors.New("the SD-JWT already ends with a KB-JWT: present the SD-JWT as issued")
	}

	// Step 1: keep the disclosures of the chosen claims.
	wanted := make(map[string]bool, len(names))
	for _, name := range names {
		wanted[name] = true
	}
	var signed strings.Builder
	signed.WriteString(parts.issuerJWT)
	signed.WriteByte('~')
	for n, encoded := range parts.disclosures {
		d, err := decodeDisclosure(n, encoded)
		if err != nil {
			return "", err
		}
		if d.isArray || !wanted[d.name] {
			continue
		}
		delete(wanted, d.name)
		signed.WriteString(encoded)
		signed.WriteByte('~')
	}
	for _, name := range names {
		if wanted[name] {
			return "", fmt.Errorf("claim %q has no disclosure in the SD-JWT", name)
		}
	}
	if holder == nil {
		return signed.String(), nil
	}

	// Step 2: sign the KB-JWT over the kept part.
	if aud == "" || nonce == "" {
		return "", errors.New("a KB-JWT needs a non-empty aud and nonce")
	}
	if err := checkHolderMatchesConfirmation(parts.issuerJWT, holder); err != nil {
		return "", err
	}
	kb, err := signKeyBinding(holder, map[string]any{
		claimIssuedAt: now.Unix(),
		claimAudience: aud,
		claimNonce:    nonce,
		claimSDHash:   disclosureDigest(signed.String()),
	})
	if err != nil {
		return "", err
	}
	return signed.String() + kb, nil
}

// checkHolderMatchesConfirmation compares the RFC 7638 thumbprints of
// holder's public key and of the "cnf" key in the issuer-signed JWT.
func checkHolderMatchesConfirmation(issuerJWT string, holder crypto.Signer) error {
	segments, err := splitCompact(issuerJWT)
	if err != nil {
		return err
	}
	payload, err := decodeSegment(segments[1])
	if err != nil {
		return fmt.Errorf("%w: payload segment: %v", ErrMalformed, err)
	}
	members, err := decodeObject(payload)
	if err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	raw, ok := members[claimConfirmation]
	if !ok {
		return errors.New(`the SD-JWT has no "cnf" key, so it cannot carry a KB-JWT: issue it with SDJWTOptions.HolderKey`)
	}
	confirmation, err := parseConfirmation(raw)
	if err != nil {
		return err
	}

	own, err := jwk.FromRaw(holder.Public())
	if err != nil {
		return fmt.Errorf("failed to convert the holder's public key to a JWK: %w", err)
	}
	want, err := confirmation.Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("failed to compute the cnf key thumbprint: %w", err)
	}
	got, err := own.Thumbprint(crypto.SHA256)
	if err != nil {
		return fmt.Errorf("failed to compute the holder key thumbprint: %w", err)
	}
	if !bytes.Equal(got, want) {
		return errors.New(`the holder key is not the SD-JWT's "cnf" key`)
	}
	return nil
}

// signKeyBinding returns a KB-JWT with header {alg, typ: "kb+jwt"} and the
// given payload, signed by holder.
func signKeyBinding(holder crypto.Signer, payload map[string]any) (string, error) {
	alg, err := signerAlgorithm(holder.Public())
	if err != nil {
		return "", err
	}
	header, err := json.Marshal(map[string]string{"alg": alg, "typ": KeyBindingType})
	if err != nil {
		return "", fmt.Errorf("failed to encode the KB-JWT header: %w", err)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("failed to encode the KB-JWT payload: %w", err)
	}
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(body)

	var signature []byte
	switch alg {
	case jwa.ES256.String():
		digest := sha256.Sum256([]byte(input))
		der, err := holder.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return "", fmt.Errorf("failed to sign the KB-JWT: %w", err)
		}
		if signature, err = rawECDSASignature(der); err != nil {
			return "", err
		}
	default: // EdDSA signs the message itself, with no prehash.
		if signature, err = holder.Sign(rand.Reader, []byte(input), crypto.Hash(0)); err != nil {
			return "", fmt.Errorf("failed to sign the KB-JWT: %w", err)
		}
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(signature), nil
}

// signerAlgorithm returns the JWS algorithm of a holder's public key.
func signerAlgorithm(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return jwa.ES256.String(), nil
		}
		return "", fmt.Errorf("holder ECDSA key is on %s; want P-256", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return jwa.EdDSA.String(), nil
	}
	return "", fmt.Errorf("holder key is a %T; want ECDSA P-256 or Ed25519", pub)
}

// rawECDSASignature converts the ASN.1 DER signature that crypto.Signer
// returns for ECDSA into the JWS form of RFC 7518 section 3.4: R then S,
// each as 32 big-endian bytes.
func rawECDSASignature(der []byte) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 {
		return nil, errors.New("holder returned an ECDSA signature that is not ASN.1 DER")
	}
	if sig.R.Sign() <= 0 || sig.S.Sign() <= 0 || sig.R.BitLen() > 256 || sig.S.BitLen() > 256 {
		return nil, errors.New("holder returned an ECDSA signature outside the P-256 range")
	}
	raw := make([]byte, 64)
	sig.R.FillBytes(raw[:32])
	sig.S.FillBytes(raw[32:])
	return raw, nil
}
