package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sealer encrypts secrets (bot tokens, signing secrets) at rest with
// AES-256-GCM. The nonce is prepended to the ciphertext.
type Sealer struct {
	aead cipher.AEAD
}

// KeyFileName is the key file created in the data dir when no key is given.
const KeyFileName = "secret.key"

// NewSealer builds a Sealer from a 32-byte key given as hex or base64.
func NewSealer(key string) (*Sealer, error) {
	raw, err := decodeKey(strings.TrimSpace(key))
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("sealer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

func decodeKey(k string) ([]byte, error) {
	if b, err := hex.DecodeString(k); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(k); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("sealer: BOTDESK_SECRET_KEY must be 32 bytes as 64 hex chars or base64")
}

// LoadOrCreateKey returns the key from env if set, else reads the key file
// in dataDir, creating it 0600 with a fresh random key on first run.
func LoadOrCreateKey(envKey, dataDir string) (string, error) {
	if envKey != "" {
		return envKey, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("sealer: data dir: %w", err)
	}
	path := filepath.Join(dataDir, KeyFileName)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("sealer: read key file: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("sealer: generate key: %w", err)
	}
	key := hex.EncodeToString(raw)
	// O_EXCL: two processes starting at once must not overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreateKey("", dataDir)
		}
		return "", fmt.Errorf("sealer: create key file: %w", err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("sealer: write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return "", fmt.Errorf("sealer: sync key file: %w", err)
	}
	return key, f.Close()
}

// Seal encrypts plaintext.
func (s *Sealer) Seal(plaintext []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sealer: nonce: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plaintext, nil), nil
}

// Open decrypts what Seal produced.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealer: ciphertext too short")
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, fmt.Errorf("sealer: decrypt (wrong BOTDESK_SECRET_KEY?): %w", err)
	}
	return out, nil
}
