package callbacks_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/store/pgtest"
)

// fakeClock is moved by the test, so retries hours apart are due at once.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t
	}
}

// verifySig checks a Standard Webhooks signature without using package
// callbacks, so a bug shared by Sign and Verify cannot hide.
func verifySig(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
	if err != nil {
		return err
	}
	if d := now.Unix() - ts; d > 300 || d < -300 {
		return fmt.Errorf("timestamp %d too far from %d", ts, now.Unix())
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.%s", h.Get("webhook-id"), ts, body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("no matching signature in %q", h.Get("webhook-signature"))
}

// receiver is a callback endpoint. respond decides the status for the
// n-th (1-based) request carrying an event id.
type receiver struct {
	t       *testing.T
	secret  string
	clock   *fakeClock
	respond func(eventID string, n int) int

	mu    sync.Mutex
	seen  map[string]int
	order []string // event ids of 2xx-answered requests, in arrival order
	paths []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := verifySig(rc.secret, r.Header, body, rc.clock.Now()); err != nil {
		rc.t.Errorf("bad signature: %v", err)
	}
	id := r.Header.Get("webhook-id")
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		rc.t.Errorf("body is not JSON: %v", err)
	}
	rc.mu.Lock()
	rc.seen[id]++
	n := rc.seen[id]
	rc.paths = append(rc.paths, r.URL.Path)
	respond := rc.respond
	rc.mu.Unlock()
	code := http.StatusOK
	if respond != nil {
		code = respond(id, n)
	}
	if code/100 == 2 {
		rc.mu.Lock()
		rc.order = append(rc.order, id)
		rc.mu.Unlock()
	}
	w.WriteHeader(code)
	io.WriteString(w, "answer "+strconv.Itoa(code))
}

func (rc *receiver) delivered() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.order...)
}

type env struct {
	t      *testing.T
	dir    string
	dbURL  string // the PostgreSQL database in that pass (store/pgtest)
	key    string
	st     *store.Store
	sealer *store.Sealer
	clock  *fakeClock
	rc     *receiver
	srv    *httptest.Server
	ch     *models.Channel
}

func newEnv(t *testing.T, queue bool) *env {
	t.Helper()
	raw := make([]byte, 32)
	rand.Read(raw)
	e := &env{t: t, dir: t.TempDir(), dbURL: pgtest.URL(t), key: hex.EncodeToString(raw), clock: &fakeClock{t: time.Now().UTC().Truncate(time.Microsecond)}} // PostgreSQL keeps µs
	e.open()
	secret, err := callbacks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	e.rc = &receiver{t: t, secret: secret, clock: e.clock, seen: map[string]int{}}
	e.srv = httptest.NewServer(e.rc)
	t.Cleanup(e.srv.Close)
	ctx := context.Background()
	e.ch, err = e.st.CreateChannel(ctx, "Support", nil)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := e.sealer.Seal([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	cfg := store.WebhookConfig{HTTPEnabled: true, StatusURL: e.srv.URL + "/status?token=abc", MOURL: e.srv.URL + "/mo", NotifyURL: e.srv.URL + "/notify", QueueEnabled: queue}
	if _, err := e.st.SaveWebhook(ctx, e.ch.ID, cfg, sealed); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) open() {
	e.t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: e.dir, DatabaseURL: e.dbURL})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	sealer, err := store.NewSealer(e.key)
	if err != nil {
		e.t.Fatal(err)
	}
	e.st, e.sealer = st, sealer
}

// start runs a dispatcher until the returned stop func is called; stop
// waits for Run to return.
func (e *env) start() (d *callbacks.Dispatcher, stop func()) {
	d = callbacks.NewDispatcher(e.st, e.sealer, nil, callbacks.Policy{AllowPrivate: true, Timeout: 5 * time.Second}, e.clock.Now,
		callbacks.DispatcherOptions{PollInterval: 5 * time.Millisecond, Rand: func() float64 { return 0.5 }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("Run: %v", err)
			}
		})
	}
	e.t.Cleanup(stop)
	return d, stop
}

func (e *env) enqueue(kind, key string, payload any) string {
	e.t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.EnqueueEvent(context.Background(), e.ch.ID, kind, key, body); err != nil {
		e.t.Fatal(err)
	}
	// The store stamps next_attempt_at with the real time; the fake clock
	// must not lag behind it or the event would never be due.
	e.clock.Set(time.Now().UTC().Truncate(time.Microsecond)) // PostgreSQL keeps µs
	page, err := e.st.ListDeliveries(context.Background(), e.ch.ID, store.DeliveryFilter{Limit: 1})
	if err != nil || len(page.Entries) == 0 {
		e.t.Fatalf("list deliveries: %v", err)
	}
	return page.Entries[0].Event.EventID
}

func (e *env) entry(eventID string) store.DeliveryEntry {
	e.t.Helper()
	page, err := e.st.ListDeliveries(context.Background(), e.ch.ID, store.DeliveryFilter{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, en := range page.Entries {
		if en.Event.EventID == eventID {
			return en
		}
	}
	e.t.Fatalf("event %s not in the delivery log", eventID)
	return store.DeliveryEntry{}
}

// waitFor polls cond; the deadline only bounds a broken test, it is not
// an assertion about speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// settled waits until the event has n attempts and is not leased, then
// returns its log entry.
func (e *env) settled(eventID string, n int) store.DeliveryEntry {
	e.t.Helper()
	var en store.DeliveryEntry
	waitFor(e.t, fmt.Sprintf("%s to have %d attempts", eventID, n), func() bool {
		en = e.entry(eventID)
		return en.Event.Attempts >= n && en.Event.State != store.OutboxStateDelivering
	})
	return en
}

// drive moves the clock to each retry of an event until it is delivered
// or failed, and returns its final log entry.
func (e *env) drive(eventID string) store.DeliveryEntry {
	e.t.Helper()
	for n := 1; ; n++ {
		en := e.settled(eventID, n)
		if en.Event.State != store.OutboxStatePending {
			return en
		}
		e.clock.Set(en.Event.NextAttemptAt)
	}
}

func statusEvent(chID string) callbacks.StatusEvent {
	return callbacks.StatusEvent{MessageID: "msg_1", ChannelID: chID, ChatID: 42, Status: callbacks.StatusSent, Timestamp: 1}
}

func TestDispatcherRetriesUntilSuccess(t *testing.T) {
	e := newEnv(t, false)
	e.rc.respond = func(_ string, n int) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	}
	id := e.enqueue("status", "", statusEvent(e.ch.ID))
	e.start()
	for n := 1; n <= 3; n++ {
		en := e.settled(id, n)
		if en.Event.State != store.OutboxStatePending {
			t.Fatalf("after attempt %d state = %s", n, en.Event.State)
		}
		last := en.Attempts[len(en.Attempts)-1]
		// Rand 0.5 means zero jitter, so the schedule is exact.
		if got, want := en.Event.NextAttemptAt.Sub(e.clock.Now()), callbacks.Backoff(n); got != want {
			t.Errorf("after attempt %d next in %v, want %v", n, got, want)
		}
		if last.StatusCode != 503 || last.Outcome != "retry" || !strings.Contains(last.Error, "HTTP 503") {
			t.Errorf("attempt %d logged as %+v", n, last)
		}
		if strings.Contains(last.URL, "token=abc") {
			t.Errorf("attempt URL keeps the query string: %s", last.URL)
		}
		e.clock.Set(en.Event.NextAttemptAt)
	}
	en := e.settled(id, 4)
	if en.Event.State != store.OutboxStateDelivered || en.Event.DeliveredAt == nil {
		t.Fatalf("final state %s", en.Event.State)
	}
	if len(en.Attempts) != 4 || en.Attempts[3].StatusCode != 204 || en.Attempts[3].Outcome != "success" {
		t.Fatalf("attempts = %+v", en.Attempts)
	}
	if got := e.rc.delivered(); len(got) != 1 || got[0] != id {
		t.Fatalf("receiver accepted %v, want [%s] (same webhook-id on every retry)", got, id)
	}
}

func TestDispatcherGivesUpAfterMaxAttemptsButKeepsEvent(t *testing.T) {
	e := newEnv(t, false)
	e.rc.respond = func(string, int) int { return http.StatusInternalServerError }
	id := e.enqueue("status", "", statusEvent(e.ch.ID))
	e.start()
	for n := 1; n < callbacks.MaxAttempts; n++ {
		e.clock.Set(e.settled(id, n).Event.NextAttemptAt)
	}
	en := e.settled(id, callbacks.MaxAttempts)
	if en.Event.State != store.OutboxStateFailed || len(en.Attempts) != callbacks.MaxAttempts {
		t.Fatalf("state %s with %d attempts", en.Event.State, len(en.Attempts))
	}
	e.clock.Set(e.clock.Now().Add(48 * time.Hour))
	// Resend gives it a fresh schedule.
	e.rc.mu.Lock()
	e.rc.respond = nil
	e.rc.mu.Unlock()
	if _, err := e.st.ResendOutbox(context.Background(), e.ch.ID, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "resent event delivered", func() bool { return e.entry(id).Event.State == store.OutboxStateDelivered })
}

func TestDispatcherRestartLosesNothing(t *testing.T) {
	e := newEnv(t, false)
	e.rc.respond = func(_ string, n int) int {
		if n <= 2 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	}
	ids := []string{e.enqueue("status", "", statusEvent(e.ch.ID)), e.enqueue("notify", "", callbacks.NotifyEvent{Event: "bot_connected", ChannelID: e.ch.ID})}
	_, stop := e.start()
	for _, id := range ids {
		e.settled(id, 1)
	}
	stop()
	// Simulate a crash in the middle of a delivery: a row left leased far
	// into the future must come back when the next dispatcher starts.
	crashed := e.enqueue("mo", "7", callbacks.MOEvent{ChannelID: e.ch.ID, ChatID: 7, MessageType: "text", Text: "hi"})
	if _, err := e.st.ClaimDueOutbox(context.Background(), e.clock.Now(), 24*time.Hour, 10, nil); err != nil {
		t.Fatal(err)
	}
	if e.entry(crashed).Event.State != store.OutboxStateDelivering {
		t.Fatal("setup: row not leased")
	}
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	e.open()
	e.start()
	for _, id := range append(ids, crashed) {
		if en := e.drive(id); en.Event.Attempts != 3 {
			t.Errorf("%s delivered after %d attempts, want 3", id, en.Event.Attempts)
		}
	}
	if got := e.rc.delivered(); len(got) != 3 {
		t.Fatalf("receiver accepted %v", got)
	}
}

func TestDispatcher410DisablesHTTP(t *testing.T) {
	e := newEnv(t, true)
	e.rc.respond = func(string, int) int { return http.StatusGone }
	id := e.enqueue("status", "", statusEvent(e.ch.ID))
	e.start()
	en := e.settled(id, 1)
	if en.Event.State != store.OutboxStateFailed || en.Attempts[0].Outcome != "disable" {
		t.Fatalf("state %s, attempt %+v", en.Event.State, en.Attempts[0])
	}
	ctx := context.Background()
	ch, err := e.st.Channel(ctx, e.ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ch.HTTPEnabled {
		t.Fatal("HTTP Protocol still on after 410")
	}
	// The webhook_disabled notification reaches the notification queue.
	msgs, err := e.st.ReceiveQueue(ctx, callbacks.QueueName(e.ch.ID, callbacks.TypeNotify), time.Now().Add(time.Second), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0].Payload, `"event":"webhook_disabled"`) {
		t.Fatalf("notify queue = %+v", msgs)
	}
	audit, err := e.st.ListAudit(ctx, 0, "webhook.disabled", 10)
	if err != nil || len(audit.Entries) != 1 {
		t.Fatalf("audit = %+v, %v", audit.Entries, err)
	}
	if _, err := e.st.LastDisable(ctx, e.ch.ID); err != nil {
		t.Fatalf("LastDisable: %v", err)
	}
	// Later events are skipped, not sent, and still reach their queue.
	later := e.enqueue("status", "", statusEvent(e.ch.ID))
	waitFor(t, "later event skipped", func() bool { return e.entry(later).Event.State == store.OutboxStateSkipped })
	e.rc.mu.Lock()
	n := len(e.rc.paths)
	e.rc.mu.Unlock()
	if n != 1 {
		t.Fatalf("receiver got %d requests, want only the first", n)
	}
	st, err := e.st.QueueStats(ctx, e.ch.ID, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	depth := map[string]int64{}
	for _, s := range st {
		depth[s.Queue] = s.Depth
	}
	if depth[callbacks.QueueName(e.ch.ID, callbacks.TypeStatus)] != 2 {
		t.Fatalf("status queue depth = %v", depth)
	}
}

func TestDispatcherKeepsPerChatOrderUnderRetries(t *testing.T) {
	e := newEnv(t, false)
	mo := func(chat int64, text string) callbacks.MOEvent {
		return callbacks.MOEvent{ChannelID: e.ch.ID, ChatID: chat, ChatType: "private", MessageType: "text", Text: text}
	}
	a1 := e.enqueue("mo", "100", mo(100, "a1"))
	a2 := e.enqueue("mo", "100", mo(100, "a2"))
	b1 := e.enqueue("mo", "200", mo(200, "b1"))
	a3 := e.enqueue("mo", "100", mo(100, "a3"))
	e.rc.respond = func(id string, n int) int {
		if id == a1 && n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	e.start()
	// Chat 200 is not held up by chat 100's failing message.
	waitFor(t, "b1 delivered", func() bool { return e.entry(b1).Event.State == store.OutboxStateDelivered })
	e.clock.Set(e.settled(a1, 1).Event.NextAttemptAt)
	e.clock.Set(e.settled(a1, 2).Event.NextAttemptAt)
	waitFor(t, "a3 delivered", func() bool { return e.entry(a3).Event.State == store.OutboxStateDelivered })
	var chat100 []string
	for _, id := range e.rc.delivered() {
		if id != b1 {
			chat100 = append(chat100, id)
		}
	}
	if want := []string{a1, a2, a3}; strings.Join(chat100, ",") != strings.Join(want, ",") {
		t.Fatalf("chat 100 delivered in order %v, want %v", chat100, want)
	}
	for _, id := range []string{a2, a3} {
		if n := e.entry(id).Event.Attempts; n != 1 {
			t.Errorf("%s had %d attempts; it must wait, not fail, behind a1", id, n)
		}
	}
}

func TestDispatcherSkipsWhenHTTPOff(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	if _, err := e.st.SaveWebhook(ctx, e.ch.ID, store.WebhookConfig{QueueEnabled: true}, nil); err != nil {
		t.Fatal(err)
	}
	id := e.enqueue("mo", "1", callbacks.MOEvent{ChannelID: e.ch.ID, ChatID: 1})
	e.start()
	waitFor(t, "skipped", func() bool { return e.entry(id).Event.State == store.OutboxStateSkipped })
	msgs, err := e.st.ReceiveQueue(ctx, callbacks.QueueName(e.ch.ID, callbacks.TypeMO), time.Now().Add(time.Second), time.Minute, 10)
	if err != nil || len(msgs) != 1 || msgs[0].EventID != id {
		t.Fatalf("mo queue = %+v, %v", msgs, err)
	}
}

// A stop while a request is in flight waits for it and records it.
func TestDispatcherGracefulStop(t *testing.T) {
	e := newEnv(t, false)
	arrived, release := make(chan struct{}), make(chan struct{})
	e.rc.respond = func(string, int) int {
		close(arrived)
		<-release
		return http.StatusOK
	}
	id := e.enqueue("status", "", statusEvent(e.ch.ID))
	_, stop := e.start()
	<-arrived
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	close(release)
	<-stopped
	if en := e.entry(id); en.Event.State != store.OutboxStateDelivered || len(en.Attempts) != 1 {
		t.Fatalf("after stop: state %s, %d attempts", en.Event.State, len(en.Attempts))
	}
}

// A receiver that never answers costs one timeout, logged, then a retry.
func TestDispatcherHangingReceiverTimesOut(t *testing.T) {
	e := newEnv(t, false)
	hang := make(chan struct{})
	defer close(hang)
	e.rc.respond = func(string, int) int {
		<-hang
		return http.StatusOK
	}
	id := e.enqueue("status", "", statusEvent(e.ch.ID))
	d := callbacks.NewDispatcher(e.st, e.sealer, nil, callbacks.Policy{AllowPrivate: true, Timeout: 100 * time.Millisecond}, e.clock.Now,
		callbacks.DispatcherOptions{PollInterval: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	en := e.settled(id, 1)
	cancel()
	<-done
	if en.Event.State != store.OutboxStatePending || en.Attempts[0].StatusCode != 0 || en.Attempts[0].Error == "" {
		t.Fatalf("state %s, attempt %+v", en.Event.State, en.Attempts[0])
	}
}

func TestDispatcherMetrics(t *testing.T) {
	e := newEnv(t, true)
	e.rc.respond = func(_ string, n int) int {
		if n == 1 {
			return 500
		}
		return 200
	}
	id := e.enqueue("status", "", statusEvent(e.ch.ID))
	d, _ := e.start()
	e.clock.Set(e.settled(id, 1).Event.NextAttemptAt)
	e.settled(id, 2)
	var b strings.Builder
	d.WriteMetrics(context.Background(), &b)
	out := b.String()
	for _, want := range []string{
		`botdesk_callback_deliveries_total{result="ok"} 1`,
		`botdesk_callback_deliveries_total{result="failed"} 1`,
		`botdesk_outbox_pending 0`,
		"# HELP botdesk_callback_latency_seconds ",
		`botdesk_callback_latency_seconds_bucket{channel="` + e.ch.ID + `",le="+Inf"} 2`,
		`botdesk_callback_latency_seconds_count{channel="` + e.ch.ID + `"} 2`,
		`botdesk_queue_depth{queue="` + callbacks.QueueName(e.ch.ID, callbacks.TypeStatus) + `"} 1`,
		`botdesk_queue_oldest_age_seconds{queue="` + callbacks.QueueName(e.ch.ID, callbacks.TypeStatus) + `"}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics missing %q:\n%s", want, out)
		}
	}
}

// The store spells queue names itself (it cannot import callbacks).
func TestStoreQueueNameMatches(t *testing.T) {
	for _, k := range []callbacks.EventType{callbacks.TypeStatus, callbacks.TypeMO, callbacks.TypeNotify} {
		if a, b := store.QueueName("tg-abcdefghij", string(k)), callbacks.QueueName("tg-abcdefghij", k); a != b {
			t.Errorf("store %q != callbacks %q", a, b)
		}
	}
}

// An event whose kind has no URL is skipped in the claim itself, with the
// reason in the log, while the other kinds of the same batch are sent.
func TestDispatcherSkipsKindWithoutURLInTheSameBatch(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	cfg := store.WebhookConfig{HTTPEnabled: true, StatusURL: e.srv.URL + "/status"}
	if _, err := e.st.SaveWebhook(ctx, e.ch.ID, cfg, nil); err != nil {
		t.Fatal(err)
	}
	mo := e.enqueue("mo", "1", callbacks.MOEvent{ChannelID: e.ch.ID, ChatID: 1})
	status := e.enqueue("status", "", statusEvent(e.ch.ID))
	e.start()
	waitFor(t, "status delivered", func() bool { return e.entry(status).Event.State == store.OutboxStateDelivered })
	waitFor(t, "mo skipped", func() bool { return e.entry(mo).Event.State == store.OutboxStateSkipped })
	en := e.entry(mo)
	if en.Event.LastError != "no callback URL is set for mo events" || len(en.Attempts) != 0 {
		t.Fatalf("skipped mo: last_error %q, attempts %+v", en.Event.LastError, en.Attempts)
	}
	if got := e.rc.delivered(); len(got) != 1 || got[0] != status {
		t.Fatalf("receiver got %v, want only the status event", got)
	}
}
