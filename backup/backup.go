// Package backup is the file format of `botdesk backup` and `botdesk
// restore`: a gzipped tar holding manifest.json, the SQLite snapshot
// botdesk.db and, when a passphrase was given, secret.key.sealed — the
// secret key encrypted with AES-256-GCM under a key derived from the
// passphrase with argon2id. Without the secret key the bot tokens and
// signing secrets in the database cannot be decrypted (docs/operations.md).
package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	_ "github.com/mattn/go-sqlite3" // the snapshot is checked with its own read-only connection
	"golang.org/x/crypto/argon2"
)

// Format is the archive version restore understands.
const Format = 1

// Archive member names.
const (
	manifestName = "manifest.json"
	dbName       = "botdesk.db"
	keyName      = "secret.key.sealed"
)

// MinPassphrase is the shortest passphrase accepted for sealing the key.
const MinPassphrase = 12

// Manifest describes a backup.
type Manifest struct {
	Format        int              `json:"format"`
	CreatedAt     time.Time        `json:"created_at"`
	SchemaVersion int              `json:"schema_version"`
	Tables        map[string]int64 `json:"tables"`
	DBSHA256      string           `json:"db_sha256"`
	DBBytes       int64            `json:"db_bytes"`
	KeyIncluded   bool             `json:"key_included"`
}

// Verify checks a SQLite file as restore will rely on it: integrity_check
// answers ok, and every table can be counted. It returns the row counts and
// the newest applied migration.
func Verify(path string) (tables map[string]int64, schema int, err error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_query_only=on")
	if err != nil {
		return nil, 0, fmt.Errorf("backup: open snapshot: %w", err)
	}
	defer db.Close()
	var verdict string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&verdict); err != nil {
		return nil, 0, fmt.Errorf("backup: integrity check: %w", err)
	}
	if verdict != "ok" {
		return nil, 0, fmt.Errorf("backup: integrity check failed: %s", verdict)
	}
	rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		return nil, 0, fmt.Errorf("backup: list tables: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("backup: list tables: %w", err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("backup: list tables: %w", err)
	}
	tables = make(map[string]int64, len(names))
	for _, n := range names {
		var c int64
		// n comes from sqlite_master of this file; quoted as an identifier.
		if err := db.QueryRow(`SELECT COUNT(*) FROM "` + n + `"`).Scan(&c); err != nil {
			return nil, 0, fmt.Errorf("backup: count %s: %w", n, err)
		}
		tables[n] = c
	}
	if _, ok := tables["schema_migrations"]; !ok {
		return nil, 0, errors.New("backup: not a botdesk database (no schema_migrations)")
	}
	if err := db.QueryRow("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&schema); err != nil {
		return nil, 0, fmt.Errorf("backup: schema version: %w", err)
	}
	return tables, schema, nil
}

// Write writes the archive: the manifest, the snapshot at dbPath and, when
// key is not empty, the key sealed with passphrase.
func Write(w io.Writer, dbPath string, man Manifest, key, passphrase string) error {
	f, err := os.Open(dbPath)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("backup: hash snapshot: %w", err)
	}
	man.Format, man.DBSHA256, man.DBBytes, man.KeyIncluded = Format, hex.EncodeToString(h.Sum(nil)), n, key != ""
	var sealed []byte
	if key != "" {
		if sealed, err = SealKey(key, passphrase); err != nil {
			return err
		}
	}
	mj, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return fmt.Errorf("backup: manifest: %w", err)
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	add := func(name string, size int64, body io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: man.CreatedAt, Typeflag: tar.TypeReg}); err != nil {
			return fmt.Errorf("backup: write %s: %w", name, err)
		}
		if _, err := io.Copy(tw, body); err != nil {
			return fmt.Errorf("backup: write %s: %w", name, err)
		}
		return nil
	}
	if err := add(manifestName, int64(len(mj)), bytes.NewReader(mj)); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := add(dbName, n, f); err != nil {
		return err
	}
	if sealed != nil {
		if err := add(keyName, int64(len(sealed)), bytes.NewReader(sealed)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Contents is what Extract found.
type Contents struct {
	Manifest Manifest
	// SealedKey is the sealed secret key, nil when the backup has none.
	SealedKey []byte
}

// Extract reads an archive, writing the database to dbPath (0600, which
// must not exist) and checking it against the manifest's checksum.
func Extract(r io.Reader, dbPath string) (Contents, error) {
	var out Contents
	gz, err := gzip.NewReader(r)
	if err != nil {
		return out, fmt.Errorf("backup: not a botdesk backup (gzip): %w", err)
	}
	tr := tar.NewReader(gz)
	var gotManifest, gotDB bool
	var sum string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("backup: read archive: %w", err)
		}
		switch hdr.Name {
		case manifestName:
			if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&out.Manifest); err != nil {
				return out, fmt.Errorf("backup: manifest: %w", err)
			}
			if out.Manifest.Format != Format {
				return out, fmt.Errorf("backup: format %d, this botdesk reads format %d", out.Manifest.Format, Format)
			}
			gotManifest = true
		case dbName:
			f, err := os.OpenFile(dbPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return out, fmt.Errorf("backup: %w", err)
			}
			h := sha256.New()
			_, err = io.Copy(io.MultiWriter(f, h), tr)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return out, fmt.Errorf("backup: write database: %w", err)
			}
			sum, gotDB = hex.EncodeToString(h.Sum(nil)), true
		case keyName:
			if out.SealedKey, err = io.ReadAll(io.LimitReader(tr, 1<<16)); err != nil {
				return out, fmt.Errorf("backup: read sealed key: %w", err)
			}
		}
	}
	if !gotManifest || !gotDB {
		return out, errors.New("backup: not a botdesk backup (manifest or database missing)")
	}
	if sum != out.Manifest.DBSHA256 {
		return out, errors.New("backup: the database in the backup does not match its checksum (damaged file)")
	}
	if out.Manifest.KeyIncluded != (out.SealedKey != nil) {
		return out, errors.New("backup: the manifest and the sealed key disagree (damaged file)")
	}
	return out, nil
}

// sealedKey is the JSON form of a passphrase-sealed key.
type sealedKey struct {
	KDF     string `json:"kdf"`
	Time    uint32 `json:"t"`
	Memory  uint32 `json:"m"`
	Threads uint8  `json:"p"`
	Salt    []byte `json:"salt"`
	Nonce   []byte `json:"nonce"`
	Data    []byte `json:"data"`
}

// argon2id cost for the passphrase: well above interactive logins, since a
// backup file may be attacked offline for as long as it exists.
const (
	kdfTime    = 3
	kdfMemory  = 64 * 1024 // KiB
	kdfThreads = 2
)

// SealKey encrypts the secret key with a key derived from passphrase.
func SealKey(key, passphrase string) ([]byte, error) {
	if len(passphrase) < MinPassphrase {
		return nil, fmt.Errorf("backup: the passphrase must be at least %d characters", MinPassphrase)
	}
	sk := sealedKey{KDF: "argon2id", Time: kdfTime, Memory: kdfMemory, Threads: kdfThreads, Salt: make([]byte, 16)}
	if _, err := rand.Read(sk.Salt); err != nil {
		return nil, fmt.Errorf("backup: salt: %w", err)
	}
	aead, err := sk.aead(passphrase)
	if err != nil {
		return nil, err
	}
	sk.Nonce = make([]byte, aead.NonceSize())
	if _, err := rand.Read(sk.Nonce); err != nil {
		return nil, fmt.Errorf("backup: nonce: %w", err)
	}
	sk.Data = aead.Seal(nil, sk.Nonce, []byte(key), []byte(keyName))
	return json.Marshal(sk)
}

// ErrPassphrase means the passphrase does not open the sealed key.
var ErrPassphrase = errors.New("backup: wrong passphrase (the secret key could not be decrypted)")

// OpenKey decrypts a sealed key.
func OpenKey(sealed []byte, passphrase string) (string, error) {
	var sk sealedKey
	if err := json.Unmarshal(sealed, &sk); err != nil || sk.KDF != "argon2id" {
		return "", errors.New("backup: the sealed key is damaged")
	}
	if sk.Memory > 1<<21 || sk.Time > 64 { // refuse a file that would exhaust the machine
		return "", errors.New("backup: the sealed key asks for an unreasonable key derivation cost")
	}
	aead, err := sk.aead(passphrase)
	if err != nil {
		return "", err
	}
	key, err := aead.Open(nil, sk.Nonce, sk.Data, []byte(keyName))
	if err != nil {
		return "", ErrPassphrase
	}
	return string(key), nil
}

func (sk sealedKey) aead(passphrase string) (cipher.AEAD, error) {
	k := argon2.IDKey([]byte(passphrase), sk.Salt, sk.Time, sk.Memory, sk.Threads, 32)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("backup: cipher: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("backup: cipher: %w", err)
	}
	if len(sk.Nonce) != 0 && len(sk.Nonce) != gcm.NonceSize() {
		return nil, errors.New("backup: the sealed key is damaged")
	}
	return gcm, nil
}

// EmptyDir reports whether dir does not exist or has no entries.
func EmptyDir(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("backup: read %s: %w", filepath.Clean(dir), err)
	}
	return len(entries) == 0, nil
}
