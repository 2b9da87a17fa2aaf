package feeds

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestLoadTokenKey_files(t *testing.T) {
	dir := t.TempDir()
	good := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)) + "\n"
	tests := []struct {
		name    string
		content string // "" leaves the file missing
		mode    os.FileMode
		create  bool
		wantErr string
	}{
		{"created when missing", "", 0, true, ""},
		{"missing without create", "", 0, false, "no such file"},
		{"valid", good, 0o600, false, ""},
		{"owner read only", good, 0o400, false, ""},
		{"group readable", good, 0o640, false, "has mode 0640"},
		{"world readable", good, 0o604, false, "chmod 600"},
		{"short key", base64.StdEncoding.EncodeToString([]byte("short")), 0o600, false, "want 32 bytes"},
		{"not base64", "not a key!", 0o600, false, "want 32 bytes"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "key"+string(rune('a'+i)))
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.mode); err != nil { // WriteFile's mode is masked by the umask
					t.Fatal(err)
				}
			}
			key, err := LoadTokenKey(path, tt.create)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadTokenKey error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadTokenKey: %v", err)
			}
			if len(key) != 32 {
				t.Errorf("key is %d bytes, want 32", len(key))
			}
			again, err := LoadTokenKey(path, false)
			if err != nil || !bytes.Equal(again, key) {
				t.Errorf("reading the key again = %v, want the same key", err)
			}
			info, _ := os.Stat(path)
			if perm := info.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("key file mode %04o, want no group or other access", perm)
			}
		})
	}
}

func TestSealToken_roundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{3}, 32)
	first, err := sealToken(key, "bc_1", "access", "secret-token")
	if err != nil {
		t.Fatalf("sealToken: %v", err)
	}
	second, _ := sealToken(key, "bc_1", "access", "secret-token")
	if first == second {
		t.Errorf("two encryptions are equal, want a fresh nonce each")
	}
	if strings.Contains(first, "secret-token") {
		t.Errorf("ciphertext %q contains the token", first)
	}

	tests := []struct {
		name             string
		key              []byte
		consentID, field string
		ciphertext       string
		want             string
		wantErr          bool
	}{
		{"same row and field", key, "bc_1", "access", first, "secret-token", false},
		{"other consent", key, "bc_2", "access", first, "", true},
		{"other field", key, "bc_1", "refresh", first, "", true},
		{"other key", bytes.Repeat([]byte{4}, 32), "bc_1", "access", first, "", true},
		{"altered", key, "bc_1", "access", first[:len(first)-2] + "AA", "", true},
		{"unknown format", key, "bc_1", "access", "secret-token", "", true},
		{"empty", key, "bc_1", "access", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := openToken(tt.key, tt.consentID, tt.field, tt.ciphertext)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("openToken = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "secret-token") {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
}

func TestArrayParam_roundTrip(t *testing.T) {
	engine := storetest.New(t)
	values := []string{"plain", `quote ' inside`, `back\slash`, "tab\tand\nnewline", "£ and 中文", ""}
	rows, err := engine.Query(context.Background(), "SELECT {v:Array(String)}", store.P("v", arrayParam(values)))
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer rows.Close()
	var got []string
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	if err := rows.Scan(&got); err != nil {
		t.Fatalf("scan: %v", err)
	}
	if len(got) != len(values) {
		t.Fatalf("got %q, want %q", got, values)
	}
	for i := range values {
		if got[i] != values[i] {
			t.Errorf("element %d = %q, want %q", i, got[i], values[i])
		}
	}
}
