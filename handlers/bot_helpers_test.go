package handlers

// Helpers for the Chatbot Management tests: a fake Telegram over HTTP, a
// recording BotRunner and direct SQL access to check what was stored.

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store/pgtest"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// botTestGetMeTimeout bounds the slow-Telegram cases yet leaves a loaded
// machine (-race, parallel packages) time for a real answer of the fake;
// the fake's Delay is far longer, so the outcome does not depend on timing.
const botTestGetMeTimeout = 2 * time.Second

// botRunnerCall is one call the recording runner saw. BotStored tells
// whether the bot row still existed when Stop was called.
type botRunnerCall struct {
	Op        string // "start" or "stop"
	BotID     int64
	BotStored bool
}

// recordingRunner is a BotRunner that only records calls.
type recordingRunner struct {
	mu    sync.Mutex
	calls []botRunnerCall
	// exists reports whether a bot row exists (set by the test env).
	exists func(id int64) bool
}

func (r *recordingRunner) Start(_ context.Context, id int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, botRunnerCall{Op: "start", BotID: id})
	return nil
}

func (r *recordingRunner) Stop(id int64) {
	stored := r.exists != nil && r.exists(id)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, botRunnerCall{Op: "stop", BotID: id, BotStored: stored})
}

func (r *recordingRunner) ops(id int64) []botRunnerCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []botRunnerCall
	for _, c := range r.calls {
		if c.BotID == id {
			out = append(out, c)
		}
	}
	return out
}

// botEnv is a testEnv wired to a fake Telegram and a recording runner.
type botEnv struct {
	*testEnv
	tg     *telegramtest.Server
	tgURL  string
	runner *recordingRunner
	db     *sql.DB
}

func newBotEnv(t *testing.T) *botEnv {
	t.Helper()
	tg := telegramtest.New()
	apiURL := tg.Start()
	t.Cleanup(tg.Close)
	return newBotEnvAt(t, tg, apiURL)
}

// newBotEnvAt points botdesk at apiURL (e.g. a closed port).
func newBotEnvAt(t *testing.T, tg *telegramtest.Server, apiURL string) *botEnv {
	t.Helper()
	runner := &recordingRunner{}
	env := newTestEnvWith(t, func(d *Deps) {
		d.Options.TelegramAPI = apiURL
		d.Options.TelegramTimeout = botTestGetMeTimeout
		d.Bots = runner
	})
	db := pgtest.OpenDB(t, env.Store.Path())
	be := &botEnv{testEnv: env, tg: tg, tgURL: apiURL, runner: runner, db: db}
	runner.exists = func(id int64) bool { return be.count(t, "SELECT count(*) FROM bots WHERE telegram_id = ?", id) > 0 }
	return be
}

// addBot registers a bot with the fake and returns its first token.
func (e *botEnv) addBot(id int64, username string) string {
	return e.tg.AddBot(telegramtest.BotSpec{ID: id, Username: username, FirstName: "Acme " + username,
		CanJoinGroups: true, SupportsInlineQueries: true})
}

func (e *botEnv) count(t testing.TB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := e.db.QueryRow(e.Store.Rebind(q), args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (e *botEnv) exec(t testing.TB, q string, args ...any) {
	t.Helper()
	if _, err := e.db.Exec(e.Store.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// storedToken decrypts the channel's stored token.
func (e *botEnv) storedToken(t testing.TB, channelID string) string {
	t.Helper()
	b, err := e.Store.BotByChannel(context.Background(), channelID)
	if err != nil {
		t.Fatalf("bot of %s: %v", channelID, err)
	}
	raw, err := e.Sealer.Open(b.TokenEnc)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// notifyEvents returns the channel's notify outbox payloads, oldest first,
// checking the row fields the dispatcher relies on.
func (e *botEnv) notifyEvents(t testing.TB, channelID string) []callbacks.NotifyEvent {
	t.Helper()
	rows, err := e.db.Query(e.Store.Rebind("SELECT event_id, state, payload FROM outbox WHERE channel_id = ? AND kind = 'notify' ORDER BY id"), channelID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []callbacks.NotifyEvent
	for rows.Next() {
		var id, state, payload string
		if err := rows.Scan(&id, &state, &payload); err != nil {
			t.Fatal(err)
		}
		if len(id) < 10 || id[:4] != "evt_" || state != "pending" {
			t.Errorf("outbox row: event_id %q state %q, want evt_… pending", id, state)
		}
		var ev callbacks.NotifyEvent
		if err := json.Unmarshal([]byte(payload), &ev); err != nil {
			t.Fatalf("payload %q: %v", payload, err)
		}
		out = append(out, ev)
	}
	return out
}

func notifyNames(evs []callbacks.NotifyEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Event)
	}
	return out
}

// connectAPI connects token to ch through the API as an operator.
func (e *botEnv) connectAPI(t testing.TB, ch *models.Channel, token string) *testResponse {
	t.Helper()
	return e.api(t, e.apiKey(t, models.RoleOperator), http.MethodPut, "/api/v1/channels/"+ch.ID+"/bot", map[string]string{"token": token})
}

// connectHTMX connects through the console form as htmx sends it.
func connectHTMX(c *testClient, ch *models.Channel, via, token string) *testResponse {
	return c.htmx(http.MethodPost, "/channels/"+ch.ID+"/chatbot/connect", url.Values{"token": {token}, "via": {via}})
}

// closedURL is a loopback URL nothing listens on any more.
func closedURL(t *testing.T) string {
	t.Helper()
	tg := telegramtest.New()
	u := tg.Start()
	tg.Close()
	return u
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// validShape is a token that passes ParseToken but no fake knows.
const validShape = "987654321:AAbcdefghijklmnopqrstuvwxyz0123456"
