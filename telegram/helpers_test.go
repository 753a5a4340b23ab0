package telegram

import (
	"github.com/botdesk/botdesk/callbacks"

	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/store/pgtest"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// testBotID is the bot every test polls.
const testBotID int64 = 7012345678

// env is a fake Telegram, a real SQLite store with one channel and its bot,
// and a read-only view of the database for assertions.
type env struct {
	t       *testing.T
	fake    *telegramtest.Server
	api     string
	st      *store.Store
	sealer  *store.Sealer
	key     string
	dir     string
	url     string // the PostgreSQL database ("" on SQLite)
	channel *models.Channel
	token   string
	db      *gorm.DB
	hc      *http.Client
	waits   *waitLog
}

func newKey(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	fake := telegramtest.New()
	api := fake.Start()
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	url := pgtest.URL(t)
	st, err := store.Open(ctx, store.Config{DataDir: dir, DatabaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	key := newKey(t)
	sealer, err := store.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, fake: fake, api: api, st: st, sealer: sealer, key: key, dir: dir, url: url, waits: &waitLog{}}
	e.channel, err = st.CreateChannel(ctx, "Support", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.token = fake.AddBot(telegramtest.BotSpec{ID: testBotID, Username: "acme_bot", FirstName: "Acme"})
	e.connectBot(e.channel.ID, testBotID, e.token)
	e.db = pgtest.OpenGorm(t, st.Path())
	tr := &http.Transport{}
	e.hc = &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	return e
}

// connectBot stores a bot row the way Connect does.
func (e *env) connectBot(channelID string, botID int64, token string) {
	e.t.Helper()
	sealed, err := e.sealer.Seal([]byte(token))
	if err != nil {
		e.t.Fatal(err)
	}
	b := &models.Bot{ChannelID: channelID, TelegramID: botID, Username: "acme_bot", FirstName: "Acme", TokenEnc: sealed,
		TokenHint: "hint"}
	if err := e.st.CreateBot(context.Background(), b); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) supervisorConfig() SupervisorConfig {
	return SupervisorConfig{
		Events: callbacks.Payloads{}, Store: e.st, Sealer: e.sealer, APIBase: e.api, HTTPClient: e.hc, PollTimeout: time.Second,
		BackoffMin: time.Millisecond, BackoffMax: 4 * time.Millisecond, ConflictRetry: 3 * time.Millisecond,
		Wait: e.waits.wait,
	}
}

// runBackground starts run (a Supervisor's or a Sender's Run) in its own
// goroutine; stop cancels its context and returns what Run returned.
func runBackground(run func(context.Context) error) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// runSupervisor starts a supervisor's Run and stops it at cleanup.
func (e *env) runSupervisor() *Supervisor {
	e.t.Helper()
	sup := NewSupervisor(e.supervisorConfig())
	stop := runBackground(sup.Run)
	e.t.Cleanup(func() {
		if err := stop(); err != nil {
			e.t.Errorf("supervisor Run: %v", err)
		}
	})
	return sup
}

func (e *env) bot() *models.Bot {
	e.t.Helper()
	var b models.Bot
	if err := e.db.Take(&b, "telegram_id = ?", testBotID).Error; err != nil {
		e.t.Fatal(err)
	}
	return &b
}

func (e *env) count(table, where string, args ...any) int64 {
	e.t.Helper()
	var n int64
	q := e.db.Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

// waitUntil polls cond; it fails the test after a generous bound that only
// a broken poller reaches (no timing is asserted).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// caughtUp waits until every injected update is stored and confirmed.
func (e *env) caughtUp(last int) {
	e.t.Helper()
	waitUntil(e.t, "the poller to store every update", func() bool {
		return e.bot().UpdateOffset == int64(last)+1
	})
}

// waitLog records the waits the code under test asked for and sleeps only
// briefly, so retry behaviour is asserted on what was requested, not on
// the wall clock.
type waitLog struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (w *waitLog) wait(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.waits = append(w.waits, d)
	w.mu.Unlock()
	return sleepCtx(ctx, min(d, 2*time.Millisecond))
}

func (w *waitLog) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.waits...)
}

func storeProfile() store.BotProfile {
	return store.BotProfile{Username: "acme_bot", FirstName: "Acme"}
}
