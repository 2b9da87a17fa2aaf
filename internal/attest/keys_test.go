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
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
)

func TestLoadOrCreateKeys_createsKeyAndSecret(t *testing.T) {
	keys, dir := newTestKeys(t)

	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("key directory mode = %04o; want 0700", perm)
	}

	keyFiles, err := filepath.Glob(filepath.Join(dir, "*"+keyFileSuffix))
	if err != nil {
		t.Fatal(err)
	}
	if len(keyFiles) != 1 {
		t.Fatalf("key files = %v; want one", keyFiles)
	}
	for _, path := range append(keyFiles, filepath.Join(dir, pairwiseFileName)) {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode = %04o; want 0600", filepath.Base(path), perm)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, tempFilePrefix+"*")); len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	// The stored JWK is read with encoding/json, not jwx, so the kid is
	// checked against an RFC 7638 thumbprint computed here.
	data, err := os.ReadFile(keyFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]string
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	canonical := `{"crv":"P-256","kty":"EC","x":"` + stored["x"] + `","y":"` + stored["y"] + `"}`
	sum := sha256.Sum256([]byte(canonical))
	wantKid := base64.RawURLEncoding.EncodeToString(sum[:])

	checks := []struct{ name, got, want string }{
		{"kid", stored["kid"], wantKid},
		{"alg", stored["alg"], "ES256"},
		{"use", stored["use"], "sig"},
		{"kty", stored["kty"], "EC"},
		{"crv", stored["crv"], "P-256"},
		{"SigningKeyID", keys.SigningKeyID(), wantKid},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q; want %q", c.name, c.got, c.want)
		}
	}
	if stored["d"] == "" {
		t.Error(`stored key has no "d"`)
	}
	if !strings.Contains(filepath.Base(keyFiles[0]), wantKid) {
		t.Errorf("key file name %s does not contain the kid", filepath.Base(keyFiles[0]))
	}
}

func TestLoadOrCreateKeys_reload(t *testing.T) {
	first, dir := newTestKeys(t)
	second, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}

	if first.SigningKeyID() != second.SigningKeyID() {
		t.Errorf("signing kid changed across reload: %q, then %q", first.SigningKeyID(), second.SigningKeyID())
	}
	if a, b := first.Subject(testCustomer, testClient), second.Subject(testCustomer, testClient); a != b {
		t.Errorf("subject changed across reload: %q, then %q", a, b)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*"+keyFileSuffix)); len(files) != 1 {
		t.Errorf("reload created another key: %v", files)
	}
}

func TestLoadOrCreateKeys_newestKeySigns(t *testing.T) {
	keys, dir := newTestKeys(t)
	oldKid := keys.SigningKeyID()
	newFile, err := createKey(dir, time.Now().Add(time.Hour), AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	newKey := newFile.key

	reloaded, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := reloaded.SigningKeyID(); got != newKey.KeyID() {
		t.Errorf("signing kid = %q; want the newer key %q", got, newKey.KeyID())
	}

	set, err := reloaded.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	for _, kid := range []string{oldKid, newKey.KeyID()} {
		if _, ok := set.LookupKeyID(kid); !ok {
			t.Errorf("public set lacks kid %q", kid)
		}
	}
}

// writeKeyFile stores a JWK given as a map in dir with the given mode.
func writeKeyFile(t *testing.T, dir, name string, jwkMembers map[string]string, mode os.FileMode) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(mustJSON(t, jwkMembers)), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// p256Members returns the JWK members of a fresh P-256 key.
func p256Members(t *testing.T) map[string]string {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := priv.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	point, err := priv.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return map[string]string{
		"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "test-key",
		"x": enc(point[1:33]), "y": enc(point[33:]), "d": enc(raw),
	}
}

func TestLoadOrCreateKeys_rejects(t *testing.T) {
	valid := p256Members(t)
	other := p256Members(t)
	with := func(changes map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range valid {
			m[k] = v
		}
		for k, v := range changes {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}

	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantErr string
	}{
		{"world-readable key", func(t *testing.T, dir string) {
			writeKeyFile(t, dir, "a.jwk", valid, 0o644)
		}, "has mode 0644"},
		{"group-readable key", func(t *testing.T, dir string) {
			writeKeyFile(t, dir, "a.jwk", valid, 0o640)
		}, "has mode 0640"},
		{"malformed key", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "a.jwk"), []byte(`{"kty":`), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a valid JWK"},
		{"missing alg", func(t *testing.T, dir string) {
			writeKeyFile(t, dir, "a.jwk", with(map[string]string{"alg": ""}), 0o600)
		}, `missing "alg"`},
		{"missing kid", func(t *testing.T, dir string) {
			writeKeyFile(t, dir, "a.jwk", with(map[string]string{"kid": ""}), 0o600)
		}, `missing "kid"`},
		{"HMAC alg", func(t *testing.T, dir string) {
			writeKeyFile(t, dir, "a.jwk", with(map[string]string{"alg": "HS256"}), 0o600)
		}, `"alg" is "HS256"`},
		{"encryption use", func(t *testing.T, dir string) {
			writeKeyFile(t, dir, "a.jwk", with(map[string]string{"use": "enc"}), 0o600)
		}, `"use" is "enc"`},
		{"public key only", func(t *testing.T, dir string) {
			writeKeyFile(t, dir, "a.jwk", with(map[string]string{"d": ""}), 0o600)
		}, "private EC key"},
		{"x and y of another key", func(t *testing.T, dir string) {
			writeKeyFile(t, dir, "a.jwk", with(map[string]string{"x": other["x"], "y": other["y"]}), 0o600)
		}, `do not match "d"`},
		{"same kid twice", func(t *testing.T, dir string) {
			writeKeyFile(t, dir, "a.jwk", valid, 0o600)
			writeKeyFile(t, dir, "b.jwk", with(map[string]string{"x": other["x"], "y": other["y"], "d": other["d"]}), 0o600)
		}, `same kid "test-key"`},
		{"world-readable pairwise secret", func(t *testing.T, dir string) {
			writeKeyFile(t, dir, "a.jwk", valid, 0o600)
			path := filepath.Join(dir, pairwiseFileName)
			if err := os.WriteFile(path, make([]byte, 32), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o604); err != nil {
				t.Fatal(err)
			}
		}, "has mode 0604"},
		{"short pairwise secret", func(t *testing.T, dir string) {
			writeKeyFile(t, dir, "a.jwk", valid, 0o600)
			if err := os.WriteFile(filepath.Join(dir, pairwiseFileName), make([]byte, 16), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "is 16 bytes; want 32"},
		{"open directory", func(t *testing.T, dir string) {
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "has mode 0755"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, dir)

			_, err := LoadOrCreateKeys(dir)
			if err == nil {
				t.Fatalf("LoadOrCreateKeys succeeded; want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q; want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), valid["d"]) {
				t.Errorf("error %q contains the private key", err)
			}
		})
	}
}

func TestLoadOrCreateKeys_acceptsEd25519(t *testing.T) {
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
		"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "ed-key",
		"x": enc(pub), "d": enc(priv.Seed()),
	}, 0o600)

	keys, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys.SigningKeyID(); got != "ed-key" {
		t.Errorf("signing kid = %q; want ed-key", got)
	}
}

func TestSubject_pairwise(t *testing.T) {
	keys, dir := newTestKeys(t)
	secret, err := os.ReadFile(filepath.Join(dir, pairwiseFileName))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct{ customer, client string }{
		{testCustomer, "client-a"},
		{testCustomer, "client-b"},
		{"customer-43", "client-a"},
		// Without the NUL separator these two pairs would hash the same input.
		{"ab", "c"},
		{"a", "bc"},
	}
	seen := map[string]int{}
	for i, tt := range tests {
		got := keys.Subject(tt.customer, tt.client)

		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(tt.customer + "\x00" + tt.client))
		want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		if got != want {
			t.Errorf("Subject(%q, %q) = %q; want HMAC %q", tt.customer, tt.client, got, want)
		}
		if j, dup := seen[got]; dup {
			t.Errorf("Subject(%q, %q) equals the subject of case %d", tt.customer, tt.client, j)
		}
		seen[got] = i
	}

	other, _ := newTestKeys(t)
	if keys.Subject(testCustomer, testClient) == other.Subject(testCustomer, testClient) {
		t.Error("two installations with different secrets gave the same subject")
	}
}

func TestPublicJWKS_publicMembersOnly(t *testing.T) {
	_, dir := newTestKeys(t)
	if _, err := createKey(dir, time.Now().Add(time.Hour), AlgES256); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}

	doc, err := keys.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("JWKS is not JSON: %v", err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys; want 2", len(set.Keys))
	}
	allowed := map[string]bool{"kty": true, "crv": true, "x": true, "y": true, "kid": true, "alg": true, "use": true}
	for i, key := range set.Keys {
		for name := range key {
			if !allowed[name] {
				t.Errorf("keys[%d] has member %q; a public EC JWK has only %v", i, name, allowed)
			}
		}
		for _, name := range []string{"kid", "alg", "use"} {
			if key[name] == nil || key[name] == "" {
				t.Errorf("keys[%d] is missing %q", i, name)
			}
		}
		if key["alg"] != "ES256" || key["use"] != "sig" {
			t.Errorf("keys[%d] alg = %v, use = %v; want ES256, sig", i, key["alg"], key["use"])
		}
	}
}

// newKeysAt creates a key directory whose only key, of alg, was created at
// created, and loads it.
func newKeysAt(t *testing.T, alg string, created time.Time) (*KeySet, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := createKey(dir, created, alg); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	return keys, dir
}

// issueAt signs a token at now with the current signing key.
func issueAt(t *testing.T, keys *KeySet, now time.Time, lifetime time.Duration) Issued {
	t.Helper()
	issuer := &Issuer{Keys: keys, Issuer: testIssuer, Now: func() time.Time { return now }}
	issued, err := issuer.Issue(testCustomer, testClient, allClaimResults(t), lifetime)
	if err != nil {
		t.Fatal(err)
	}
	return issued
}

// verifyAt verifies token against the current JWK set of keys at now.
func verifyAt(keys *KeySet, token string, now time.Time) (*Verified, error) {
	set, err := keys.PublicSet()
	if err != nil {
		return nil, err
	}
	return Verify(context.Background(), token, set, VerifyOptions{
		Audience: testClient, Issuer: testIssuer, Now: func() time.Time { return now },
	})
}

// checkKeyModes fails the test unless dir and each directory under it have
// mode 0700 and every file has mode 0600.
func checkKeyModes(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s mode = %04o; want %04o", path, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRotate_newKeySigns(t *testing.T) {
	tests := []struct {
		name, alg, wantAlg, wantKty string
	}{
		{"default", "", "ES256", "EC"},
		{"ES256", AlgES256, "ES256", "EC"},
		{"EdDSA", AlgEdDSA, "EdDSA", "OKP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, dir := newKeysAt(t, AlgES256, testNow)
			oldKid := keys.SigningKeyID()
			oldToken := issueAt(t, keys, testNow, 10*time.Minute).Token

			rotatedAt := testNow.Add(time.Minute)
			kid, err := keys.Rotate(rotatedAt, tt.alg)
			if err != nil {
				t.Fatalf("Rotate: %v", err)
			}
			if kid == oldKid {
				t.Fatalf("Rotate returned the old kid %q", kid)
			}
			if got := keys.SigningKeyID(); got != kid {
				t.Errorf("signing kid = %q; want the new kid %q", got, kid)
			}

			set, err := keys.PublicSet()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{oldKid, kid} {
				if _, ok := set.LookupKeyID(want); !ok {
					t.Errorf("JWK set lacks kid %q", want)
				}
			}
			newKey, _ := set.LookupKeyID(kid)
			if newKey != nil && (newKey.Algorithm().String() != tt.wantAlg || string(newKey.KeyType()) != tt.wantKty) {
				t.Errorf("new key alg = %s, kty = %s; want %s, %s", newKey.Algorithm(), newKey.KeyType(), tt.wantAlg, tt.wantKty)
			}

			v, err := verifyAt(keys, oldToken, rotatedAt)
			if err != nil {
				t.Fatalf("token of the old key no longer verifies: %v", err)
			}
			if v.Header.KeyID != oldKid {
				t.Errorf("old token kid = %q; want %q", v.Header.KeyID, oldKid)
			}

			newToken := issueAt(t, keys, rotatedAt, 10*time.Minute).Token
			v, err = verifyAt(keys, newToken, rotatedAt)
			if err != nil {
				t.Fatalf("token of the new key does not verify: %v", err)
			}
			if v.Header.KeyID != kid || v.Header.Algorithm != tt.wantAlg {
				t.Errorf("new token header = %+v; want kid %q, alg %s", v.Header, kid, tt.wantAlg)
			}

			// A process loading the directory afresh agrees on the signer.
			reloaded, err := LoadOrCreateKeys(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := reloaded.SigningKeyID(); got != kid {
				t.Errorf("after reload, signing kid = %q; want %q", got, kid)
			}
			checkKeyModes(t, dir)
		})
	}
}

func TestRotate_sameSecond(t *testing.T) {
	keys, dir := newKeysAt(t, AlgES256, testNow)

	// The second rotation happens at the same time and the third with a
	// clock that went back an hour; each new key must still sign.
	for i, now := range []time.Time{testNow, testNow, testNow.Add(-time.Hour)} {
		kid, err := keys.Rotate(now, AlgES256)
		if err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		if got := keys.SigningKeyID(); got != kid {
			t.Errorf("rotation %d: signing kid = %q; want %q", i, got, kid)
		}
	}

	infos, err := ListKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 4 {
		t.Fatalf("ListKeys returned %d keys; want 4", len(infos))
	}
	for i := 1; i < len(infos); i++ {
		if want := infos[i-1].Created.Add(time.Second); !infos[i].Created.Equal(want) {
			t.Errorf("key %d created %s; want %s, one second after its predecessor", i, infos[i].Created, want)
		}
	}
}

func TestRotate_rejects(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, dir string)
		alg       string
		wantErr   string
		wantFiles int
	}{
		{"HMAC alg", func(*testing.T, string) {}, "HS256", `signing algorithm "HS256" is not supported`, 1},
		{"RSA alg", func(*testing.T, string) {}, "RS256", `signing algorithm "RS256" is not supported`, 1},
		{"hand-named newest file", func(t *testing.T, dir string) {
			writeKeyFile(t, dir, "zz-manual.jwk", p256Members(t), 0o600)
		}, AlgES256, "rename it", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, dir := newKeysAt(t, AlgES256, testNow)
			tt.setup(t, dir)
			if err := keys.Reload(); err != nil {
				t.Fatal(err)
			}
			before := keys.SigningKeyID()

			_, err := keys.Rotate(testNow.Add(time.Hour), tt.alg)
			if err == nil {
				t.Fatalf("Rotate succeeded; want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q; want it to contain %q", err, tt.wantErr)
			}
			if got := keys.SigningKeyID(); got != before {
				t.Errorf("signing kid changed to %q after a failed rotation", got)
			}
			if files, _ := filepath.Glob(filepath.Join(dir, "*"+keyFileSuffix)); len(files) != tt.wantFiles {
				t.Errorf("key files after a failed rotation = %v; want the %d that were there", files, tt.wantFiles)
			}
		})
	}
}

func TestPrune_afterLifetime(t *testing.T) {
	const lifetime = 10 * time.Minute
	rotatedAt := testNow.Add(30 * 24 * time.Hour)
	expiry := rotatedAt.Add(lifetime + PruneMargin)

	tests := []struct {
		name        string
		now         time.Time
		wantRemoved bool
	}{
		{"just rotated", rotatedAt, false},
		{"last token expiring", rotatedAt.Add(lifetime), false},
		{"within margin", expiry, false},
		{"after lifetime and margin", expiry.Add(time.Second), true},
		{"long after", expiry.Add(365 * 24 * time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, dir := newKeysAt(t, AlgES256, testNow)
			oldKid := keys.SigningKeyID()
			newKid, err := keys.Rotate(rotatedAt, AlgES256)
			if err != nil {
				t.Fatal(err)
			}

			removed, err := keys.Prune(tt.now, lifetime)
			if err != nil {
				t.Fatalf("Prune: %v", err)
			}
			set, err := keys.PublicSet()
			if err != nil {
				t.Fatal(err)
			}
			_, published := set.LookupKeyID(oldKid)
			if _, ok := set.LookupKeyID(newKid); !ok {
				t.Errorf("JWK set lacks the signing kid %q", newKid)
			}

			if !tt.wantRemoved {
				if len(removed) != 0 {
					t.Errorf("Prune removed %v; want nothing", removed)
				}
				if !published {
					t.Errorf("JWK set lacks the old kid %q", oldKid)
				}
				return
			}
			if len(removed) != 1 || removed[0] != oldKid {
				t.Errorf("Prune removed %v; want [%s]", removed, oldKid)
			}
			if published {
				t.Errorf("JWK set still has the pruned kid %q", oldKid)
			}
			doc, err := keys.PublicJWKS()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(doc), oldKid) {
				t.Errorf("JWKS document still names the pruned kid %q", oldKid)
			}
			retired, _ := filepath.Glob(filepath.Join(dir, retiredDirName, "*-"+oldKid+keyFileSuffix))
			if len(retired) != 1 {
				t.Errorf("retired/ holds %v; want the old key file", retired)
			}
			checkKeyModes(t, dir)

			reloaded, err := LoadOrCreateKeys(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := reloaded.SigningKeyID(); got != newKid {
				t.Errorf("after reload, signing kid = %q; want %q", got, newKid)
			}
		})
	}
}

func TestPrune_keepsSigningKey(t *testing.T) {
	keys, dir := newKeysAt(t, AlgEdDSA, testNow)
	kid := keys.SigningKeyID()

	removed, err := keys.Prune(testNow.Add(10*365*24*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 0 {
		t.Errorf("Prune removed %v; the only key signs and must stay", removed)
	}
	if got := keys.SigningKeyID(); got != kid {
		t.Errorf("signing kid = %q; want %q", got, kid)
	}
	if _, err := os.Stat(filepath.Join(dir, retiredDirName)); !os.IsNotExist(err) {
		t.Errorf("retired/ exists after pruning nothing: %v", err)
	}
}

func TestPrune_rejects(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, dir string, retiredName string)
		lifetime time.Duration
		wantErr  string
	}{
		{"negative lifetime", func(*testing.T, string, string) {}, -time.Second, "is negative"},
		{"retired file exists", func(t *testing.T, dir, name string) {
			if err := os.Mkdir(filepath.Join(dir, retiredDirName), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, retiredDirName, name), []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, time.Minute, "already exists"},
		{"open retired folder", func(t *testing.T, dir, _ string) {
			if err := os.Mkdir(filepath.Join(dir, retiredDirName), 0o755); err != nil {
				t.Fatal(err)
			}
		}, time.Minute, "has mode 0755"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, dir := newKeysAt(t, AlgES256, testNow)
			oldKid := keys.SigningKeyID()
			if _, err := keys.Rotate(testNow.Add(time.Hour), AlgES256); err != nil {
				t.Fatal(err)
			}
			oldFiles, _ := filepath.Glob(filepath.Join(dir, "*-"+oldKid+keyFileSuffix))
			if len(oldFiles) != 1 {
				t.Fatalf("old key files = %v; want one", oldFiles)
			}
			tt.setup(t, dir, filepath.Base(oldFiles[0]))

			_, err := keys.Prune(testNow.Add(365*24*time.Hour), tt.lifetime)
			if err == nil {
				t.Fatalf("Prune succeeded; want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q; want it to contain %q", err, tt.wantErr)
			}
			set, err := keys.PublicSet()
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := set.LookupKeyID(oldKid); !ok {
				t.Errorf("JWK set lost kid %q although Prune failed", oldKid)
			}
			if _, err := os.Stat(oldFiles[0]); err != nil {
				t.Errorf("old key file gone although Prune failed: %v", err)
			}
		})
	}
}

func TestListKeys_states(t *testing.T) {
	keys, dir := newKeysAt(t, AlgES256, testNow)
	first := keys.SigningKeyID()
	second, err := keys.Rotate(testNow.Add(24*time.Hour), AlgEdDSA)
	if err != nil {
		t.Fatal(err)
	}
	third, err := keys.Rotate(testNow.Add(48*time.Hour), AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	// The first key stopped signing 48 hours earlier and the second 24
	// hours earlier; with a one-hour lifetime only the first is past
	// lifetime plus PruneMargin.
	if _, err := keys.Prune(testNow.Add(72*time.Hour), time.Hour); err != nil {
		t.Fatal(err)
	}

	infos, err := ListKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []KeyInfo{
		{KeyID: first, Algorithm: "ES256", State: KeyRetired, Created: testNow, StoppedSigning: testNow.Add(24 * time.Hour)},
		{KeyID: second, Algorithm: "EdDSA", State: KeyPublished, Created: testNow.Add(24 * time.Hour), StoppedSigning: testNow.Add(48 * time.Hour)},
		{KeyID: third, Algorithm: "ES256", State: KeySigning, Created: testNow.Add(48 * time.Hour)},
	}
	if len(infos) != len(want) {
		t.Fatalf("ListKeys returned %d keys; want %d: %+v", len(infos), len(want), infos)
	}
	for i, w := range want {
		got := infos[i]
		w.File = keyFileName(w.Created, w.KeyID)
		if w.State == KeyRetired {
			w.File = filepath.Join(retiredDirName, w.File)
		}
		if got != w {
			t.Errorf("key %d = %+v; want %+v", i, got, w)
		}
	}
}

func TestListKeys_missingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	_, err := ListKeys(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ListKeys error = %v; want fs.ErrNotExist", err)
	}
	if _, statErr := os.Stat(dir); !os.IsNotExist(statErr) {
		t.Errorf("ListKeys created %s", dir)
	}
}

func TestLoadOrCreateKeysAlg_EdDSA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	keys, err := LoadOrCreateKeysAlg(dir, AlgEdDSA)
	if err != nil {
		t.Fatal(err)
	}
	checkKeyModes(t, dir)

	keyFiles, err := filepath.Glob(filepath.Join(dir, "*"+keyFileSuffix))
	if err != nil || len(keyFiles) != 1 {
		t.Fatalf("key files = %v (%v); want one", keyFiles, err)
	}
	data, err := os.ReadFile(keyFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	var stored map[string]string
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}

	// RFC 8037 section 2 keeps the seed in "d"; RFC 8037 appendix A.3
	// gives the thumbprint input of an OKP key as crv, kty and x.
	seed, err := base64.RawURLEncoding.DecodeString(stored["d"])
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf(`"d" is not a base64url Ed25519 seed (%d bytes, %v)`, len(seed), err)
	}
	wantX := base64.RawURLEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + stored["x"] + `"}`))
	wantKid := base64.RawURLEncoding.EncodeToString(sum[:])

	checks := []struct{ name, got, want string }{
		{"kty", stored["kty"], "OKP"},
		{"crv", stored["crv"], "Ed25519"},
		{"alg", stored["alg"], "EdDSA"},
		{"use", stored["use"], "sig"},
		{"x", stored["x"], wantX},
		{"kid", stored["kid"], wantKid},
		{"SigningKeyID", keys.SigningKeyID(), wantKid},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q; want %q", c.name, c.got, c.want)
		}
	}

	issued := issueAt(t, keys, testNow, 5*time.Minute)
	if header := decodeTokenPart(t, issued.Token, 0); header["alg"] != "EdDSA" || header["kid"] != wantKid {
		t.Errorf("token header = %v; want alg EdDSA, kid %q", header, wantKid)
	}
	v, err := verifyAt(keys, issued.Token, testNow)
	if err != nil {
		t.Fatalf("EdDSA token does not verify: %v", err)
	}
	if v.Subject != keys.Subject(testCustomer, testClient) || v.JTI != issued.JTI {
		t.Errorf("verified sub, jti = %q, %q; want %q, %q", v.Subject, v.JTI, issued.Subject, issued.JTI)
	}

	doc, err := keys.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), stored["d"]) || strings.Contains(string(doc), `"d"`) {
		t.Error("JWKS document contains the private seed")
	}
}

func TestLoadOrCreateKeysAlg_rejectsAlg(t *testing.T) {
	for _, alg := range []string{"", "ES384", "HS256", "none", "eddsa"} {
		t.Run(alg, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			_, err := LoadOrCreateKeysAlg(dir, alg)
			if err == nil || !strings.Contains(err.Error(), "is not supported") {
				t.Errorf("error = %v; want an unsupported algorithm error", err)
			}
			if _, statErr := os.Stat(dir); !os.IsNotExist(statErr) {
				t.Errorf("a rejected algorithm still created %s", dir)
			}
		})
	}
}

func TestRotate_concurrentIssue(t *testing.T) {
	keys, dir := newKeysAt(t, AlgES256, testNow)
	const (
		signers   = 4
		rotations = 5
	)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	tokens := make(chan string, 10000)
	for range signers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			issuer := &Issuer{Keys: keys, Issuer: testIssuer, Now: func() time.Time { return testNow }}
			results := []insights.ClaimResult{{Request: insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}, Available: true, Holds: true}}
			for {
				select {
				case <-stop:
					return
				default:
				}
				issued, err := issuer.Issue(testCustomer, testClient, results, time.Hour)
				if err != nil {
					t.Errorf("Issue during rotation: %v", err)
					return
				}
				select {
				case tokens <- issued.Token:
				default: // enough tokens collected; keep signing
				}
				if _, err := keys.PublicJWKS(); err != nil {
					t.Errorf("PublicJWKS during rotation: %v", err)
					return
				}
			}
		}()
	}

	kids := map[string]bool{keys.SigningKeyID(): true}
	for i := range rotations {
		alg := AlgES256
		if i%2 == 0 {
			alg = AlgEdDSA
		}
		kid, err := keys.Rotate(testNow.Add(time.Duration(i+1)*time.Minute), alg)
		if err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		kids[kid] = true
		time.Sleep(5 * time.Millisecond) // let the signers use this key
	}
	close(stop)
	wg.Wait()
	close(tokens)

	set, err := keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != rotations+1 {
		t.Errorf("JWK set has %d keys; want %d", set.Len(), rotations+1)
	}
	var n int
	signedBy := map[string]int{}
	for token := range tokens {
		n++
		v, err := Verify(context.Background(), token, set, VerifyOptions{Now: func() time.Time { return testNow }})
		if err != nil {
			t.Fatalf("token %d does not verify: %v", n, err)
		}
		if !kids[v.Header.KeyID] {
			t.Errorf("token %d has kid %q, which no rotation produced", n, v.Header.KeyID)
		}
		signedBy[v.Header.KeyID]++
	}
	if n == 0 {
		t.Fatal("no token was issued during the rotations")
	}
	t.Logf("%d tokens by %d keys", n, len(signedBy))
	checkKeyModes(t, dir)
}
