package attest

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Token Status List (IETF OAuth draft-ietf-oauth-status-list): every token
// names one entry of a status list, and the issuer publishes the list as a
// signed Status List Token, so a verifier learns of a revocation without
// asking about the single token.
const (
	// StatusListTokenType is the "typ" header of a Status List Token.
	StatusListTokenType = "statuslist+jwt"
	// StatusListMediaType is the Content-Type of a Status List Token response.
	StatusListMediaType = "application/statuslist+jwt"
	// StatusClaim is the payload member of a token that refers to its entry.
	StatusClaim = "status"
)

// Status values of the draft's registry. A list with 1 bit per entry holds
// only StatusValid and StatusInvalid.
const (
	StatusValid     byte = 0x00
	StatusInvalid   byte = 0x01 // revoked for good
	StatusSuspended byte = 0x02
)

// maxStatusListBytes bounds the decompressed bit array a verifier accepts:
// 2^20 entries of 8 bits are 1 MiB, so 8 MiB stops a decompression bomb
// without rejecting any list this service or a similar issuer would publish.
const maxStatusListBytes = 8 << 20

// StatusReference is the content of a token's status claim:
// {"status": {"status_list": {"idx": 7, "uri": "https://.../statuslists/1"}}}.
type StatusReference struct {
	// Index is the token's entry in the list, counted from 0.
	Index uint64 `json:"idx"`
	// URI is the address of the Status List Token, which is also its "sub".
	URI string `json:"uri"`
}

// statusClaimValue is the JSON form of the status claim.
type statusClaimValue struct {
	StatusList StatusReference `json:"status_list"`
}

// checkStatusReference checks that ref can be put into a token.
func checkStatusReference(ref StatusReference) error {
	u, err := url.Parse(ref.URI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("status list URI %q is not an absolute http or https URL", ref.URI)
	}
	return nil
}

// StatusList is a bit array of token statuses with Bits bits per entry.
// Entry i starts at bit (i*Bits) mod 8 of byte (i*Bits)/8, counting from the
// least significant bit, as the draft lays the list out: the least
// significant bit of byte 0 is the status of index 0 in a 1-bit list.
type StatusList struct {
	bits int
	data []byte
}

// NewStatusList returns a list of size entries, all StatusValid, with bits
// bits per entry: 1, 2, 4 or 8.
func NewStatusList(size uint64, bits int) (*StatusList, error) {
	if !validStatusBits(bits) {
		return nil, fmt.Errorf("status list bits %d: want 1, 2, 4 or 8", bits)
	}
	if size == 0 || size > maxStatusListBytes*8/uint64(bits) {
		return nil, fmt.Errorf("status list size %d: want 1 to %d entries of %d bits", size, maxStatusListBytes*8/uint64(bits), bits)
	}
	return &StatusList{bits: bits, data: make([]byte, (size*uint64(bits)+7)/8)}, nil
}

func validStatusBits(bits int) bool {
	return bits == 1 || bits == 2 || bits == 4 || bits == 8
}

// Bits returns the number of bits per entry.
func (l *StatusList) Bits() int { return l.bits }

// Len returns the number of entries. When the entries do not fill the last
// byte, the spare bits count as entries too.
func (l *StatusList) Len() uint64 { return uint64(len(l.data)) * 8 / uint64(l.bits) }

// Get returns the status of entry idx.
func (l *StatusList) Get(idx uint64) (byte, error) {
	if idx >= l.Len() {
		return 0, fmt.Errorf("status list index %d is outside the list of %d entries", idx, l.Len())
	}
	bit := idx * uint64(l.bits)
	mask := byte(1<<l.bits - 1)
	return l.data[bit/8] >> (bit % 8) & mask, nil
}

// Set stores status at entry idx. The status must fit in Bits bits.
func (l *StatusList) Set(idx uint64, status byte) error {
	if idx >= l.Len() {
		return fmt.Errorf("status list index %d is outside the list of %d entries", idx, l.Len())
	}
	mask := byte(1<<l.bits - 1)
	if status&^mask != 0 {
		return fmt.Errorf("status 0x%02x does not fit in %d bits", status, l.bits)
	}
	bit := idx * uint64(l.bits)
	shift := bit % 8
	l.data[bit/8] = l.data[bit/8]&^(mask<<shift) | status<<shift
	return nil
}

// Encode returns the "lst" member: the bit array compressed with DEFLATE
// in the ZLIB format (RFC 1950, RFC 1951), then base64url without padding.
func (l *StatusList) Encode() (string, error) {
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		return "", fmt.Errorf("failed to start compressing the status list: %w", err)
	}
	if _, err := w.Write(l.data); err != nil {
		return "", fmt.Errorf("failed to compress the status list: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("failed to compress the status list: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(buf.Bytes()), nil
}

// DecodeStatusList reverses Encode for a list of bits bits per entry. It
// rejects a list over 8 MiB once decompressed.
func DecodeStatusList(lst string, bits int) (*StatusList, error) {
	if !validStatusBits(bits) {
		return nil, fmt.Errorf("status_list.bits %d: want 1, 2, 4 or 8", bits)
	}
	compressed, err := base64.RawURLEncoding.DecodeString(lst)
	if err != nil || len(compressed) == 0 {
		return nil, errors.New("status_list.lst is not non-empty unpadded base64url")
	}
	r, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("status_list.lst is not ZLIB data: %w", err)
	}
	defer r.Close()

	data, err := io.ReadAll(io.LimitReader(r, maxStatusListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("status_list.lst does not decompress: %w", err)
	}
	switch {
	case len(data) > maxStatusListBytes:
		return nil, fmt.Errorf("status_list.lst decompresses to over %d bytes", maxStatusListBytes)
	case len(data) == 0:
		return nil, errors.New("status_list.lst decompresses to no bytes")
	}
	return &StatusList{bits: bits, data: data}, nil
}

// statusListPayload is the payload of a Status List Token.
type statusListPayload struct {
	Subject    string         `json:"sub"`
	IssuedAt   int64          `json:"iat"`
	ExpiresAt  int64          `json:"exp"`
	TTL        int64          `json:"ttl,omitempty"` // seconds a verifier may cache the token
	StatusList statusListBody `json:"status_list"`
}

type statusListBody struct {
	Bits int    `json:"bits"`
	List string `json:"lst"`
}

// IssueStatusList signs a Status List Token for list, published at uri. Its
// header is {alg, kid, typ: "statuslist+jwt"}; its payload has sub (uri),
// iat, exp (iat plus lifetime), ttl (seconds, left out when 0) and
// status_list {bits, lst}.
func (i *Issuer) IssueStatusList(uri string, list *StatusList, lifetime, ttl time.Duration) (string, error) {
	switch {
	case i.Keys == nil:
		return "", errors.New("issuer has no keys")
	case list == nil:
		return "", errors.New("no status list to sign")
	case lifetime < time.Second:
		return "", fmt.Errorf("status list token lifetime %s is under one second", lifetime)
	case ttl < 0:
		return "", fmt.Errorf("status list ttl %s is negative", ttl)
	}
	if err := checkStatusReference(StatusReference{URI: uri}); err != nil {
		return "", err
	}

	lst, err := list.Encode()
	if err != nil {
		return "", err
	}
	now := time.Now
	if i.Now != nil {
		now = i.Now
	}
	issuedAt := now().Unix()
	payload, err := json.Marshal(statusListPayload{
		Subject:    uri,
		IssuedAt:   issuedAt,
		ExpiresAt:  issuedAt + int64(lifetime/time.Second),
		TTL:        int64(ttl / time.Second),
		StatusList: statusListBody{Bits: list.bits, List: lst},
	})
	if err != nil {
		return "", fmt.Errorf("failed to encode the status list token payload: %w", err)
	}
	return i.signTyped(payload, StatusListTokenType)
}

// signTyped returns the compact JWS of payload, signed by the current
// signing key with the protected header {alg, kid, typ}.
// NOTE: this repeats Issuer.sign with another "typ"; change both together.
func (i *Issuer) signTyped(payload []byte, typ string) (string, error) {
	key := i.Keys.signingKey()
	alg := jwa.SignatureAlgorithm(key.Algorithm().String())

	headers := jws.NewHeaders()
	if err := headers.Set(jws.KeyIDKey, key.KeyID()); err != nil {
		return "", fmt.Errorf("failed to set the kid header: %w", err)
	}
	if err := headers.Set(jws.TypeKey, typ); err != nil {
		return "", fmt.Errorf("failed to set the typ header: %w", err)
	}

	signed, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(headers)))
	if err != nil {
		return "", fmt.Errorf("failed to sign the %s with kid %q: %w", typ, key.KeyID(), err)
	}
	return string(signed), nil
}
