package bench

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// BuildBinary builds the real botdesk binary (no race detector) into dir.
func BuildBinary(ctx context.Context, moduleRoot, dir string) (string, error) {
	out := filepath.Join(dir, "botdesk")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/botdesk")
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: go build ./cmd/botdesk: %v\n%s", err, b)
	}
	return out, nil
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// proc is a running `botdesk serve`.
type proc struct {
	cmd     *exec.Cmd
	base    string
	logPath string
	exited  chan struct{}
}

// startServe execs `botdesk serve` with only the given BOTDESK_* settings
// (any from the caller's shell are dropped) and returns at once.
func startServe(bin, dataDir, tgURL, logPath string, extraEnv ...string) (*proc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BOTDESK_") {
			env = append(env, kv)
		}
	}
	env = append(env, "BOTDESK_DATA_DIR="+dataDir, "BOTDESK_ADDR="+addr, "BOTDESK_SECRET_KEY="+benchKey,
		"BOTDESK_TELEGRAM_API="+tgURL, "BOTDESK_POLL_TIMEOUT=30s", "BOTDESK_LOG_LEVEL=warn", "BOTDESK_SHUTDOWN_TIMEOUT=10s")
	env = append(env, extraEnv...)
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: start botdesk serve: %w", err)
	}
	p := &proc{cmd: cmd, base: "http://" + addr, logPath: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	return p, nil
}

// waitHealthy polls /healthz until it answers 200, returning when it did.
func (p *proc) waitHealthy(timeout time.Duration) (time.Time, error) {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return time.Time{}, fmt.Errorf("bench: botdesk serve exited early:\n%s", p.logTail())
		default:
		}
		resp, err := hc.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("bench: /healthz not 200 within %s:\n%s", timeout, p.logTail())
}

func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop sends SIGTERM and waits (killing it after 20s).
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// memKB reads a Vm* line of /proc/<pid>/status in kB.
func (p *proc) memKB(field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("bench: no %s in /proc/%d/status", field, p.cmd.Process.Pid)
}

// MeasureRSS starts the real binary with bots connected bots whose tokens
// the fake Bot API (in this process) accepts, waits until every poller has
// made its quick first getUpdates and is in its long poll (a second
// getUpdates per bot), and reads VmRSS.
func MeasureRSS(ctx context.Context, bin, root string, bots int) ([]Figure, error) {
	dir := filepath.Join(root, "rss")
	path, err := migrate(ctx, dir)
	if err != nil {
		return nil, err
	}
	fake := telegramtest.New()
	url := fake.Start()
	defer fake.Close()
	if err := seedBots(ctx, path, fake, bots); err != nil {
		return nil, err
	}
	p, err := startServe(bin, dir, url, filepath.Join(root, "rss-serve.log"))
	if err != nil {
		return nil, err
	}
	defer p.stop()
	if _, err := p.waitHealthy(30 * time.Second); err != nil {
		return nil, err
	}
	start := time.Now()
	deadline := start.Add(2 * time.Minute)
	for {
		polling := 0
		for i := 0; i < bots; i++ {
			if fake.BotCalls(benchBotID(i), "getUpdates") >= 2 {
				polling++
			}
		}
		if polling == bots {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bench: rss: only %d of %d pollers reached their long poll within 2 minutes", polling, bots)
		}
		time.Sleep(50 * time.Millisecond)
	}
	allIn := time.Since(start)
	time.Sleep(2 * time.Second) // let the start-up garbage be collected
	rss, err := p.memKB("VmRSS")
	if err != nil {
		return nil, err
	}
	hwm, _ := p.memKB("VmHWM")
	mb := float64(rss) / 1024
	return []Figure{{
		Name:     fmt.Sprintf("RSS of botdesk serve with %d bots long-polling", bots),
		Value:    fmt.Sprintf("%.0f MB", mb),
		Baseline: "—",
		Ratio:    "—",
		Target:   "< 300 MB",
		Status:   check(mb < 300),
		Notes: fmt.Sprintf("real binary (go build ./cmd/botdesk), %d channels each with a connected bot (tokens sealed with BOTDESK_SECRET_KEY), "+
			"BOTDESK_TELEGRAM_API = the fake in the bench process, poll timeout 30s; all %d pollers in long poll (≥ 2 getUpdates each on the fake) "+
			"%s after /healthz; VmRSS read 2s later from /proc/<pid>/status (VmHWM %.0f MB).", bots, bots, allIn.Round(time.Millisecond), float64(hwm)/1024),
	}}, nil
}

// seedBots writes n channels each with a connected bot whose token the fake
// knows.
func seedBots(ctx context.Context, path string, fake *telegramtest.Server, n int) error {
	sealer, err := newSealer()
	if err != nil {
		return err
	}
	db, err := openSeed(path)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now().UTC()
	err = inTx(ctx, db, `INSERT INTO channels (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)`, func(stmt *sql.Stmt) error {
		for i := 0; i < n; i++ {
			if _, err := stmt.ExecContext(ctx, channelID(i), fmt.Sprintf("Bot channel %04d", i), now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bench: seed channels: %w", err)
	}
	return inTx(ctx, db, `INSERT INTO bots (channel_id, telegram_id, username, first_name, token_enc, token_hint, state, connected_at, updated_at)
		VALUES (?, ?, ?, 'Bench', ?, ?, 'polling', ?, ?)`, func(stmt *sql.Stmt) error {
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("bench%d_bot", i)
			tok := fake.AddBot(telegramtest.BotSpec{ID: benchBotID(i), Username: name})
			enc, err := sealer.Seal([]byte(tok))
			if err != nil {
				return err
			}
			if _, err := stmt.ExecContext(ctx, channelID(i), benchBotID(i), name, enc, tok[len(tok)-4:], now, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// MeasureStartup seeds messages (with conversations and channels) and
// times exec → first /healthz 200 of the real binary, three times.
func MeasureStartup(ctx context.Context, bin, root, admin string, sp seedSpec) ([]Figure, error) {
	prefix := ""
	if admin != "" {
		prefix = "pg-"
	}
	dir := filepath.Join(root, prefix+"startup")
	d, drop, err := newBenchDB(ctx, admin, dir)
	if err != nil {
		return nil, err
	}
	defer drop()
	t0 := time.Now()
	if err := seedDB(ctx, d, sp); err != nil {
		return nil, err
	}
	var env []string
	settle := "WAL checkpointed"
	if d.pg() {
		env = []string{"BOTDESK_DATABASE_URL=" + d.url}
		settle = "ANALYZE run"
		err = analyze(ctx, d)
	} else {
		err = checkpoint(ctx, d.path)
	}
	if err != nil {
		return nil, err
	}
	seedTime := time.Since(t0)
	var times []time.Duration
	for run := 0; run < 3; run++ {
		p, err := startServe(bin, dir, "http://127.0.0.1:9", filepath.Join(root, fmt.Sprintf("%sstartup-%d.log", prefix, run)), env...)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		at, err := p.waitHealthy(60 * time.Second)
		p.stop()
		if err != nil {
			return nil, err
		}
		times = append(times, at.Sub(start))
	}
	worst := summarize(times).Max
	return []Figure{{
		Name:     fmt.Sprintf("start-up time with %s stored messages (exec → /healthz 200)%s", humanCount(sp.Messages), d.suffix()),
		Value:    fmt.Sprintf("%s (worst of 3)", ms(worst)),
		Baseline: "—",
		Ratio:    "—",
		Target:   "< 1 s",
		Status:   check(worst < time.Second),
		Notes: fmt.Sprintf("%s, real binary, %d messages in %d conversations of %d channels seeded with raw SQL (%s), %s; "+
			"three starts, each timed from exec to the first 200 of GET /healthz (polled every 2 ms) then stopped with SIGTERM: %s, %s, %s.",
			d.dialect(), sp.Messages, sp.Conversations, sp.Channels, seedTime.Round(time.Second), settle, ms(times[0]), ms(times[1]), ms(times[2])),
	}}, nil
}

// analyze refreshes PostgreSQL's statistics after the seed, as autovacuum
// would soon after a bulk load.
func analyze(ctx context.Context, d benchDB) error {
	db, err := d.openWriter()
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "ANALYZE")
	return err
}

// checkpoint folds the WAL into the database file, as after a clean stop.
func checkpoint(ctx context.Context, path string) error {
	db, err := openSeed(path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

func humanCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}
