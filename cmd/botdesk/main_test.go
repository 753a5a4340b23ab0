package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/store/pgtest"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// TestMain runs the command's suite on SQLite, then on PostgreSQL
// (store/pgtest).
func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, func(ctx context.Context, url string) error {
		st, err := store.Open(ctx, store.Config{DatabaseURL: url})
		if err != nil {
			return err
		}
		return st.Close()
	}))
}

// clearEnv makes the tests independent of the developer's BOTDESK_* env.
// In the PostgreSQL pass it points the commands at a fresh database
// (BOTDESK_DATABASE_URL, and the BOTDESK_SECRET_KEY that mode requires).
func clearEnv(t *testing.T) {
	for _, k := range []string{"BOTDESK_ADDR", "BOTDESK_DATA_DIR", "BOTDESK_DATABASE_URL", "BOTDESK_SECRET_KEY",
		"BOTDESK_TELEGRAM_API", "BOTDESK_ALLOW_PRIVATE_CALLBACKS", "BOTDESK_POLL_TIMEOUT", "BOTDESK_LOG_LEVEL", "BOTDESK_SHUTDOWN_TIMEOUT", "BOTDESK_LOG_FORMAT",
		"BOTDESK_PUBLIC_URL", "BOTDESK_TRUSTED_PROXIES", "BOTDESK_SESSION_MAX_AGE", "BOTDESK_API_RATE", "BOTDESK_API_BURST",
		"BOTDESK_API_IP_RATE", "BOTDESK_API_IP_BURST", "BOTDESK_MAX_CONNS_PER_IP", "BOTDESK_LOGIN_CONCURRENCY"} {
		t.Setenv(k, "")
	}
	if u := pgtest.URL(t); u != "" {
		t.Setenv("BOTDESK_DATABASE_URL", u)
		t.Setenv("BOTDESK_SECRET_KEY", strings.Repeat("ab", 32))
	}
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: dir, DatabaseURL: os.Getenv("BOTDESK_DATABASE_URL")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestUserAdd(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"user", "add", "--email", "Root@Example.test", "--role", "admin", "--data-dir", dir},
		strings.NewReader("a long enough password\n"), &stdout, &stderr)
	if err != nil {
		t.Fatalf("user add: %v (stderr %q)", err, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("user add wrote to stdout: %q", stdout.String())
	}
	if !strings.Contains(stderr.String(), "root@example.test") {
		t.Errorf("no confirmation on stderr: %q", stderr.String())
	}
	st := openStore(t, dir)
	u, err := st.UserByEmail(ctx, "root@example.test")
	if err != nil || u.Role != models.RoleAdmin || !u.Active {
		t.Fatalf("user = %+v, %v", u, err)
	}
	if ok, _ := models.VerifyPassword(u.PasswordHash, "a long enough password"); !ok {
		t.Error("password from stdin (without its newline) does not verify")
	}
	audit, _ := st.ListAudit(ctx, 0, "user.create", 10)
	if len(audit.Entries) != 1 {
		t.Errorf("user.create audit entries: %d", len(audit.Entries))
	}
}

func TestUserAddRefusesBadInput(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	ctx := context.Background()
	if err := run(ctx, []string{"user", "add", "--email", "a@example.test", "--role", "admin", "--data-dir", dir},
		strings.NewReader("a long enough password"), io.Discard, io.Discard); err != nil { // no trailing newline is fine
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"bad role", []string{"--email", "b@example.test", "--role", "root"}, "a long enough password\n", "role"},
		{"short password", []string{"--email", "b@example.test", "--role", "agent"}, "short\n", "password"},
		{"bad email", []string{"--email", "nope", "--role", "agent"}, "a long enough password\n", "email"},
		{"duplicate", []string{"--email", "A@example.test", "--role", "agent"}, "a long enough password\n", "already exists"},
	} {
		args := append([]string{"user", "add", "--data-dir", dir}, tc.args...)
		err := run(ctx, args, strings.NewReader(tc.stdin), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
	st := openStore(t, dir)
	if n, _ := st.CountUsers(ctx); n != 1 {
		t.Errorf("%d users after refused commands, want 1", n)
	}
}

func TestAPIKeyCreatePrintsOnlyTheKey(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"apikey", "create", "--name", "ci", "--role", "operator", "--data-dir", dir}, nil, &stdout, &stderr)
	if err != nil {
		t.Fatalf("apikey create: %v (%s)", err, stderr.String())
	}
	out := stdout.String()
	if !regexp.MustCompile(`^bdk_[A-Za-z0-9_-]{20,}\n$`).MatchString(out) {
		t.Fatalf("stdout = %q, want exactly one line with the key", out)
	}
	key := strings.TrimSpace(out)
	if strings.Contains(stderr.String(), key) || !strings.Contains(stderr.String(), "shown once") {
		t.Errorf("stderr = %q; want the message there and the key only on stdout", stderr.String())
	}
	st := openStore(t, dir)
	k, err := st.APIKeyByToken(ctx, key)
	if err != nil || k.Role != models.RoleOperator || k.Name != "ci" {
		t.Fatalf("stored key %+v, %v", k, err)
	}
	st.Close()

	for _, args := range [][]string{
		{"--name", "x", "--role", "root"},
		{"--name", "", "--role", "agent"},
	} {
		stdout.Reset()
		err := run(ctx, append([]string{"apikey", "create", "--data-dir", dir}, args...), nil, &stdout, io.Discard)
		if err == nil || stdout.Len() != 0 {
			t.Errorf("apikey create %v: err %v, stdout %q; want an error and nothing on stdout", args, err, stdout.String())
		}
	}
}

func TestUsageErrors(t *testing.T) {
	clearEnv(t)
	ctx := context.Background()
	for _, args := range [][]string{nil, {"bogus"}, {"user"}, {"user", "remove"}, {"apikey"}, {"serve", "--no-such-flag"}} {
		var stderr bytes.Buffer
		err := run(ctx, args, nil, io.Discard, &stderr)
		if !errors.Is(err, errUsage) {
			t.Errorf("run(%q) = %v, want errUsage", args, err)
		}
		if stderr.Len() == 0 {
			t.Errorf("run(%q) printed no usage", args)
		}
	}
	var stdout bytes.Buffer
	if err := run(ctx, []string{"help"}, nil, &stdout, io.Discard); err != nil || !strings.Contains(stdout.String(), "botdesk serve") {
		t.Errorf("help: %v %q", err, stdout.String())
	}
	if err := run(ctx, []string{"serve", "--poll-timeout", "2m", "--data-dir", t.TempDir()}, nil, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "BOTDESK_POLL_TIMEOUT") {
		t.Errorf("bad poll timeout: %v", err)
	}
}

// logSink collects serve's log and wakes waiters on every write.
type logSink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	notify chan struct{}
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	select {
	case l.notify <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor blocks until the log matches re or serve exits.
func (l *logSink) waitFor(t *testing.T, re *regexp.Regexp, done <-chan error) []string {
	t.Helper()
	for {
		if m := re.FindStringSubmatch(l.String()); m != nil {
			return m
		}
		select {
		case <-l.notify:
		case err := <-done:
			t.Fatalf("serve exited early: %v\nlog:\n%s", err, l.String())
		case <-time.After(30 * time.Second): // hang guard, not a timing assertion
			t.Fatalf("serve never logged %s\nlog:\n%s", re, l.String())
		}
	}
}

// TestServeSmoke starts serve, checks the basics, then shuts it down while
// a workbench SSE stream, a queue long poll and a Telegram getUpdates long
// poll are all open: each must end on shutdown, well inside
// --shutdown-timeout, which is far shorter than any of their own waits.
func TestServeSmoke(t *testing.T) {
	clearEnv(t)
	dir := filepath.Join(t.TempDir(), "data")
	tg := telegramtest.New()
	tgURL := tg.Start()
	defer tg.Close()
	botToken := tg.AddBot(telegramtest.BotSpec{ID: 700100200, Username: "smoke_test_bot", FirstName: "Smoke"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logSink{notify: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--shutdown-timeout", "3s",
			"--telegram-api", tgURL, "--poll-timeout", "25s"}, nil, io.Discard, logs)
	}()
	base := logs.waitFor(t, regexp.MustCompile(`"botdesk serving" url=(http://127\.0\.0\.1:\d+)`), done)[1]
	setup := logs.waitFor(t, regexp.MustCompile(`setup_url="?(http://[^"\s]+)`), done)[1]

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("/healthz = %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(setup)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("printed set-up link answers %d", resp.StatusCode)
	}
	// With PostgreSQL the key comes from BOTDESK_SECRET_KEY, never a file.
	if fi, err := os.Stat(filepath.Join(dir, store.KeyFileName)); pgtest.Postgres() != os.IsNotExist(err) || (err == nil && fi.Mode().Perm() != 0o600) {
		t.Errorf("key file: %v %v", fi, err)
	}

	live := openLiveConnections(t, dir, base, botToken, tg)

	cancel()
	live.wait(t)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after cancel", err)
		}
	case <-time.After(30 * time.Second): // far beyond --shutdown-timeout: a hang
		t.Fatal("serve did not return after its context was cancelled")
	}
	if !strings.Contains(logs.String(), "stopped") {
		t.Errorf("no orderly shutdown in the log:\n%s", logs.String())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
	for _, bad := range []string{"http shutdown", "workers did not stop"} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("shutdown was held up (%q in the log):\n%s", bad, logs.String())
		}
	}
}

// TestDatabaseURLBadInput: each wrong BOTDESK_DATABASE_URL is one clear
// line naming the problem, and the URL's password never appears.
func TestDatabaseURLBadInput(t *testing.T) {
	clearEnv(t)
	missingDB := "postgres://botdesk:hunter2@127.0.0.1:1/botdesk"
	if u := os.Getenv("BOTDESK_DATABASE_URL"); u != "" {
		missingDB = strings.Replace(u, "/botdesk_test_", "/no_such_db_", 1)
	}
	key := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, url, key, want string
	}{
		{"other scheme", "mysql://botdesk:hunter2@db.example/botdesk", key, "unsupported scheme"},
		{"no secret key", "postgres://botdesk:hunter2@127.0.0.1:1/botdesk", "", "BOTDESK_SECRET_KEY is required"},
		{"unreachable", "postgres://botdesk:hunter2@127.0.0.1:1/botdesk?connect_timeout=2", key, "cannot reach the server"},
		{"not a URL", "postgres://botdesk:hunter2@[::1/botdesk", key, "not a valid PostgreSQL URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BOTDESK_DATABASE_URL", tc.url)
			t.Setenv("BOTDESK_SECRET_KEY", tc.key)
			err := run(context.Background(), []string{"user", "add", "--email", "a@example.test", "--role", "admin", "--data-dir", t.TempDir()},
				strings.NewReader("a long enough password\n"), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line without the password: %q", err)
			}
		})
	}
	if pgtest.Postgres() {
		t.Run("missing database", func(t *testing.T) {
			t.Setenv("BOTDESK_DATABASE_URL", missingDB)
			err := run(context.Background(), []string{"apikey", "create", "--name", "n", "--role", "agent", "--data-dir", t.TempDir()}, nil, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "does not exist") {
				t.Fatalf("error %v, want the missing database named", err)
			}
		})
	}
}
