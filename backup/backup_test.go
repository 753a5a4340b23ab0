package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"database/sql"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSealedKeyRoundTrip(t *testing.T) {
	sealed, err := SealKey("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("00112233")) {
		t.Fatal("the key is readable in the sealed form")
	}
	if k, err := OpenKey(sealed, "correct horse battery"); err != nil || !strings.HasPrefix(k, "0011") {
		t.Fatalf("OpenKey = %q, %v", k, err)
	}
	if _, err := OpenKey(sealed, "wrong horse battery"); !errors.Is(err, ErrPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	if _, err := SealKey("k", "short"); err == nil {
		t.Error("a short passphrase was accepted")
	}
}

func TestArchiveRoundTripAndDamage(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	db, err := sql.Open("sqlite3", "file:"+src)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)", "INSERT INTO schema_migrations VALUES (9)",
		"CREATE TABLE messages (id INTEGER PRIMARY KEY, text TEXT)", "INSERT INTO messages (text) VALUES ('a'), ('b')"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	tables, schema, err := Verify(src)
	if err != nil || schema != 9 || tables["messages"] != 2 {
		t.Fatalf("Verify = %v %d %v", tables, schema, err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, src, Manifest{CreatedAt: time.Now(), SchemaVersion: schema, Tables: tables}, "", ""); err != nil {
		t.Fatal(err)
	}
	got, err := Extract(bytes.NewReader(buf.Bytes()), filepath.Join(dir, "out.db"))
	if err != nil || got.Manifest.Tables["messages"] != 2 || got.SealedKey != nil || got.Manifest.KeyIncluded {
		t.Fatalf("Extract = %+v, %v", got, err)
	}
	if _, _, err := Verify(filepath.Join(dir, "out.db")); err != nil {
		t.Fatal(err)
	}
	// A flipped byte in the stored database fails the checksum.
	if _, err := Extract(bytes.NewReader(flipDBByte(t, buf.Bytes())), filepath.Join(dir, "bad.db")); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("damaged database: %v", err)
	}
	if _, err := Extract(strings.NewReader("not a backup"), filepath.Join(dir, "x.db")); err == nil {
		t.Error("garbage accepted as a backup")
	}
	if _, err := Extract(bytes.NewReader(buf.Bytes()), filepath.Join(dir, "out.db")); err == nil {
		t.Error("Extract overwrote an existing database file")
	}
}

func TestEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if ok, err := EmptyDir(filepath.Join(dir, "missing")); !ok || err != nil {
		t.Errorf("missing dir: %v %v", ok, err)
	}
	if ok, _ := EmptyDir(dir); !ok {
		t.Error("empty dir reported non-empty")
	}
	_ = os.WriteFile(filepath.Join(dir, ".hidden"), nil, 0o600)
	if ok, _ := EmptyDir(dir); ok {
		t.Error("a dir with a hidden file reported empty")
	}
}

// flipDBByte rewrites an archive with one byte of botdesk.db changed.
func flipDBByte(t *testing.T, archive []byte) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out bytes.Buffer
	gw := gzip.NewWriter(&out)
	tw := tar.NewWriter(gw)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if hdr.Name == dbName {
			body[len(body)/2] ^= 0xff
		}
		_ = tw.WriteHeader(hdr)
		_, _ = tw.Write(body)
	}
	_ = tw.Close()
	_ = gw.Close()
	return out.Bytes()
}
