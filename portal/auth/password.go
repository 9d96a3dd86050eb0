package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters of new hashes (RFC 9106's second recommended option,
// with the memory cost OWASP recommends for interactive logins).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// ErrBadHash is returned for a stored password hash that cannot be parsed.
var ErrBadHash = errors.New("auth: malformed password hash")

// MinPasswordLength is the shortest password SetPassword accepts.
const MinPasswordLength = 12

// MaxPasswordLength bounds the password hashed (longer input is refused,
// so that a huge body cannot make the server hash megabytes).
const MaxPasswordLength = 1024

// Hasher holds the Argon2id cost parameters of new password hashes.
// Verification reads the parameters from each stored hash, so they can be
// raised without invalidating old hashes.
type Hasher struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
}

// DefaultHasher is RFC 9106's second recommended option with the memory
// cost OWASP recommends for interactive logins (19 MiB, 2 passes).
var DefaultHasher = Hasher{Time: argonTime, MemoryKiB: argonMemory, Threads: argonThreads}

// HashPassword hashes password with DefaultHasher.
func HashPassword(password string) (string, error) { return DefaultHasher.Hash(password) }

// Hash hashes password with Argon2id and a random salt, in the PHC string
// format ($argon2id$v=19$m=...,t=...,p=...$salt$key).
func (h Hasher) Hash(password string) (string, error) {
	if len(password) > MaxPasswordLength {
		return "", ErrPasswordTooLong
	}
	if h.Time == 0 || h.MemoryKiB < 8*uint32(max(h.Threads, 1)) || h.Threads == 0 {
		return "", fmt.Errorf("auth: invalid Argon2id parameters %+v", h)
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.Time, h.MemoryKiB, h.Threads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.MemoryKiB, h.Time, h.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches hash (made by
// HashPassword, with any parameters), comparing in constant time.
func VerifyPassword(hash, password string) (bool, error) {
	if len(password) > MaxPasswordLength {
		return false, nil
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, ErrBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 ||
		m > 1<<20 || t > 16 {
		return false, ErrBadHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, ErrBadHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
