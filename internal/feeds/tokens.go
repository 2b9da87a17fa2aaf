package feeds

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

const tokenKeySize = 32 // AES-256

// ciphertextPrefix versions the stored token format: base64url of the
// 12-byte GCM nonce followed by the sealed token.
const ciphertextPrefix = "v1."

// LoadTokenKey reads the AES-256 key that encrypts tokens at rest from
// path: 32 bytes, written as standard base64 on one line. When the file is
// missing and create is true it writes a new random key with mode 0600.
// A key file that its group or others may read is rejected.
func LoadTokenKey(path string, create bool) ([]byte, error) {
	if path == "" {
		return nil, errors.New("token key file: path is empty")
	}
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		return createTokenKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("token key file: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("token key file %s has mode %04o, so its group or others may read it: run chmod 600 %s", path, perm, path)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token key file: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != tokenKeySize {
		return nil, fmt.Errorf("token key file %s: want %d bytes in standard base64 on one line", path, tokenKeySize)
	}
	return key, nil
}

func createTokenKey(path string) ([]byte, error) {
	key := make([]byte, tokenKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("token key file: generate key: %w", err)
	}
	// O_EXCL: a key written meanwhile by another process is never
	// overwritten, which would make every stored token unreadable.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("token key file: create: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("token key file: write %s: %w", path, err)
	}
	return key, nil
}

// sealToken encrypts a token with AES-256-GCM under a fresh random nonce.
// The consent ID and the field name are the additional data, so a
// ciphertext copied to another row or field does not decrypt. An empty
// token stays empty.
func sealToken(key []byte, consentID, field, token string) (string, error) {
	if token == "" {
		return "", nil
	}
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("encrypt token: nonce: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, []byte(token), additionalData(consentID, field))
	return ciphertextPrefix + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// openToken decrypts what sealToken returned.
func openToken(key []byte, consentID, field, ciphertext string) (string, error) {
	if ciphertext == "" {
		return "", nil
	}
	encoded, ok := strings.CutPrefix(ciphertext, ciphertextPrefix)
	if !ok {
		return "", fmt.Errorf("decrypt %s token of consent %s: unknown format", field, consentID)
	}
	sealed, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return "", fmt.Errorf("decrypt %s token of consent %s: invalid base64", field, consentID)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize() {
		return "", fmt.Errorf("decrypt %s token of consent %s: ciphertext too short", field, consentID)
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], additionalData(consentID, field))
	if err != nil {
		return "", fmt.Errorf("decrypt %s token of consent %s: wrong key or altered ciphertext", field, consentID)
	}
	return string(plain), nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != tokenKeySize {
		return nil, fmt.Errorf("token key is %d bytes, want %d", len(key), tokenKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("token key: %w", err)
	}
	return cipher.NewGCM(block)
}

func additionalData(consentID, field string) []byte {
	return []byte(consentID + "\x00" + field)
}
