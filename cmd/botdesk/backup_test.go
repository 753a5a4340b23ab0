package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// botdeskBinary builds the real binary once per test run.
func botdeskBinary(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "botdesk")
	cmd := exec.Command("go", "build", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// runBin runs the binary with only the given BOTDESK_* settings.
func runBin(t *testing.T, bin string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = cleanEnv(env)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func cleanEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BOTDESK_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// TestBackupWhileServingThenRestore takes a backup with a real `botdesk
// serve` ingesting messages from the fake Bot API, restores it into a new
// data dir, and checks the copy is one consistent committed state: every
// message in it is in the live database unchanged, each stored update has
// its message, the bot's offset is exactly past the last stored update,
// and the sealed key opens the tokens.
func TestBackupWhileServingThenRestore(t *testing.T) {
	clearEnv(t)
	bin := botdeskBinary(t)
	root := t.TempDir()
	live, restored := filepath.Join(root, "live"), filepath.Join(root, "restored")
	pass := filepath.Join(root, "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tg := telegramtest.New()
	tgURL := tg.Start()
	defer tg.Close()
	const botID = 700200300
	token := tg.AddBot(telegramtest.BotSpec{ID: botID, Username: "backup_test_bot", FirstName: "Backup"})

	env := []string{"BOTDESK_DATA_DIR=" + live, "BOTDESK_TELEGRAM_API=" + tgURL, "BOTDESK_POLL_TIMEOUT=1s", "BOTDESK_LOG_LEVEL=warn"}
	key, _, err := runBin(t, bin, env, "apikey", "create", "--name", "backup-test", "--role", "admin")
	if err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	key = strings.TrimSpace(key)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	serve := exec.Command(bin, "serve")
	serve.Env = cleanEnv(append(env, "BOTDESK_ADDR="+addr))
	var serveLog bytes.Buffer
	serve.Stdout, serve.Stderr = &serveLog, &serveLog
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = serve.Wait(); close(exited) }()
	defer func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = serve.Process.Kill()
		}
	}()
	base := "http://" + addr
	api := func(method, path string, body any) *http.Response {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, serveLog.String())
		}
		return resp
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) { // hang guard
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not healthy:\n%s", serveLog.String())
		}
	}
	var ch struct{ ID string }
	resp := api(http.MethodPost, "/api/v1/channels", map[string]string{"name": "Backup"})
	_ = json.NewDecoder(resp.Body).Decode(&ch)
	resp.Body.Close()
	if resp = api(http.MethodPut, "/api/v1/channels/"+ch.ID+"/bot", map[string]string{"token": token}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("connect: %d", resp.StatusCode)
	}
	resp.Body.Close()

	// Customers write all the time the backup runs.
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			from := telego.User{ID: int64(1000 + i%7), FirstName: fmt.Sprint("Customer ", i%7)}
			tg.Inject(botID, telegramtest.PrivateText(from, fmt.Sprint("message ", i)))
			sent.Add(1)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	liveDB, err := sql.Open("sqlite3", "file:"+filepath.Join(live, store.DBFileName)+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer liveDB.Close()
	count := func(db *sql.DB, q string) (n int64) {
		t.Helper()
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	for count(liveDB, "SELECT COUNT(*) FROM messages") < 50 {
		time.Sleep(10 * time.Millisecond) // waiting for a condition, not a timed assertion
	}
	out := filepath.Join(root, "botdesk.backup")
	_, stderr, err := runBin(t, bin, env, "backup", "--out", out, "--passphrase-file", pass)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "verified (integrity_check ok)") || !strings.Contains(stderr, "sealed with your passphrase") {
		t.Errorf("backup report:\n%s", stderr)
	}
	close(stop)
	wg.Wait()
	for tg.Pending(botID) > 0 || count(liveDB, "SELECT COUNT(*) FROM messages") < sent.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	liveN := count(liveDB, "SELECT COUNT(*) FROM messages")
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file: %v %v, want mode 0600", fi, err)
	}

	// Restore refuses a data dir that has anything in it.
	if _, stderr, err := runBin(t, bin, []string{"BOTDESK_DATA_DIR=" + live}, "restore", "--from", out, "--passphrase-file", pass); err == nil ||
		!strings.Contains(stderr, "not empty") {
		t.Errorf("restore into the live dir: %v %s", err, stderr)
	}
	if _, stderr, err := runBin(t, bin, []string{"BOTDESK_DATA_DIR=" + restored}, "restore", "--from", out); err == nil ||
		!strings.Contains(stderr, "passphrase") {
		t.Errorf("restore without the passphrase: %v %s", err, stderr)
	}
	if _, stderr, err = runBin(t, bin, []string{"BOTDESK_DATA_DIR=" + restored}, "restore", "--from", out, "--passphrase-file", pass); err != nil {
		t.Fatalf("restore: %v\n%s", err, stderr)
	}
	rdb, err := sql.Open("sqlite3", "file:"+filepath.Join(restored, store.DBFileName)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	restoredN := count(rdb, "SELECT COUNT(*) FROM messages")
	if restoredN < 50 || restoredN >= liveN {
		t.Errorf("restored %d messages; want the ≥50 of backup time and fewer than the %d after it", restoredN, liveN)
	}
	// One committed state: the offset is exactly past the last stored
	// update and every stored update has its message.
	offset := count(rdb, fmt.Sprintf("SELECT update_offset FROM bots WHERE telegram_id = %d", botID))
	maxUpdate := count(rdb, "SELECT MAX(update_id) FROM ingested_updates")
	if offset != maxUpdate+1 {
		t.Errorf("restored offset %d, last stored update %d: the snapshot is not one committed state", offset, maxUpdate)
	}
	if n := count(rdb, "SELECT COUNT(*) FROM ingested_updates u WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.update_id = u.update_id)"); n != 0 {
		t.Errorf("%d stored updates without their message", n)
	}
	rows, err := rdb.Query("SELECT id, update_id, text FROM messages ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, upd int64
		var text, liveText string
		if err := rows.Scan(&id, &upd, &text); err != nil {
			t.Fatal(err)
		}
		if err := liveDB.QueryRow("SELECT text FROM messages WHERE id = ? AND update_id = ?", id, upd).Scan(&liveText); err != nil || liveText != text {
			t.Fatalf("restored message %d (%q) differs from the live one (%q, %v)", id, text, liveText, err)
		}
	}
	a, _ := os.ReadFile(filepath.Join(live, store.KeyFileName))
	b, _ := os.ReadFile(filepath.Join(restored, store.KeyFileName))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("restored secret.key differs from the original")
	}
	if fi, err := os.Stat(filepath.Join(restored, store.KeyFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("restored key file mode: %v %v", fi, err)
	}

	// The restored copy serves.
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logSink{notify: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", restored, "--telegram-api", "http://127.0.0.1:1"}, nil, io.Discard, logs)
	}()
	logs.waitFor(t, regexpServing, done)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve on the restored dir: %v", err)
	}
}

var regexpServing = regexp.MustCompile(`"botdesk serving" url=(http://127\.0\.0\.1:\d+)`)
