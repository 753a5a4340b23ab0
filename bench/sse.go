package bench

import (
	"github.com/botdesk/botdesk/callbacks"

	"bufio"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/handlers"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// SSESizes bound the live-stream scenario.
type SSESizes struct {
	Messages int // injected in total
	Rate     int // messages per second
	Streams  int // open conversations, one SSE connection each
}

var latToken = regexp.MustCompile(`lat(\d{7})z`)

// MeasureSSE measures arrival → event: each message is injected into the
// fake Bot API at a steady rate, travels through the real poller, the
// ingest transaction and the hub, and is timed when its bubble arrives as
// a "msg" event on a real SSE connection to /workbench/c/:cid/events.
// Arrival is the moment the update exists on the (fake) Telegram side, so
// the figure includes the long-poll hand-over as well.
func MeasureSSE(ctx context.Context, root string, sz SSESizes) ([]Figure, error) {
	dir := filepath.Join(root, "sse")
	st, sealer, err := openStore(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return measureSSE(ctx, st, st, sealer, sz)
}

// MeasureSSEAcross is MeasureSSE with two instances on one PostgreSQL
// database (admin's server): instance A polls the bot and stores the
// messages, the SSE connections go to instance B, which learns of them
// through the change feed (store/feed.go).
func MeasureSSEAcross(ctx context.Context, root, admin string, sz SSESizes) ([]Figure, error) {
	d, drop, err := newBenchDB(ctx, admin, filepath.Join(root, "sse-across"))
	if err != nil {
		return nil, err
	}
	defer drop()
	open := func(id string) (*store.Store, error) {
		cfg := d.config()
		cfg.InstanceID = id
		return store.Open(ctx, cfg)
	}
	a, err := open("bench-a")
	if err != nil {
		return nil, err
	}
	defer a.Close()
	b, err := open("bench-b")
	if err != nil {
		return nil, err
	}
	defer b.Close()
	sealer, err := newSealer()
	if err != nil {
		return nil, err
	}
	return measureSSE(ctx, a, b, sealer, sz)
}

// measureSSE polls through st and streams through view (the same store,
// or another instance on the same database).
func measureSSE(ctx context.Context, st, view *store.Store, sealer *store.Sealer, sz SSESizes) ([]Figure, error) {
	across := st != view
	fake := telegramtest.New()
	url := fake.Start()
	defer fake.Close()
	_, bot, err := connectBot(ctx, st, sealer, fake, 0, models.WorkbenchAll)
	if err != nil {
		return nil, err
	}
	sup := telegram.NewSupervisor(telegram.SupervisorConfig{Events: callbacks.Payloads{}, Store: st, Sealer: sealer, APIBase: url, PollTimeout: 10 * time.Second})
	sctx, stopSup := context.WithCancel(ctx)
	supDone := make(chan error, 1)
	go func() { supDone <- sup.Run(sctx) }()
	defer func() { stopSup(); <-supDone }()
	var bots handlers.BotRunner = sup
	if across {
		bots = nil // the viewing instance polls nothing
	}
	con, err := startConsole(ctx, view, sealer, bots, url)
	if err != nil {
		return nil, err
	}
	defer con.close()

	users := make([]telego.User, sz.Streams)
	for i := range users {
		users[i] = newUser(i)
		fake.Inject(bot, telegramtest.PrivateText(users[i], "first message"))
	}
	convs, err := waitConversations(ctx, st, sz.Streams)
	if err != nil {
		return nil, err
	}
	after, err := st.LatestMessageID(ctx)
	if err != nil {
		return nil, err
	}

	sent := make([]time.Time, sz.Messages)
	recv := make([]time.Time, sz.Messages)
	var mu sync.Mutex
	got := 0
	allIn := make(chan struct{})
	streamCtx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	var wg sync.WaitGroup
	ready := make(chan error, sz.Streams)
	for _, cid := range convs {
		req, err := con.get(streamCtx, fmt.Sprintf("/workbench/c/%d/events?after=%d", cid, after))
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			readStream(req, ready, func(name, data string) {
				if name != "msg" {
					return
				}
				now := time.Now()
				for _, m := range latToken.FindAllStringSubmatch(data, -1) {
					i, _ := strconv.Atoi(m[1])
					mu.Lock()
					if i < len(recv) && recv[i].IsZero() {
						recv[i] = now
						got++
						if got == len(recv) {
							close(allIn)
						}
					}
					mu.Unlock()
				}
			})
		}()
	}
	for range convs {
		select {
		case err := <-ready:
			if err != nil {
				return nil, err
			}
		case <-time.After(10 * time.Second):
			return nil, fmt.Errorf("bench: sse: stream did not start within 10s")
		}
	}

	// users are indexed like convs: both follow injection order, and
	// waitConversations returns them oldest first.
	interval := time.Second / time.Duration(sz.Rate)
	start := time.Now()
	for i := 0; i < sz.Messages; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		u := users[i%len(users)]
		mu.Lock()
		sent[i] = time.Now()
		mu.Unlock()
		fake.Inject(bot, telegramtest.PrivateText(u, fmt.Sprintf("order question lat%07dz please", i)))
	}
	sendTime := time.Since(start)
	select {
	case <-allIn:
	case <-time.After(30 * time.Second):
	}
	stopStreams()
	con.close()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	for i := range recv {
		if !recv[i].IsZero() {
			lat = append(lat, recv[i].Sub(sent[i]))
		}
	}
	if len(lat) != sz.Messages {
		return nil, fmt.Errorf("bench: sse: %d of %d messages never reached their stream", sz.Messages-len(lat), sz.Messages)
	}
	l := summarize(lat)
	achieved := float64(sz.Messages) / sendTime.Seconds()
	if across {
		return []Figure{{
			Name:     fmt.Sprintf("arrival on instance A → SSE event on instance B, %d msg/s — PostgreSQL", sz.Rate),
			Value:    fmt.Sprintf("p50 %s, p99 %s", ms(l.P50), ms(l.P99)),
			Baseline: "—",
			Ratio:    "—",
			Target:   "p99 < 100 ms",
			Status:   check(l.P99 < 100*time.Millisecond),
			Notes: fmt.Sprintf("Two stores on one PostgreSQL database, as two instances: A runs the poller and stores the messages, the %d SSE connections "+
				"(GET /workbench/c/:cid/events) go to a console on B, which polls nothing and is woken only by the change feed (pg_notify in A's ingest "+
				"transaction, B's LISTEN connection, B's hub). %d messages at %.0f msg/s (target rate %d), timed from Inject to the \"msg\" event on B. "+
				"p90 %s, max %s.", sz.Streams, sz.Messages, achieved, sz.Rate, ms(l.P90), ms(l.Max)),
		}}, nil
	}
	return []Figure{{
		Name:     fmt.Sprintf("arrival → SSE event, %d msg/s", sz.Rate),
		Value:    fmt.Sprintf("p50 %s, p99 %s", ms(l.P50), ms(l.P99)),
		Baseline: "—",
		Ratio:    "—",
		Target:   "p99 < 50 ms",
		Status:   check(l.P99 < 50*time.Millisecond),
		Notes: fmt.Sprintf("%d messages injected into the fake Bot API at %.0f msg/s (target rate %d), round-robin over %d private chats, each open "+
			"in its own workbench conversation with a real SSE connection (GET /workbench/c/:cid/events over HTTP, htmx-sse format). "+
			"Timed from Inject to the \"msg\" event carrying the message's bubble: real poller (long poll), IngestBatch, hub, stream re-read and render. "+
			"p90 %s, max %s.", sz.Messages, achieved, sz.Rate, sz.Streams, ms(l.P90), ms(l.Max)),
	}}, nil
}

// newUser is the customer of seeded chat i.
func newUser(i int) telego.User {
	return telegramtest.User(chatID(i), fmt.Sprintf("Customer %d", i), fmt.Sprintf("user%d", i))
}

// waitConversations waits until n workbench conversations exist and
// returns their ids, oldest first (the order their chats first wrote).
func waitConversations(ctx context.Context, st *store.Store, n int) ([]int64, error) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		page, err := st.ListConversations(ctx, store.ConversationFilter{Limit: n})
		if err != nil {
			return nil, err
		}
		if len(page.Rows) >= n {
			ids := make([]int64, n)
			for _, r := range page.Rows[:n] {
				// The chat id says which user (and so which index) it is.
				idx := int(r.ChatID - chatID(0))
				if idx < 0 || idx >= n {
					return nil, fmt.Errorf("bench: unexpected conversation for chat %d", r.ChatID)
				}
				ids[idx] = r.ID
			}
			return ids, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bench: only %d of %d conversations appeared within 15s", len(page.Rows), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readStream reads SSE events until the connection ends. It reports on
// ready once the stream's first "list" event (sent after the catch-up)
// has arrived, or the error that stopped it before.
func readStream(req *http.Request, ready chan<- error, onEvent func(name, data string)) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ready <- err
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ready <- fmt.Errorf("bench: sse: status %d", resp.StatusCode)
		return
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 8<<20)
	var name string
	var data strings.Builder
	started := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if name != "" {
				onEvent(name, data.String())
				if name == "list" && !started {
					started = true
					ready <- nil
				}
			}
			name = ""
			data.Reset()
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data.WriteString(line[len("data: "):])
			data.WriteByte('\n')
		}
	}
	if !started {
		ready <- fmt.Errorf("bench: sse: stream ended before its first list event")
	}
}
