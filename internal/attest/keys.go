// Package attest issues and verifies the signed tokens that carry a
// customer's derived claims to a client. A token is a JWT (RFC 7519) in
// compact JWS form (RFC 7515). The package also manages the signing keys,
// their public JWK set and the pairwise subject.
package attest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Signing algorithms (RFC 7518 section 3.1, RFC 8037 section 3.1) of the keys
// the service generates and accepts.
const (
	AlgES256 = "ES256" // ECDSA on P-256 with SHA-256
	AlgEdDSA = "EdDSA" // Ed25519
)

// Files in the key directory. Each signing key is a private JWK in its own
// file ending in keyFileSuffix; files of other names are ignored.
const (
	keyFileSuffix    = ".jwk"
	pairwiseFileName = "pairwise.key"
	tempFilePrefix   = ".tmp-"
	// keyTimeLayout is the UTC creation time that starts a generated key
	// file's name. Its fixed width makes name order equal time order.
	keyTimeLayout = "20060102T150405Z"

	pairwiseSecretSize = 32       // bytes of the HMAC-SHA256 key of Subject
	maxKeyFileSize     = 64 << 10 // bytes; a private P-256 JWK is about 250
)

// KeySet is the service's signing keys and its pairwise-subject secret. It
// is safe for concurrent use: Rotate, Prune and Reload swap the keys while
// other goroutines sign.
//
// The key directory contains one private JWK per file. The file whose name
// sorts last signs new tokens; the others stay in the public JWK set so
// tokens they signed still verify. Generated files are named
// "<UTC time>-<kid>.jwk", so name order is creation order.
type KeySet struct {
	dir      string
	pairwise []byte // never changes after loading

	// changeMu serialises Rotate, Prune and Reload, which read the key
	// directory and then install what they read. Signing does not wait
	// for it.
	changeMu sync.Mutex

	mu   sync.RWMutex
	keys []keyFile // in file-name order; the last one signs
	jwks []byte    // PublicJWKS document of keys
}

// keyFile is one private signing key and the file it was loaded from.
type keyFile struct {
	name    string    // file name inside its directory
	created time.Time // UTC, from the name; zero when the name has no time
	key     jwk.Key
}

// LoadOrCreateKeys loads the signing keys and the pairwise-subject secret
// from dir, creating dir (mode 0700), an ES256 key and the secret when they
// are absent. It returns an error for a directory or file that group or
// other users can access, a malformed key, a key without "kid" or "alg", an
// algorithm other than ES256 or EdDSA, or two files with the same kid.
func LoadOrCreateKeys(dir string) (*KeySet, error) {
	return LoadOrCreateKeysAlg(dir, AlgES256)
}

// LoadOrCreateKeysAlg is LoadOrCreateKeys with the algorithm, ES256 or
// EdDSA, of the key it creates when dir has none. Existing keys keep their
// own algorithm; Rotate changes the algorithm of the signing key.
func LoadOrCreateKeysAlg(dir, alg string) (*KeySet, error) {
	if err := CheckSigningAlgorithm(alg); err != nil {
		return nil, err
	}
	if err := ensurePrivateDir(dir); err != nil {
		return nil, err
	}

	files, err := loadKeys(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		file, err := createKey(dir, time.Now(), alg)
		if err != nil {
			return nil, err
		}
		files = append(files, file)
	}

	secret, err := loadOrCreatePairwiseSecret(dir)
	if err != nil {
		return nil, err
	}
	k := &KeySet{dir: dir, pairwise: secret}
	if err := k.install(files); err != nil {
		return nil, err
	}
	return k, nil
}

// CheckSigningAlgorithm returns an error unless alg is one the service
// signs with: ES256 or EdDSA, spelled as in a JWS "alg" header.
func CheckSigningAlgorithm(alg string) error {
	if alg != AlgES256 && alg != AlgEdDSA {
		return fmt.Errorf("signing algorithm %q is not supported; want %q or %q", alg, AlgES256, AlgEdDSA)
	}
	return nil
}

// install makes files the key set, in name order with the signing key
// last, and precomputes the JWK set document served to verifiers.
func (k *KeySet) install(files []keyFile) error {
	if len(files) == 0 {
		return fmt.Errorf("key directory %s has no signing key", k.dir)
	}
	set, err := buildPublicSet(files)
	if err != nil {
		return err
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("failed to encode the JWK set: %w", err)
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = files
	k.jwks = doc
	return nil
}

// snapshot returns the current keys. The slice is never changed in place,
// so the caller may read it without holding the lock.
func (k *KeySet) snapshot() []keyFile {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys
}

// SigningKeyID returns the kid of the key that signs new tokens.
func (k *KeySet) SigningKeyID() string {
	return k.signingKey().KeyID()
}

// signingKey returns the key that signs new tokens. A rotation after the
// call does not change the returned key, so a token is signed by one key
// from start to end.
func (k *KeySet) signingKey() jwk.Key {
	files := k.snapshot()
	return files[len(files)-1].key
}

// PublicSet returns the public halves of all keys, each with kid, alg and
// use, for verifying tokens in process. The caller may change the set.
func (k *KeySet) PublicSet() (jwk.Set, error) {
	return buildPublicSet(k.snapshot())
}

func buildPublicSet(files []keyFile) (jwk.Set, error) {
	set := jwk.NewSet()
	for _, file := range files {
		key := file.key
		pub, err := key.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("failed to derive public key of kid %q: %w", key.KeyID(), err)
		}

		// The JWK set a verifier fetches must pin each key's algorithm, so
		// these three members are set even if the public copy lost them.
		for name, value := range map[string]any{
			jwk.KeyIDKey:     key.KeyID(),
			jwk.AlgorithmKey: key.Algorithm(),
			jwk.KeyUsageKey:  jwk.ForSignature,
		} {
			if err := pub.Set(name, value); err != nil {
				return nil, fmt.Errorf("failed to set %q of kid %q: %w", name, key.KeyID(), err)
			}
		}
		if err := set.AddKey(pub); err != nil {
			return nil, fmt.Errorf("failed to add kid %q to the JWK set: %w", key.KeyID(), err)
		}
	}
	return set, nil
}

// PublicJWKS returns the JWK set document (RFC 7517 section 5) of the public
// keys, as served at /.well-known/jwks.json. It contains no private member.
// The document is built when the keys are loaded, so the error is always
// nil; the caller may change the returned bytes.
func (k *KeySet) PublicJWKS() ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return bytes.Clone(k.jwks), nil
}

// Subject returns the pairwise subject of a customer as seen by one client:
// base64url(HMAC-SHA256(secret, customerID || 0x00 || clientID)). The same
// customer gets a different, unlinkable subject at each client, and the same
// one at a client across restarts while pairwise.key is kept.
func (k *KeySet) Subject(customerID, clientID string) string {
	mac := hmac.New(sha256.New, k.pairwise)
	mac.Write([]byte(customerID))
	mac.Write([]byte{0})
	mac.Write([]byte(clientID))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// ensurePrivateDir creates dir with mode 0700, or checks that an existing
// dir is a directory that only its owner can access.
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("failed to create key directory %s: %w", dir, err)
	}
	return checkPrivateDir(dir)
}

// checkPrivateDir checks that dir is a directory that only its owner can
// access. The error matches fs.ErrNotExist when dir does not exist.
func checkPrivateDir(dir string) error {
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("failed to read key directory %s: %w", dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("key directory %s is not a directory", dir)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("key directory %s has mode %04o, so other users can reach the keys; want 0700 (chmod 700 %s)", dir, perm, dir)
	}
	return nil
}

// readPrivateFile reads a file of at most limit bytes that only its owner
// can read or write. The mode is checked on the open file, so a file swapped
// in between the check and the read is still checked.
func readPrivateFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("failed to stat %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %04o, so other users can read or change it; want 0600 (chmod 600 %s)", path, perm, path)
	}
	if info.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes; the limit is %d", path, info.Size(), limit)
	}

	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes", path, limit)
	}
	return data, nil
}

// writeNewFile writes data to dir/name with mode 0600 unless that file
// exists, in which case it returns an error matching fs.ErrExist. The data is
// written to a temporary file and synced first, so a crash never leaves a
// partial file under the final name. os.Link publishes it instead of
// os.Rename because a link never replaces an existing file: two processes
// starting on an empty directory cannot overwrite each other's secret.
func writeNewFile(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, tempFilePrefix+"*")
	if err != nil {
		return fmt.Errorf("failed to create a temporary file in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())

	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("failed to set mode of %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("failed to write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("failed to sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("failed to close %s: %w", tmp.Name(), err)
	}

	path := filepath.Join(dir, name)
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("failed to publish %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir flushes dir's entries, so a new file survives a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("failed to open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("failed to sync %s: %w", dir, err)
	}
	return nil
}

// loadKeys reads every key file of dir in name order.
func loadKeys(dir string) ([]keyFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("failed to list key directory %s: %w", dir, err)
	}

	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), keyFileSuffix) && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)

	var files []keyFile
	fileOfKid := map[string]string{}
	for _, name := range names {
		path := filepath.Join(dir, name)
		key, err := loadKeyFile(path)
		if err != nil {
			return nil, err
		}
		if other, dup := fileOfKid[key.KeyID()]; dup {
			return nil, fmt.Errorf("key files %s and %s have the same kid %q; remove one", other, path, key.KeyID())
		}
		fileOfKid[key.KeyID()] = path
		files = append(files, keyFile{name: name, created: keyFileTime(name), key: key})
	}
	return files, nil
}

// keyFileName returns the name of a generated key file: its creation time
// in UTC to the second, then the kid.
func keyFileName(created time.Time, kid string) string {
	return created.UTC().Format(keyTimeLayout) + "-" + kid + keyFileSuffix
}

// keyFileTime returns the creation time that starts a generated key file's
// name, or the zero time for a name of another form, such as a key file an
// operator added by hand.
func keyFileTime(name string) time.Time {
	prefix, _, ok := strings.Cut(name, "-")
	if !ok {
		return time.Time{}
	}
	created, err := time.Parse(keyTimeLayout, prefix)
	if err != nil {
		return time.Time{}
	}
	return created
}

// loadKeyFile reads and checks one private signing key.
func loadKeyFile(path string) (jwk.Key, error) {
	data, err := readPrivateFile(path, maxKeyFileSize)
	if err != nil {
		return nil, fmt.Errorf("failed to load key: %w", err)
	}
	key, err := jwk.ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s is not a valid JWK: %w", path, err)
	}
	if err := checkSigningKey(key); err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

// checkSigningKey checks that key is a complete private key the service can
// sign with: kid and alg present, alg ES256 (P-256) or EdDSA (Ed25519),
// "use" absent or "sig", and a public part that matches the private one.
func checkSigningKey(key jwk.Key) error {
	if key.KeyID() == "" {
		return errors.New(`missing "kid"`)
	}
	if use := key.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return fmt.Errorf(`"use" is %q; want "sig"`, use)
	}

	switch alg := key.Algorithm().String(); alg {
	case "":
		return errors.New(`missing "alg"; want "ES256" or "EdDSA"`)
	case jwa.ES256.String():
		return checkP256PrivateKey(key)
	case jwa.EdDSA.String():
		return checkEd25519PrivateKey(key)
	default:
		return fmt.Errorf(`"alg" is %q; want "ES256" or "EdDSA"`, alg)
	}
}

func checkP256PrivateKey(key jwk.Key) error {
	ecKey, ok := key.(jwk.ECDSAPrivateKey)
	if !ok {
		return fmt.Errorf(`alg ES256 needs a private EC key (with "d"); got kty %q`, key.KeyType())
	}
	if ecKey.Crv() != jwa.P256 {
		return fmt.Errorf(`alg ES256 needs "crv" P-256; got %q`, ecKey.Crv())
	}
	if err := key.Validate(); err != nil {
		return err
	}

	var priv ecdsa.PrivateKey
	if err := key.Raw(&priv); err != nil {
		return fmt.Errorf("failed to decode the EC key: %w", err)
	}

	// A JWK states "x" and "y" beside "d"; a pair that does not match "d"
	// would sign tokens that the published public key cannot verify.
	given, err := priv.PublicKey.ECDH()
	if err != nil {
		return fmt.Errorf(`"x" and "y" are not a point on P-256: %w`, err)
	}
	derived, err := priv.ECDH()
	if err != nil {
		return fmt.Errorf(`"d" is not a valid P-256 scalar: %w`, err)
	}
	if !given.Equal(derived.PublicKey()) {
		return errors.New(`"x" and "y" do not match "d"`)
	}
	return nil
}

func checkEd25519PrivateKey(key jwk.Key) error {
	okpKey, ok := key.(jwk.OKPPrivateKey)
	if !ok {
		return fmt.Errorf(`alg EdDSA needs a private OKP key (with "d"); got kty %q`, key.KeyType())
	}
	if okpKey.Crv() != jwa.Ed25519 {
		return fmt.Errorf(`alg EdDSA needs "crv" Ed25519; got %q`, okpKey.Crv())
	}
	if len(okpKey.D()) != ed25519.SeedSize {
		return fmt.Errorf(`"d" is %d bytes; want %d`, len(okpKey.D()), ed25519.SeedSize)
	}

	// RFC 8037 section 2: "d" is the seed and "x" the public key it derives.
	derived := ed25519.NewKeyFromSeed(okpKey.D()).Public().(ed25519.PublicKey)
	if !bytes.Equal(derived, okpKey.X()) {
		return errors.New(`"x" does not match "d"`)
	}
	return nil
}

// createKey generates a signing key of alg (ES256 or EdDSA) whose kid is its
// RFC 7638 thumbprint (SHA-256, base64url) and stores it in dir under a name
// starting with created.
func createKey(dir string, created time.Time, alg string) (keyFile, error) {
	key, err := generateKey(alg)
	if err != nil {
		return keyFile{}, err
	}
	file := keyFile{
		name:    keyFileName(created, key.KeyID()),
		created: created.UTC().Truncate(time.Second),
		key:     key,
	}
	if err := storeKey(dir, file); err != nil {
		return keyFile{}, err
	}
	return file, nil
}

// generateKey returns a new private JWK for alg with kid, alg and use set.
func generateKey(alg string) (jwk.Key, error) {
	var raw any
	switch alg {
	case AlgES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("failed to generate a P-256 key: %w", err)
		}
		raw = priv
	case AlgEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("failed to generate an Ed25519 key: %w", err)
		}
		raw = priv
	default:
		return nil, CheckSigningAlgorithm(alg)
	}

	key, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("failed to convert the %s key to a JWK: %w", alg, err)
	}
	kid, err := thumbprintKeyID(key)
	if err != nil {
		return nil, err
	}
	for name, value := range map[string]any{
		jwk.KeyIDKey:     kid,
		jwk.AlgorithmKey: jwa.SignatureAlgorithm(alg),
		jwk.KeyUsageKey:  jwk.ForSignature,
	} {
		if err := key.Set(name, value); err != nil {
			return nil, fmt.Errorf("failed to set %q of the new key: %w", name, err)
		}
	}
	return key, nil
}

// storeKey writes file's private JWK to dir with mode 0600. It never
// replaces an existing file.
func storeKey(dir string, file keyFile) error {
	data, err := json.Marshal(file.key)
	if err != nil {
		return fmt.Errorf("failed to encode the new key: %w", err)
	}
	if err := writeNewFile(dir, file.name, data); err != nil {
		return fmt.Errorf("failed to store the new key: %w", err)
	}
	return nil
}

// thumbprintKeyID returns the RFC 7638 SHA-256 thumbprint of key's public
// part, base64url-encoded without padding.
func thumbprintKeyID(key jwk.Key) (string, error) {
	pub, err := key.PublicKey()
	if err != nil {
		return "", fmt.Errorf("failed to derive the public key: %w", err)
	}
	sum, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("failed to compute the JWK thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// loadOrCreatePairwiseSecret reads dir/pairwise.key, or creates it with 32
// random bytes when it does not exist. Losing or replacing this file changes
// every subject the service has issued.
func loadOrCreatePairwiseSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, pairwiseFileName)
	secret, err := readPairwiseSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return secret, err
	}

	secret = make([]byte, pairwiseSecretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("failed to generate the pairwise secret: %w", err)
	}
	err = writeNewFile(dir, pairwiseFileName, secret)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first; every process must use its secret.
		return readPairwiseSecret(path)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to store the pairwise secret: %w", err)
	}
	return secret, nil
}

func readPairwiseSecret(path string) ([]byte, error) {
	secret, err := readPrivateFile(path, pairwiseSecretSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("failed to load the pairwise secret: %w", err)
	}
	if len(secret) != pairwiseSecretSize {
		return nil, fmt.Errorf("%s is %d bytes; want %d random bytes", path, len(secret), pairwiseSecretSize)
	}
	return secret, nil
}
