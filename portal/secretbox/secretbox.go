// Package secretbox encrypts secrets at rest (OAuth tokens, client
// secrets) with AES-256-GCM under a 32-byte key taken from an environment
// variable or from a file only its owner can read.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the key length: AES-256.
const KeySize = 32

// version prefixes every sealed value, so that the format can change.
const version = 1

// Typed errors.
var (
	// ErrBadKey: the key is not 32 bytes (raw, hex or base64).
	ErrBadKey = errors.New("secretbox: the key must be 32 bytes (64 hex digits or base64)")
	// ErrNoKey: the environment variable is empty or unset.
	ErrNoKey = errors.New("secretbox: no key given")
	// ErrKeyFileMode: the key file can be read by others than its owner.
	ErrKeyFileMode = errors.New("secretbox: the key file must not be readable by group or others (chmod 600)")
	// ErrOpen: the value was not sealed with this key and additional
	// data, or was altered.
	ErrOpen = errors.New("secretbox: cannot decrypt (wrong key, wrong context or altered data)")
)

// Box seals and opens values with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, ErrBadKey
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// NewKey returns a random key, for a first start or a key file.
func NewKey() []byte {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k)
	return k
}

// ParseKey decodes a key written as 64 hex digits or as standard or
// URL-safe base64 (with or without padding).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, ErrNoKey
	}
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, ErrBadKey
}

// FromEnv returns a Box whose key is in environment variable name (hex or
// base64). The error names the variable, never its value.
func FromEnv(name string) (*Box, error) {
	k, err := ParseKey(os.Getenv(name))
	if err != nil {
		return nil, fmt.Errorf("secretbox: $%s: %w", name, err)
	}
	return New(k)
}

// FromFile returns a Box whose key is in the file at path (hex or base64
// text, or 32 raw bytes). The file must not be readable by group or
// others.
func FromFile(path string) (*Box, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secretbox: key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secretbox: %s: %w", path, ErrKeyFileMode)
	}
	if st.Size() > 4096 {
		return nil, fmt.Errorf("secretbox: %s: %w", path, ErrBadKey)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secretbox: key file: %w", err)
	}
	k := b
	if len(b) != KeySize {
		if k, err = ParseKey(string(b)); err != nil {
			return nil, fmt.Errorf("secretbox: %s: %w", path, err)
		}
	}
	return New(k)
}

// CreateKeyFile writes a new random key (hex) to path with mode 0600; it
// fails if the file exists.
func CreateKeyFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("secretbox: key file: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(NewKey()) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("secretbox: key file: %w", err)
	}
	return nil
}

// Seal encrypts plaintext. context is authenticated but not encrypted
// (e.g. the record's ID): a value opened under another context fails, so
// that sealed values cannot be swapped between records.
func (b *Box) Seal(plaintext []byte, context string) []byte {
	ns := b.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+b.aead.Overhead())
	out[0] = version
	_, _ = rand.Read(out[1:])
	return b.aead.Seal(out, out[1:], plaintext, []byte(context))
}

// Open decrypts a value Seal returned under the same context.
func (b *Box) Open(sealed []byte, context string) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns+b.aead.Overhead() || sealed[0] != version {
		return nil, ErrOpen
	}
	pt, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
