package attest

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

const testListURI = testIssuer + "/statuslists/1"

// readBitIndependently decodes lst with the standard library alone and reads
// entry idx of a 1-bit list, the least significant bit of byte 0 being
// index 0. It shares no code with StatusList.
func readBitIndependently(t *testing.T, lst string, idx uint64) byte {
	t.Helper()
	compressed, err := base64.RawURLEncoding.DecodeString(lst)
	if err != nil {
		t.Fatalf("lst is not base64url: %v", err)
	}
	r, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		t.Fatalf("lst is not ZLIB data: %v", err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("lst does not decompress: %v", err)
	}
	if idx/8 >= uint64(len(raw)) {
		t.Fatalf("index %d is past the %d decompressed bytes", idx, len(raw))
	}
	return (raw[idx/8] >> (idx % 8)) & 1
}

func TestStatusList_roundTrip(t *testing.T) {
	const size = 1 << 20
	tests := []struct {
		name string
		idx  uint64
	}{
		{"first", 0},
		{"last of byte 0", 7},
		{"first of byte 1", 8},
		{"middle", 123456},
		{"last", size - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := NewStatusList(size, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := list.Set(tt.idx, StatusInvalid); err != nil {
				t.Fatalf("Set(%d): %v", tt.idx, err)
			}
			lst, err := list.Encode()
			if err != nil {
				t.Fatal(err)
			}

			decoded, err := DecodeStatusList(lst, 1)
			if err != nil {
				t.Fatalf("DecodeStatusList: %v", err)
			}
			if decoded.Len() != size {
				t.Errorf("decoded Len() = %d; want %d", decoded.Len(), size)
			}
			for _, probe := range []uint64{0, 7, 8, 123456, size - 1} {
				got, err := decoded.Get(probe)
				if err != nil {
					t.Fatalf("Get(%d): %v", probe, err)
				}
				want := StatusValid
				if probe == tt.idx {
					want = StatusInvalid
				}
				if got != want {
					t.Errorf("decoded Get(%d) = %d; want %d", probe, got, want)
				}
				if independent := readBitIndependently(t, lst, probe); independent != want {
					t.Errorf("independent decoder reads %d at index %d; want %d", independent, probe, want)
				}
			}
		})
	}
}

func TestStatusList_setFlipsOneBit(t *testing.T) {
	list, err := NewStatusList(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := bytes.Clone(list.data)
	if err := list.Set(13, StatusInvalid); err != nil {
		t.Fatal(err)
	}

	changed := 0
	for i := range list.data {
		diff := before[i] ^ list.data[i]
		for ; diff != 0; diff &= diff - 1 {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("Set changed %d bits; want 1", changed)
	}
	if list.data[1] != 1<<5 {
		t.Errorf("byte 1 = %08b; want bit 5 set (index 13)", list.data[1])
	}

	// Setting the same entry again changes nothing.
	again := bytes.Clone(list.data)
	if err := list.Set(13, StatusInvalid); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, list.data) {
		t.Error("setting an INVALID entry again changed the list")
	}
}

func TestStatusList_twoBitEntries(t *testing.T) {
	list, err := NewStatusList(8, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := list.Set(1, StatusSuspended); err != nil {
		t.Fatal(err)
	}
	if err := list.Set(4, StatusInvalid); err != nil {
		t.Fatal(err)
	}
	// Index 1 occupies bits 2-3 of byte 0; index 4 bits 0-1 of byte 1.
	if want := []byte{0b0000_1000, 0b0000_0001}; !bytes.Equal(list.data, want) {
		t.Errorf("data = %08b; want %08b", list.data, want)
	}
	if got, _ := list.Get(1); got != StatusSuspended {
		t.Errorf("Get(1) = %d; want SUSPENDED", got)
	}
	if err := list.Set(0, 0x04); err == nil {
		t.Error("Set accepted a status that needs 3 bits in a 2-bit list")
	}
}

func TestStatusList_rejectsBadInput(t *testing.T) {
	list, err := NewStatusList(16, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := list.Set(16, StatusInvalid); err == nil {
		t.Error("Set(16) on a 16-entry list succeeded")
	}
	if _, err := NewStatusList(16, 3); err == nil {
		t.Error("NewStatusList accepted 3 bits per entry")
	}
	if _, err := NewStatusList(0, 1); err == nil {
		t.Error("NewStatusList accepted size 0")
	}

	// A ZLIB stream that inflates past 8 MiB is rejected, not read whole.
	var bomb bytes.Buffer
	w := zlib.NewWriter(&bomb)
	if _, err := w.Write(make([]byte, maxStatusListBytes+1)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	for name, lst := range map[string]string{
		"bomb":        base64.RawURLEncoding.EncodeToString(bomb.Bytes()),
		"not zlib":    base64.RawURLEncoding.EncodeToString([]byte("plain bytes")),
		"not base64":  "***",
		"empty":       "",
		"padded":      base64.URLEncoding.EncodeToString([]byte{1}),
		"bits unused": "",
	} {
		bits := 1
		if name == "bits unused" {
			bits, lst = 5, "eNoDAAAAAAE"
		}
		if _, err := DecodeStatusList(lst, bits); err == nil {
			t.Errorf("DecodeStatusList accepted %s", name)
		}
	}
}

func TestIssueWithStatus_claim(t *testing.T) {
	keys, _ := newTestKeys(t)
	issuer := newTestIssuer(keys)
	ref := &StatusReference{Index: 42, URI: testListURI}

	issued, err := issuer.IssueWithStatus(testCustomer, testClient, allClaimResults(t), 10*time.Minute, ref)
	if err != nil {
		t.Fatal(err)
	}
	payload := decodeTokenPart(t, issued.Token, 1)
	want := `{"status_list":{"idx":42,"uri":"https://insights.example/statuslists/1"}}`
	if got := mustJSON(t, payload["status"]); got != want {
		t.Errorf("status claim = %s; want %s", got, want)
	}
	if issued.Status == nil || *issued.Status != *ref {
		t.Errorf("Issued.Status = %+v; want %+v", issued.Status, ref)
	}

	plain, err := issuer.Issue(testCustomer, testClient, allClaimResults(t), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := decodeTokenPart(t, plain.Token, 1)["status"]; ok {
		t.Error("Issue without a status reference wrote a status claim")
	}

	bad := &StatusReference{Index: 1, URI: "/statuslists/1"}
	if _, err := issuer.IssueWithStatus(testCustomer, testClient, allClaimResults(t), time.Minute, bad); err == nil {
		t.Error("IssueWithStatus accepted a relative status list URI")
	}
}

// statusFixture is an issuer, its public keys and a status list with entry 3
// revoked, served by fetch.
type statusFixture struct {
	issuer *Issuer
	public jwk.Set
	list   *StatusList
}

func newStatusFixture(t *testing.T) *statusFixture {
	t.Helper()
	keys, _ := newTestKeys(t)
	public, err := keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	list, err := NewStatusList(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := list.Set(3, StatusInvalid); err != nil {
		t.Fatal(err)
	}
	return &statusFixture{issuer: newTestIssuer(keys), public: public, list: list}
}

// token issues a token whose status entry is idx of testListURI.
func (f *statusFixture) token(t *testing.T, idx uint64) *Verified {
	t.Helper()
	issued, err := f.issuer.IssueWithStatus(testCustomer, testClient, allClaimResults(t), 10*time.Minute,
		&StatusReference{Index: idx, URI: testListURI})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(context.Background(), issued.Token, f.public, VerifyOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *statusFixture) statusListToken(t *testing.T, uri string) string {
	t.Helper()
	token, err := f.issuer.IssueStatusList(uri, f.list, 10*time.Minute, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func TestIssueStatusList_token(t *testing.T) {
	f := newStatusFixture(t)
	token := f.statusListToken(t, testListURI)

	header := decodeTokenPart(t, token, 0)
	if header["typ"] != "statuslist+jwt" || header["alg"] != "ES256" || header["kid"] != f.issuer.Keys.SigningKeyID() {
		t.Errorf("header = %v; want typ statuslist+jwt, alg ES256 and the signing kid", header)
	}
	payload := decodeTokenPart(t, token, 1)
	checks := map[string]any{
		"sub": testListURI,
		"iat": float64(testNow.Unix()),
		"exp": float64(testNow.Add(10 * time.Minute).Unix()),
		"ttl": float64(300),
	}
	for name, want := range checks {
		if payload[name] != want {
			t.Errorf("payload %s = %v; want %v", name, payload[name], want)
		}
	}
	body, _ := payload["status_list"].(map[string]any)
	if body["bits"] != float64(1) {
		t.Errorf("status_list.bits = %v; want 1", body["bits"])
	}
	lst, _ := body["lst"].(string)
	for idx, want := range map[uint64]byte{2: 0, 3: 1, 4: 0} {
		if got := readBitIndependently(t, lst, idx); got != want {
			t.Errorf("bit %d of the signed list = %d; want %d", idx, got, want)
		}
	}
}

func TestCheckStatus(t *testing.T) {
	f := newStatusFixture(t)
	good := f.statusListToken(t, testListURI)
	otherKeys, _ := newTestKeys(t)
	foreign, err := newTestIssuer(otherKeys).IssueStatusList(testListURI, f.list, 10*time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	plainJWT, err := f.issuer.Issue(testCustomer, testClient, allClaimResults(t), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	suspendedList, _ := NewStatusList(16, 2)
	_ = suspendedList.Set(3, StatusSuspended)
	suspended, err := f.issuer.IssueStatusList(testListURI, suspendedList, 10*time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	segments := strings.Split(good, ".")
	forged := segments[0] + "." + b64(`{"sub":"`+testListURI+`","iat":1796378400,"status_list":{"bits":1,"lst":"eNoDAAAAAAE"}}`) + "." + segments[2]

	tests := []struct {
		name   string
		idx    uint64
		served string
		now    time.Time
		want   error
	}{
		{"valid entry", 2, good, testNow, nil},
		{"revoked entry", 3, good, testNow, ErrRevoked},
		{"suspended entry", 3, suspended, testNow, ErrSuspended},
		{"index past the list", 5000, good, testNow, ErrStatusUnavailable},
		{"list signed by an unknown key", 2, foreign, testNow, ErrStatusUnavailable},
		{"ordinary JWT served as a list", 2, plainJWT.Token, testNow, ErrStatusUnavailable},
		{"payload swapped", 2, forged, testNow, ErrStatusUnavailable},
		{"list token expired", 2, good, testNow.Add(11 * time.Minute), ErrStatusUnavailable},
		{"list token from the future", 2, good, testNow.Add(-time.Hour), ErrStatusUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := f.token(t, tt.idx)
			fetch := func(_ context.Context, uri string) ([]byte, error) {
				if uri != testListURI {
					return nil, fmt.Errorf("unexpected uri %q", uri)
				}
				return []byte(tt.served), nil
			}
			err := CheckStatus(context.Background(), v.Claims, fetch, f.public, StatusOptions{Now: func() time.Time { return tt.now }})
			if tt.want == nil && err != nil {
				t.Fatalf("CheckStatus: %v; want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("CheckStatus: %v; want %v", err, tt.want)
			}
		})
	}
}

func TestCheckStatus_subjectMustEqualURI(t *testing.T) {
	f := newStatusFixture(t)
	other := f.statusListToken(t, testIssuer+"/statuslists/2")
	v := f.token(t, 3)
	fetch := func(context.Context, string) ([]byte, error) { return []byte(other), nil }

	err := CheckStatus(context.Background(), v.Claims, fetch, f.public, StatusOptions{Now: func() time.Time { return testNow }})
	if !errors.Is(err, ErrStatusUnavailable) || !strings.Contains(err.Error(), "differs from the status list URI") {
		t.Errorf("CheckStatus with another list's token: %v; want ErrStatusUnavailable naming the sub", err)
	}
}

func TestCheckStatus_badClaims(t *testing.T) {
	f := newStatusFixture(t)
	fetch := func(context.Context, string) ([]byte, error) { return nil, errors.New("must not be called") }
	tests := []struct {
		name   string
		claims map[string]any
		want   error
	}{
		{"no status claim", map[string]any{"iss": testIssuer}, ErrNoStatus},
		{"status not an object", map[string]any{"status": "revoked"}, ErrMalformed},
		{"no status_list", map[string]any{"status": map[string]any{}}, ErrMalformed},
		{"negative idx", map[string]any{"status": map[string]any{"status_list": map[string]any{"idx": -1, "uri": testListURI}}}, ErrMalformed},
		{"fractional idx", map[string]any{"status": map[string]any{"status_list": map[string]any{"idx": 1.5, "uri": testListURI}}}, ErrMalformed},
		{"missing idx", map[string]any{"status": map[string]any{"status_list": map[string]any{"uri": testListURI}}}, ErrMalformed},
		{"relative uri", map[string]any{"status": map[string]any{"status_list": map[string]any{"idx": 1, "uri": "/statuslists/1"}}}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckStatus(context.Background(), tt.claims, fetch, f.public, StatusOptions{})
			if !errors.Is(err, tt.want) {
				t.Errorf("CheckStatus: %v; want %v", err, tt.want)
			}
		})
	}
}

func TestHTTPStatusFetcher(t *testing.T) {
	f := newStatusFixture(t)
	var accept string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accept = r.Header.Get("Accept")
		if r.URL.Path != "/statuslists/1" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", StatusListMediaType)
		_, _ = io.WriteString(w, f.statusListToken(t, "http://"+r.Host+r.URL.Path))
	}))
	defer srv.Close()
	fetch := HTTPStatusFetcher(srv.Client())

	issued, err := f.issuer.IssueWithStatus(testCustomer, testClient, allClaimResults(t), 10*time.Minute,
		&StatusReference{Index: 3, URI: srv.URL + "/statuslists/1"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(context.Background(), issued.Token, f.public, VerifyOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	err = CheckStatus(context.Background(), v.Claims, fetch, f.public, StatusOptions{Now: func() time.Time { return testNow }})
	if !errors.Is(err, ErrRevoked) {
		t.Errorf("CheckStatus over HTTP: %v; want ErrRevoked", err)
	}
	if accept != StatusListMediaType {
		t.Errorf("Accept = %q; want %q", accept, StatusListMediaType)
	}

	if _, err := fetch(context.Background(), srv.URL+"/statuslists/9"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("fetch of a missing list: %v; want an error naming status 404", err)
	}
	if _, err := fetch(context.Background(), "file:///etc/passwd"); err == nil {
		t.Error("fetch accepted a file: URL")
	}
}
