package secretbox_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/procoresync/procoresync/portal/secretbox"
)

func TestSealOpen(t *testing.T) {
	b, err := secretbox.New(secretbox.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`{"refresh_token":"r-123"}`)
	s1, s2 := b.Seal(msg, "connection:a"), b.Seal(msg, "connection:a")
	if bytes.Equal(s1, s2) || bytes.Contains(s1, []byte("r-123")) {
		t.Fatal("sealing is not randomised or not encrypted")
	}
	if got, err := b.Open(s1, "connection:a"); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := b.Open(s1, "connection:b"); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("opened under another context: %v", err)
	}
	tampered := bytes.Clone(s1)
	tampered[len(tampered)-1] ^= 1
	for _, bad := range [][]byte{nil, {1}, tampered, s1[:10]} {
		if _, err := b.Open(bad, "connection:a"); !errors.Is(err, secretbox.ErrOpen) {
			t.Errorf("opened %x: %v", bad, err)
		}
	}
	other, _ := secretbox.New(secretbox.NewKey())
	if _, err := other.Open(s1, "connection:a"); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("opened with another key: %v", err)
	}
	if _, err := secretbox.New(make([]byte, 16)); !errors.Is(err, secretbox.ErrBadKey) {
		t.Fatalf("a 16-byte key: %v", err)
	}
}

func TestKeySources(t *testing.T) {
	key := secretbox.NewKey()
	t.Setenv("PORTAL_TEST_KEY", hex.EncodeToString(key))
	if _, err := secretbox.FromEnv("PORTAL_TEST_KEY"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PORTAL_TEST_KEY", "not-a-key-but-a-secret-value")
	_, err := secretbox.FromEnv("PORTAL_TEST_KEY")
	if !errors.Is(err, secretbox.ErrBadKey) || strings.Contains(err.Error(), "secret-value") || !strings.Contains(err.Error(), "PORTAL_TEST_KEY") {
		t.Fatalf("bad env key: %v", err)
	}
	t.Setenv("PORTAL_TEST_KEY", "")
	if _, err := secretbox.FromEnv("PORTAL_TEST_KEY"); !errors.Is(err, secretbox.ErrNoKey) {
		t.Fatalf("empty env key: %v", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if err := secretbox.CreateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode())
	}
	if err := secretbox.CreateKeyFile(path); err == nil {
		t.Fatal("CreateKeyFile overwrote a key")
	}
	b1, err := secretbox.FromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := secretbox.FromFile(path)
	if _, err := b2.Open(b1.Seal([]byte("x"), "c"), "c"); err != nil {
		t.Fatalf("the same file gives another key: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := secretbox.FromFile(path); !errors.Is(err, secretbox.ErrKeyFileMode) {
		t.Fatalf("a world-readable key file: %v", err)
	}
	raw := filepath.Join(dir, "raw")
	if err := os.WriteFile(raw, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := secretbox.FromFile(raw); err != nil {
		t.Fatalf("a raw 32-byte key file: %v", err)
	}
}
