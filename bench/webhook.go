package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/store"
)

// WebhookSizes bound the delivery scenario.
type WebhookSizes struct {
	Events int
	Chats  int // distinct ordering keys (mo events of a chat go in order)
}

// MeasureWebhooks seeds pending "mo" outbox events for one channel whose
// MO Message Callback URL is an httptest receiver on 127.0.0.1, runs the
// real callbacks.Dispatcher with the options `botdesk serve` uses, and
// times until the receiver has answered 200 to every event. The receiver
// verifies the Standard Webhooks signature of every 50th request.
func MeasureWebhooks(ctx context.Context, root string, sz WebhookSizes) ([]Figure, error) {
	dir := filepath.Join(root, "webhook")
	path, err := migrate(ctx, dir)
	if err != nil {
		return nil, err
	}
	secret, err := callbacks.NewSecret()
	if err != nil {
		return nil, err
	}
	var got, bad atomic.Int64
	allIn := make(chan struct{})
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := got.Add(1)
		if n%50 == 1 {
			if err := callbacks.Verify(secret, r.Header, body, 5*time.Minute, time.Now()); err != nil {
				bad.Add(1)
			}
		}
		w.WriteHeader(http.StatusOK)
		if n == int64(sz.Events) {
			close(allIn)
		}
	}))
	defer recv.Close()
	sealer, err := newSealer()
	if err != nil {
		return nil, err
	}
	enc, err := sealer.Seal([]byte(secret))
	if err != nil {
		return nil, err
	}
	if err := seedOutbox(ctx, path, recv.URL, enc, sz); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	d := callbacks.NewDispatcher(st, sealer, nil, callbacks.Policy{AllowPrivate: true}, nil, callbacks.DispatcherOptions{})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- d.Run(rctx) }()
	var elapsed time.Duration
	select {
	case <-allIn:
		elapsed = time.Since(start)
	case <-time.After(3 * time.Minute):
	}
	cancel()
	if err := <-done; err != nil {
		return nil, err
	}
	if elapsed == 0 {
		return nil, fmt.Errorf("bench: webhook: only %d of %d events delivered within 3 minutes", got.Load(), sz.Events)
	}
	if bad.Load() > 0 {
		return nil, fmt.Errorf("bench: webhook: %d deliveries had a bad signature", bad.Load())
	}
	rate := float64(sz.Events) / elapsed.Seconds()
	return []Figure{{
		Name:     "webhook deliveries/s (callbacks.Dispatcher → local receiver)",
		Value:    fmt.Sprintf("%.0f deliveries/s", rate),
		Baseline: "—",
		Ratio:    "—",
		Target:   "≥ 2,000/s",
		Status:   check(rate >= 2000),
		Notes: fmt.Sprintf("%d pending mo events over %d chats (ordering keys) of one channel, receiver httptest on 127.0.0.1 answering 200; "+
			"dispatcher with serve's defaults (claims of 128, 128 in flight, 16 requests per host), each attempt signed, logged in delivery_attempts "+
			"(attempts recorded in group commits with the next claim) and the row marked delivered; signatures verified on every 50th request.", sz.Events, sz.Chats),
	}}, nil
}

func seedOutbox(ctx context.Context, path, url string, secretEnc []byte, sz WebhookSizes) error {
	db, err := openSeed(path)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now().UTC()
	ch := channelID(0)
	if _, err := db.ExecContext(ctx, `INSERT INTO channels (id, name, created_at, updated_at, http_enabled, status_url, mo_url, notify_url, signing_secret_enc)
		VALUES (?, 'Webhook bench', ?, ?, 1, ?, ?, ?, ?)`, ch, now, now, url+"/status", url+"/mo", url+"/notify", secretEnc); err != nil {
		return fmt.Errorf("bench: seed webhook channel: %w", err)
	}
	return inTx(ctx, db, `INSERT INTO outbox (event_id, channel_id, kind, ordering_key, payload, state, next_attempt_at, created_at)
		VALUES (?, ?, 'mo', ?, ?, 'pending', ?, ?)`, func(stmt *sql.Stmt) error {
		for i := 0; i < sz.Events; i++ {
			chat := chatID(i % sz.Chats)
			payload := fmt.Sprintf(`{"type":"mo","message_id":%d,"channel_id":%q,"chat_id":%d,"chat_type":"private","from":{"id":%d,"username":"user%d","display_name":"Customer"},"text":"Hello, I have a question about my order %d","timestamp":%d,"update_id":%d}`,
				i+1, ch, chat, chat, i%sz.Chats, i, now.UnixMilli(), i+1)
			if _, err := stmt.ExecContext(ctx, fmt.Sprintf("evt_bench%08d", i), ch, fmt.Sprint(chat), payload, now.Add(-time.Second), now); err != nil {
				return err
			}
		}
		return nil
	})
}
