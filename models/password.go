package models

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordCost are argon2id parameters. They are stored in each hash, so
// verification always uses the cost the hash was made with.
type PasswordCost struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultPasswordCost follows RFC 9106's second recommendation with lighter
// memory, so a small machine can take a burst of logins.
func DefaultPasswordCost() PasswordCost { return PasswordCost{Time: 3, Memory: 64 * 1024, Threads: 2} }

const argonKeyLen = 32

// HashPassword returns an encoded argon2id hash in the PHC string format,
// at the default cost.
func HashPassword(password string) (string, error) {
	return HashPasswordCost(password, DefaultPasswordCost())
}

// HashPasswordCost hashes at an explicit cost; tests use a cheap one so the
// race-detector suite is not dominated by argon2.
func HashPasswordCost(password string, c PasswordCost) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, c.Time, c.Memory, c.Threads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, c.Memory, c.Time, c.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrBadHash is returned for a stored hash that cannot be parsed.
var ErrBadHash = errors.New("unrecognised password hash")

// VerifyPassword checks password against an encoded argon2id hash in
// constant time.
func VerifyPassword(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// DummyHash is verified against when the account does not exist, so a
// login for an unknown email takes as long as one for a known email.
const DummyHash = "$argon2id$v=19$m=65536,t=3,p=2$c29tZXNhbHRzb21lc2FsdA$2fS5u0E6QyMkk8cG3cUv8bq0b1m8n1Jc0fPz8r2cK1c"
