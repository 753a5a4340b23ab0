package store

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"github.com/botdesk/botdesk/store/pgtest"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
)

// openTestStore opens a fresh database in a temp dir (real migrations) and
// closes it when the test ends. Other store tests may use it.
func openTestStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{DataDir: t.TempDir(), DatabaseURL: pgtest.URL(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s, err := Open(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for path, want := range map[string]fs.FileMode{dir: 0o700, filepath.Join(dir, DBFileName): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode %o, want %o", path, got, want)
		}
	}
	// SQLite creates the WAL and shared-memory files on the first write;
	// they hold recent rows and must be as private as the database.
	if _, err := s.CreateChannel(context.Background(), "wal", nil); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		fi, err := os.Stat(filepath.Join(dir, DBFileName+suffix))
		if err != nil {
			t.Errorf("%s: %v", suffix, err)
		} else if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode %o, want 600", suffix, got)
		}
	}
	if s.Path() != filepath.Join(dir, DBFileName) {
		t.Errorf("Path() = %q", s.Path())
	}
	if res, err := s.IntegrityCheck(context.Background()); err != nil || res != "ok" {
		t.Errorf("integrity_check = %q, %v", res, err)
	}
}

// TestOpenBadDatabaseURL: a URL botdesk cannot use is one line naming the
// problem, without the URL's password.
func TestOpenBadDatabaseURL(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"postgres://user:secret@127.0.0.1:1/botdesk?connect_timeout=2", "cannot reach the server"},
		{"mysql://user:secret@db/botdesk", "unsupported scheme"},
		{"postgres://user:secret@[::1/botdesk", "not a valid PostgreSQL URL"},
	} {
		_, err := Open(context.Background(), Config{DataDir: t.TempDir(), DatabaseURL: tc.url})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", RedactURL(tc.url), err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line without the password: %q", err)
		}
	}
}

func TestPragmasInEffect(t *testing.T) {
	sqliteOnly(t, "pragmas; TestPostgresSession checks PostgreSQL's settings")
	s := openTestStore(t)
	ctx := context.Background()
	pragma := func(db string, name string) string {
		t.Helper()
		h := s.write
		if db == "read" {
			h = s.read
		}
		var v string
		if err := h.WithContext(ctx).Raw("PRAGMA " + name).Scan(&v).Error; err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	for _, tc := range []struct{ db, name, want string }{
		{"write", "journal_mode", "wal"},
		{"write", "foreign_keys", "1"},
		{"write", "synchronous", "2"}, // FULL
		{"write", "busy_timeout", "10000"},
		{"read", "journal_mode", "wal"},
		{"read", "foreign_keys", "1"},
		{"read", "query_only", "1"},
	} {
		if got := pragma(tc.db, tc.name); got != tc.want {
			t.Errorf("%s connection: PRAGMA %s = %q, want %q", tc.db, tc.name, got, tc.want)
		}
	}
	// The read pool really cannot write.
	if err := s.read.WithContext(ctx).Exec("DELETE FROM users").Error; err == nil {
		t.Error("the read pool accepted a write")
	}
}

func TestMigrationsTwiceAreNoOpAndRestartKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	v1, err := s.SchemaVersion(ctx)
	if err != nil || v1 < 1 {
		t.Fatalf("schema version %d, %v", v1, err)
	}
	migs, err := loadMigrations(migrationFiles, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if want := migs[len(migs)-1].version; v1 != want {
		t.Errorf("schema version %d, want newest migration %d", v1, want)
	}
	ch, err := s.CreateChannel(ctx, "Survivor", nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, "keep@example.test", models.RoleAdmin, "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	// Migrating the open database again changes nothing.
	if err := s.migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: same dir, migrations run again as a no-op, data is there.
	s2, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	v2, _ := s2.SchemaVersion(ctx)
	if v2 != v1 {
		t.Errorf("schema version %d after reopen, want %d", v2, v1)
	}
	var rows int64
	if err := s2.read.Raw("SELECT COUNT(*) FROM schema_migrations").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if rows != int64(len(migs)) {
		t.Errorf("schema_migrations has %d rows, want %d (one per migration)", rows, len(migs))
	}
	got, err := s2.Channel(ctx, ch.ID)
	if err != nil || got.Name != "Survivor" {
		t.Errorf("channel after restart: %+v, %v", got, err)
	}
	if gu, err := s2.UserByEmail(ctx, u.Email); err != nil || gu.ID != u.ID {
		t.Errorf("user after restart: %+v, %v", gu, err)
	}
}

func TestWithTxNestsAndRollsBack(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if _, err := s.CreateChannel(ctx, "Outer", nil); err != nil {
			return err
		}
		return s.WithTx(ctx, func(ctx context.Context) error {
			if _, err := s.CreateChannel(ctx, "Inner", nil); err != nil {
				return err
			}
			// Reads inside the transaction see its own writes.
			l, err := s.ListChannels(ctx, "", 1, 10)
			if err != nil || l.Total != 2 {
				t.Errorf("inside tx: %d channels, %v; want 2", l.Total, err)
			}
			return boom
		})
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithTx error = %v, want boom", err)
	}
	if l, _ := s.ListChannels(ctx, "", 1, 10); l.Total != 0 {
		t.Errorf("%d channels after rollback, want 0", l.Total)
	}
}

func TestDeleteChannelCascades(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	ch, err := s.CreateChannel(ctx, "Cascade", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.write.Create(&models.Chat{ChannelID: ch.ID, ChatID: -100, Type: "group", AddedAt: s.now()}).Error; err != nil {
		t.Fatal(err)
	}
	if st, _ := s.ChannelStats(ctx, ch.ID); st.Chats != 1 {
		t.Fatalf("stats %+v", st)
	}
	if err := s.DeleteChannel(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.ChannelStats(ctx, ch.ID); st.Chats != 0 {
		t.Errorf("chats left after delete: %+v (foreign keys off?)", st)
	}
	if err := s.DeleteChannel(ctx, ch.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
}

func TestChannelNamesAndIDs(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	ch, err := s.CreateChannel(ctx, "  Support  ", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Name != "Support" || !models.ValidChannelID(ch.ID) {
		t.Errorf("channel %+v", ch)
	}
	for _, name := range []string{"support", "SUPPORT", " Support"} {
		_, err := s.CreateChannel(ctx, name, nil)
		if v, ok := models.AsValidation(err); !ok || v.Field != "name" {
			t.Errorf("duplicate %q: err %v, want a name validation error", name, err)
		}
	}
	for _, name := range []string{"", "   ", strings.Repeat("x", models.MaxChannelName+1), "a\x00b"} {
		if _, err := s.CreateChannel(ctx, name, nil); err == nil {
			t.Errorf("CreateChannel(%q) accepted", name)
		}
	}
	for _, id := range []string{"tg-aaaaaaaaaa", "nope", "", "tg-AAAAAAAAAA", "tg-aaaaaaaaaa' OR 1=1--"} {
		if _, err := s.Channel(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Channel(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestListChannelsSearchAndPages(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	// Queries contain a space, a digit outside base32 or a LIKE wildcard,
	// so they can never match a random channel id by chance.
	for _, n := range []string{"Alpha 1", "Beta 1", "Gamma 9", "1% real", "under_score"} {
		if _, err := s.CreateChannel(ctx, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	// "%" and "_" are literal: unescaped, "a_1" and "1%" would match more.
	for q, want := range map[string]int64{"": 5, "alpha 1": 1, "a 1": 2, "1": 3, "%": 1, "_": 1, "a_1": 0, "1%": 1, "xyz 0": 0} {
		l, err := s.ListChannels(ctx, q, 1, 50)
		if err != nil {
			t.Fatal(err)
		}
		if l.Total != want || int64(len(l.Rows)) != want {
			t.Errorf("search %q: total %d rows %d, want %d", q, l.Total, len(l.Rows), want)
		}
	}
	p2, err := s.ListChannels(ctx, "", 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Pages != 3 || p2.Page != 2 || len(p2.Rows) != 2 {
		t.Errorf("page 2 of 2-per-page: %+v", p2)
	}
	if l, _ := s.ListChannels(ctx, "", 0, 2); l.Page != 1 {
		t.Errorf("page 0 not clamped to 1: %d", l.Page)
	}
}

func newTestKey(t testing.TB) string {
	t.Helper()
	k, err := LoadOrCreateKey("", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealerRoundTripAndWrongKey(t *testing.T) {
	s1, err := NewSealer(newTestKey(t))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("123456789:AAHsecret-token")
	sealed, err := s1.Seal(secret)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "secret-token") {
		t.Fatal("sealed bytes contain the plaintext")
	}
	again, _ := s1.Seal(secret)
	if string(again) == string(sealed) {
		t.Error("two seals of the same plaintext are identical (nonce reuse)")
	}
	got, err := s1.Open(sealed)
	if err != nil || string(got) != string(secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	s2, err := NewSealer(newTestKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Open(sealed); err == nil {
		t.Error("a different key opened the secret")
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := s1.Open(tampered); err == nil {
		t.Error("tampered ciphertext opened")
	}
	if _, err := s1.Open([]byte("short")); err == nil {
		t.Error("short ciphertext opened")
	}
}

func TestNewSealerKeyFormats(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i)
	}
	for name, key := range map[string]string{
		"hex":        hex.EncodeToString(raw),
		"base64":     base64.StdEncoding.EncodeToString(raw),
		"base64url":  base64.RawURLEncoding.EncodeToString(raw),
		"whitespace": " " + hex.EncodeToString(raw) + "\n",
	} {
		if _, err := NewSealer(key); err != nil {
			t.Errorf("%s key refused: %v", name, err)
		}
	}
	for _, bad := range []string{"", "short", hex.EncodeToString(raw[:16])} {
		_, err := NewSealer(bad)
		if err == nil {
			t.Errorf("key %q accepted", bad)
		} else if !strings.Contains(err.Error(), "BOTDESK_SECRET_KEY") {
			t.Errorf("error for bad key does not say which setting: %v", err)
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadOrCreateKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %o, want 600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %o, want 700", di.Mode().Perm())
	}
	k2, err := LoadOrCreateKey("", dir)
	if err != nil || k2 != k1 {
		t.Errorf("second load = %q, %v; want the same key", k2, err)
	}
	if _, err := NewSealer(k1); err != nil {
		t.Errorf("generated key unusable: %v", err)
	}
	if k, _ := LoadOrCreateKey("from-env", dir); k != "from-env" {
		t.Errorf("env key ignored: %q", k)
	}
}

func TestHubFanOut(t *testing.T) {
	h := NewHub()
	a, cancelA := h.Subscribe()
	b, cancelB := h.Subscribe()
	h.Publish(Change{Kind: "message", ChannelID: "tg-aaaaaaaaaa", MessageID: 7})
	for _, ch := range []<-chan Change{a, b} {
		if got := <-ch; got.MessageID != 7 {
			t.Errorf("got %+v", got)
		}
	}
	cancelA()
	cancelA() // idempotent
	if _, open := <-a; open {
		t.Error("cancelled subscription still open")
	}
	if h.Subscribers() != 1 {
		t.Errorf("subscribers = %d, want 1", h.Subscribers())
	}
	// A full subscriber never blocks Publish.
	for i := 0; i < 1000; i++ {
		h.Publish(Change{Kind: "message"})
	}
	cancelB()
}

func TestAuditPaging(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if err := s.Audit(ctx, Actor{Name: "t"}, "channel.create", "channel", "c", ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Audit(ctx, Actor{Name: "t"}, "login", "user", "u", ""); err != nil {
		t.Fatal(err)
	}
	p, err := s.ListAudit(ctx, 0, "channel.", 2)
	if err != nil || len(p.Entries) != 2 || p.Before == 0 {
		t.Fatalf("page 1: %+v %v", p, err)
	}
	var seen int
	for before := int64(0); ; {
		p, err := s.ListAudit(ctx, before, "channel.", 2)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(p.Entries)
		if p.Before == 0 {
			break
		}
		before = p.Before
	}
	if seen != 5 {
		t.Errorf("paged through %d channel entries, want 5", seen)
	}
}

// A version missing below the newest applied one (it landed on another
// branch later) is still applied on the next start.
func TestMigrateAppliesMissingLowerVersion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.write.Exec("DROP INDEX outbox_order").Error; err != nil {
		t.Fatal(err)
	}
	if err := s.write.Exec("DELETE FROM schema_migrations WHERE version = 3").Error; err != nil {
		t.Fatal(err)
	}
	if err := s.write.Exec("INSERT INTO schema_migrations(version, name, applied_at) VALUES (99, '0099_later.sql', CURRENT_TIMESTAMP)").Error; err != nil {
		t.Fatal(err)
	}
	if err := s.migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	var n int
	if err := s.read.Raw("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'outbox_order'").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("migration 0003 was not re-applied below version 99")
	}
	_ = s.Close()
}

// TestPublishWaitsForCommit: a change made inside a transaction is announced
// after the commit, and not at all when the transaction rolls back.
func TestPublishWaitsForCommit(t *testing.T) {
	s, ch := ingestStore(t)
	ctx := context.Background()
	if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 2, Updates: []IngestUpdate{text(1, 1, 1, "private", "hi")}}); err != nil {
		t.Fatal(err)
	}
	var conv models.Conversation
	if err := s.r(ctx).Take(&conv).Error; err != nil {
		t.Fatal(err)
	}
	changes, unsub := s.Hub().Subscribe()
	defer unsub()
	refused := errors.New("refused")
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.SetConversationStatus(ctx, conv.ID, ConversationResolved); err != nil {
			return err
		}
		if len(changes) != 0 {
			t.Error("change announced before the commit")
		}
		return refused
	})
	if !errors.Is(err, refused) || len(changes) != 0 {
		t.Fatalf("rolled back: err %v, %d changes announced", err, len(changes))
	}
	if err := s.WithTx(ctx, func(ctx context.Context) error {
		return s.SetConversationStatus(ctx, conv.ID, ConversationResolved)
	}); err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 {
		t.Fatalf("%d changes announced after the commit, want 1", len(changes))
	}
	if c := <-changes; c.ConversationID != conv.ID || c.ChannelID != ch.ID {
		t.Fatalf("change = %+v", c)
	}
}

// TestPostgresSession: the PostgreSQL pool's sessions run in UTC on a
// new-enough server, and times come back in UTC like SQLite's.
func TestPostgresSession(t *testing.T) {
	s := openTestStore(t)
	if !s.Postgres() {
		t.Skip("PostgreSQL only: SQLite's settings are TestPragmasInEffect")
	}
	ctx := context.Background()
	var tz string
	var num int
	if err := s.r(ctx).Raw("SHOW TimeZone").Scan(&tz).Error; err != nil || tz != "UTC" {
		t.Errorf("TimeZone = %q, %v; want UTC", tz, err)
	}
	if err := s.r(ctx).Raw("SELECT current_setting('server_version_num')::int").Scan(&num).Error; err != nil || num < MinPostgresVersion*10000 {
		t.Errorf("server_version_num = %d, %v", num, err)
	}
	ch, err := s.CreateChannel(ctx, "utc", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Channel(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Location() != time.UTC || !got.CreatedAt.Equal(ch.CreatedAt) {
		t.Errorf("created_at read back as %v (%v), wrote %v", got.CreatedAt, got.CreatedAt.Location(), ch.CreatedAt)
	}
}
