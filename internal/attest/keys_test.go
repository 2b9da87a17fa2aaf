package attest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	newKey, err := createKey(dir, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}

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
	if _, err := createKey(dir, time.Now().Add(time.Hour)); err != nil {
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
