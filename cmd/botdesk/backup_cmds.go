package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/botdesk/botdesk/backup"
	"github.com/botdesk/botdesk/store"
)

// passphraseFlags binds the ways to give the backup passphrase.
func passphraseFlags(fs *flag.FlagSet) func() (string, error) {
	file := fs.String("passphrase-file", "", "file whose first line is the passphrase sealing the secret key (or BOTDESK_BACKUP_PASSPHRASE)")
	return func() (string, error) {
		if *file != "" {
			b, err := os.ReadFile(*file)
			if err != nil {
				return "", fmt.Errorf("read passphrase file: %w", err)
			}
			line, _, _ := strings.Cut(string(b), "\n")
			return strings.TrimRight(line, "\r"), nil
		}
		return os.Getenv("BOTDESK_BACKUP_PASSPHRASE"), nil
	}
}

func isPostgres(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// cmdBackup writes a verified online snapshot of the SQLite database, with
// the secret key sealed by a passphrase when one is given.
func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, finish := bindConfig(fs)
	out := fs.String("out", "", "the backup file to write (must not exist)")
	passphrase := passphraseFlags(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if err := finish(); err != nil {
		return err
	}
	if isPostgres(cfg.DatabaseURL) {
		return explainPGDump(cfg.DatabaseURL, *out, stdout, stderr)
	}
	if *out == "" {
		fmt.Fprintln(stderr, "botdesk backup: --out FILE is required")
		return errUsage
	}
	if _, err := os.Stat(*out); err == nil {
		return fmt.Errorf("backup: %s already exists; choose a new file", *out)
	}
	pass, err := passphrase()
	if err != nil {
		return err
	}
	if pass != "" && len(pass) < backup.MinPassphrase {
		return fmt.Errorf("backup: the passphrase must be at least %d characters", backup.MinPassphrase)
	}

	st, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL})
	if err != nil {
		return err
	}
	defer st.Close()
	work, err := os.MkdirTemp(filepath.Dir(*out), ".botdesk-backup-")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(work)
	snap := filepath.Join(work, store.DBFileName)
	started := time.Now()
	if err := st.Snapshot(ctx, snap); err != nil {
		return err
	}
	tables, schema, err := backup.Verify(snap)
	if err != nil {
		return err
	}
	key := ""
	if pass != "" {
		// The key in use: BOTDESK_SECRET_KEY or the data dir's key file.
		if key, err = store.LoadOrCreateKey(cfg.SecretKey, cfg.DataDir); err != nil {
			return err
		}
	}
	man := backup.Manifest{CreatedAt: started.UTC(), SchemaVersion: schema, Tables: tables}
	tmp := filepath.Join(work, "archive")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	err = backup.Write(f, snap, man, key, pass)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// The file appears complete or not at all.
	if err := os.Link(tmp, *out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}

	fmt.Fprintf(stderr, "backup written to %s: schema version %d, %s, verified (integrity_check ok) in %s\n",
		*out, schema, countsLine(tables), time.Since(started).Round(time.Millisecond))
	if key == "" {
		fmt.Fprintln(stderr, "")
		fmt.Fprintln(stderr, "WARNING: THE SECRET KEY IS NOT IN THIS BACKUP.")
		fmt.Fprintln(stderr, "Without it the bot tokens and webhook signing secrets in the backup cannot be decrypted.")
		fmt.Fprintf(stderr, "Keep a copy of %s (or of BOTDESK_SECRET_KEY) somewhere safe, or run backup again with\n", filepath.Join(cfg.DataDir, store.KeyFileName))
		fmt.Fprintln(stderr, "--passphrase-file FILE (or BOTDESK_BACKUP_PASSPHRASE) to seal the key into the backup.")
	} else {
		fmt.Fprintln(stderr, "The secret key is in the backup, sealed with your passphrase (argon2id + AES-256-GCM): restore needs the same passphrase.")
	}
	return nil
}

// countsLine summarises the row counts that matter to people.
func countsLine(t map[string]int64) string {
	var parts []string
	for _, k := range []string{"channels", "bots", "messages", "conversations", "outbox", "users"} {
		if n, ok := t[k]; ok {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	return strings.Join(parts, ", ")
}

// explainPGDump prints how to back up a PostgreSQL database: botdesk does
// not copy a server database itself; pg_dump takes a consistent snapshot
// while the instances run. The password is never printed.
func explainPGDump(dbURL, out string, stdout, stderr io.Writer) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return errors.New("backup: BOTDESK_DATABASE_URL is not a valid URL")
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	q.Del("password")
	u.RawQuery = q.Encode()
	if out == "" {
		out = "botdesk-" + time.Now().UTC().Format("20060102-150405") + ".dump"
	}
	fmt.Fprintln(stderr, "botdesk uses PostgreSQL here: back it up with pg_dump, which takes a consistent snapshot while botdesk runs.")
	fmt.Fprintln(stderr, "Give the password through PGPASSWORD or ~/.pgpass (it is not printed below). Run:")
	fmt.Fprintf(stdout, "pg_dump --format=custom --file=%s '%s'\n", shellQuote(out), u.String())
	fmt.Fprintln(stderr, "Restore into an empty database with: pg_restore --no-owner --dbname='<url>' "+shellQuote(out))
	fmt.Fprintln(stderr, "Also keep BOTDESK_SECRET_KEY safe: without it the tokens in the dump cannot be decrypted.")
	return errors.New("backup: not written by botdesk for PostgreSQL; use the pg_dump command above")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// cmdRestore restores a backup into an empty data dir.
func cmdRestore(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, finish := bindConfig(fs)
	from := fs.String("from", "", "the backup file to restore")
	passphrase := passphraseFlags(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if err := finish(); err != nil {
		return err
	}
	if *from == "" {
		fmt.Fprintln(stderr, "botdesk restore: --from FILE is required")
		return errUsage
	}
	if isPostgres(cfg.DatabaseURL) {
		return errors.New("restore: with PostgreSQL, restore a pg_dump file with pg_restore (see botdesk backup)")
	}
	empty, err := backup.EmptyDir(cfg.DataDir)
	if err != nil {
		return err
	}
	if !empty {
		return fmt.Errorf("restore: the data dir %s is not empty; restore only into a new or empty directory (nothing was changed)", cfg.DataDir)
	}
	in, err := os.Open(*from)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer in.Close()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	ok := false
	defer func() {
		if !ok { // leave the dir empty again, so a retry is possible
			clearDir(cfg.DataDir)
		}
	}()
	dbPath := filepath.Join(cfg.DataDir, store.DBFileName)
	got, err := backup.Extract(in, dbPath)
	if err != nil {
		return err
	}
	tables, _, err := backup.Verify(dbPath)
	if err != nil {
		return err
	}
	for name, n := range got.Manifest.Tables {
		if tables[name] != n {
			return fmt.Errorf("restore: table %s has %d rows, the backup recorded %d", name, tables[name], n)
		}
	}
	key := ""
	if got.SealedKey != nil {
		pass, err := passphrase()
		if err != nil {
			return err
		}
		if pass == "" {
			return errors.New("restore: this backup holds the secret key sealed with a passphrase: give it with --passphrase-file FILE or BOTDESK_BACKUP_PASSPHRASE")
		}
		if key, err = backup.OpenKey(got.SealedKey, pass); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(cfg.DataDir, store.KeyFileName), []byte(key+"\n"), 0o600); err != nil {
			return fmt.Errorf("restore: write key file: %w", err)
		}
	} else if cfg.SecretKey != "" {
		key = cfg.SecretKey
	}
	st, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir})
	if err != nil {
		return err
	}
	defer st.Close()
	if key != "" {
		if err := checkKeyOpensTokens(ctx, st, key); err != nil {
			return err
		}
	}
	ok = true
	fmt.Fprintf(stderr, "restored %s (taken %s) into %s: %s, verified\n", *from, got.Manifest.CreatedAt.Format(time.RFC3339), cfg.DataDir, countsLine(tables))
	if key == "" {
		fmt.Fprintln(stderr, "WARNING: the backup has no secret key. Put the original secret.key into the data dir (or set BOTDESK_SECRET_KEY) before `botdesk serve`, or every bot must be reconnected.")
	}
	return nil
}

// checkKeyOpensTokens proves the restored key decrypts a stored token, so
// a wrong BOTDESK_SECRET_KEY is found now rather than at the first send.
func checkKeyOpensTokens(ctx context.Context, st *store.Store, key string) error {
	sealer, err := store.NewSealer(key)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	bots, err := st.OpsGauges(ctx)
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(bots.Bots))
	for _, b := range bots.Bots {
		ids = append(ids, b.TelegramID)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if len(ids) == 0 {
		return nil
	}
	b, err := st.BotByTelegramID(ctx, ids[0])
	if err != nil {
		return err
	}
	if _, err := sealer.Open(b.TokenEnc); err != nil {
		return errors.New("restore: the secret key does not decrypt the stored bot tokens (wrong key?)")
	}
	return nil
}

func clearDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}
