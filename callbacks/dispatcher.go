package callbacks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// Clock tells the dispatcher the time. Production passes time.Now; tests
// pass a clock they move forward, so a retry scheduled in 5 hours is due
// without waiting 5 hours.
type Clock func() time.Time

// DispatcherOptions tune a [Dispatcher]; the zero value gives the defaults.
type DispatcherOptions struct {
	// BatchSize is how many due rows are claimed per look at the outbox
	// (default 16). Small batches keep each write transaction short.
	BatchSize int
	// Concurrency bounds deliveries in flight overall (default 16).
	Concurrency int
	// PerHost bounds deliveries in flight to one receiver host (default 4),
	// so one slow receiver cannot take every worker.
	PerHost int
	// PollInterval is how often the outbox is checked when nobody calls
	// Wake (default 1s): retries become due by time, not by a nudge.
	PollInterval time.Duration
	// Lease is how long a claimed row stays "delivering" before another
	// claim may take it (default 2 min, well above the 15 s attempt
	// timeout plus waiting for a per-host slot).
	Lease time.Duration
	// Client sends the callbacks; nil means NewHTTPClient(policy). Tests
	// may substitute one, production must not.
	Client *http.Client
	// Rand is the jitter source, a value in [0, 1); nil is math/rand.
	Rand func() float64
}

// Dispatcher delivers the transactional outbox to the channels' callback
// URLs. All of its state is in the database: it claims due rows with a
// lease, POSTs them (signed, through the SSRF-safe client) without holding
// any database connection during the request, records every attempt and
// schedules retries with [Backoff] and [Jitter]. Queues need no dispatcher:
// their copy of each event is written when the event is enqueued.
type Dispatcher struct {
	store  *store.Store
	sealer *store.Sealer
	log    *slog.Logger
	now    Clock
	client *http.Client
	opt    DispatcherOptions

	wake  chan struct{}
	freed chan struct{}

	mu       sync.Mutex
	inflight map[int64]struct{}
	hosts    map[string]chan struct{}

	delivered atomic.Int64
	failed    atomic.Int64
}

// NewDispatcher builds a dispatcher. st and sealer are required; log may be
// nil (discard); now nil means time.Now; policy must be the same one the
// Configure Webhook form validates with, so loopback receivers work in
// development exactly when they can be saved.
func NewDispatcher(st *store.Store, sealer *store.Sealer, log *slog.Logger, policy Policy, now Clock, opt DispatcherOptions) *Dispatcher {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if now == nil {
		now = time.Now
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 16
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 16
	}
	if opt.PerHost <= 0 {
		opt.PerHost = 4
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = time.Second
	}
	if opt.Lease <= 0 {
		opt.Lease = 2 * time.Minute
	}
	client := opt.Client
	if client == nil {
		client = NewHTTPClient(policy)
	}
	return &Dispatcher{
		store: st, sealer: sealer, log: log, now: now, client: client, opt: opt,
		wake: make(chan struct{}, 1), freed: make(chan struct{}, 1),
		inflight: map[int64]struct{}{}, hosts: map[string]chan struct{}{},
	}
}

// Wake asks the dispatcher to look at the outbox now instead of at its next
// poll. Producers call it after committing an event; it never blocks.
func (d *Dispatcher) Wake() { signal(d.wake) }

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is cancelled. On start it reclaims rows a previous
// process left "delivering". When ctx is cancelled it stops claiming and
// waits for deliveries in flight, each bounded by the client timeout, so
// their outcome is recorded; it then returns nil.
func (d *Dispatcher) Run(ctx context.Context) error {
	n, err := d.store.ReclaimDeliveries(ctx, d.now())
	if err != nil {
		return fmt.Errorf("callbacks: dispatcher start: %w", err)
	}
	if n > 0 {
		d.log.Info("callbacks: reclaimed deliveries interrupted by a stop", "count", n)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(d.opt.PollInterval)
	defer tick.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		claimed, limit := d.dispatchOnce(ctx, &wg)
		if claimed > 0 && claimed == limit {
			continue // probably more due; claim again while slots are free
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-d.freed:
		case <-tick.C:
		}
	}
}

// dispatchOnce claims as many due rows as there are free slots and starts
// their deliveries.
func (d *Dispatcher) dispatchOnce(ctx context.Context, wg *sync.WaitGroup) (claimed, limit int) {
	d.mu.Lock()
	limit = min(d.opt.BatchSize, d.opt.Concurrency-len(d.inflight))
	exclude := make([]int64, 0, len(d.inflight))
	for id := range d.inflight {
		exclude = append(exclude, id)
	}
	d.mu.Unlock()
	if limit <= 0 {
		return 0, 0
	}
	rows, err := d.store.ClaimDueOutbox(ctx, d.now(), d.opt.Lease, limit, exclude)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("callbacks: claim outbox", "err", err)
		}
		return 0, limit
	}
	for _, ev := range rows {
		d.mu.Lock()
		d.inflight[ev.ID] = struct{}{}
		d.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer d.release(ev.ID)
			d.deliver(ctx, ev)
		}()
	}
	return len(rows), limit
}

func (d *Dispatcher) release(id int64) {
	d.mu.Lock()
	delete(d.inflight, id)
	d.mu.Unlock()
	signal(d.freed)
}

// hostSlot returns the semaphore of a receiver host.
func (d *Dispatcher) hostSlot(host string) chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	sem, ok := d.hosts[host]
	if !ok {
		sem = make(chan struct{}, d.opt.PerHost)
		d.hosts[host] = sem
	}
	return sem
}

// URLFor returns the channel's callback URL for an event kind.
func URLFor(ch *models.Channel, kind string) string {
	switch EventType(kind) {
	case TypeStatus:
		return ch.StatusURL
	case TypeMO:
		return ch.MOURL
	case TypeNotify:
		return ch.NotifyURL
	}
	return ""
}

// deliver makes one attempt for a claimed row and records its outcome.
// runCtx only decides whether to start: once the request is sent, the
// attempt runs to its end (bounded by the client timeout) and is recorded,
// so a stop never leaves an attempt unlogged.
func (d *Dispatcher) deliver(runCtx context.Context, ev models.OutboxEvent) {
	ctx := context.WithoutCancel(runCtx)
	ch, err := d.store.Channel(ctx, ev.ChannelID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) { // not found: deleted with its channel
			d.log.Error("callbacks: load channel", "channel", ev.ChannelID, "err", err)
		}
		return // the lease expires and the row is tried again
	}
	endpoint := URLFor(ch, ev.Kind)
	switch {
	case !ch.HTTPEnabled:
		d.skip(ctx, ev, "HTTP Protocol is off for this channel")
		return
	case endpoint == "":
		d.skip(ctx, ev, "no callback URL is set for "+ev.Kind+" events")
		return
	}
	sem := d.hostSlot(hostOf(endpoint))
	select {
	case sem <- struct{}{}:
		defer func() { <-sem }()
	case <-runCtx.Done():
		return // not started; reclaimed on the next start
	}

	now := d.now()
	var res Result
	secret, err := d.secret(ch)
	if err != nil {
		// Not even attempted, but retried like a failed request so the
		// operator sees it in the log and can fix the secret in time.
		res = Result{Outcome: OutcomeRetry, Err: err}
	} else {
		res = Deliver(ctx, d.client, endpoint, secret, ev.EventID, []byte(ev.Payload), now)
	}
	d.record(ctx, ev, ch, endpoint, now, res)
}

func (d *Dispatcher) secret(ch *models.Channel) (string, error) {
	if len(ch.SigningSecretEnc) == 0 {
		return "", errors.New("the channel has no signing secret; save Configure Webhook again")
	}
	raw, err := d.sealer.Open(ch.SigningSecretEnc)
	if err != nil {
		d.log.Error("callbacks: open signing secret", "channel", ch.ID, "err", err)
		return "", errors.New("the signing secret could not be decrypted (wrong BOTDESK_SECRET_KEY?)")
	}
	return string(raw), nil
}

func (d *Dispatcher) skip(ctx context.Context, ev models.OutboxEvent, reason string) {
	if err := d.store.SkipOutbox(ctx, ev.ID, reason); err != nil {
		d.log.Error("callbacks: skip event", "event", ev.EventID, "err", err)
	}
}

// record stores the attempt and the row's next state.
func (d *Dispatcher) record(ctx context.Context, ev models.OutboxEvent, ch *models.Channel, endpoint string, at time.Time, res Result) {
	a := models.DeliveryAttempt{At: at, URL: redactURL(endpoint), StatusCode: res.StatusCode,
		LatencyMS: res.Latency.Milliseconds(), Outcome: res.Outcome.String(), Error: attemptError(res)}
	done := d.now()
	r := store.OutboxResult{Attempts: ev.Attempts + 1, NextAttemptAt: done, LastError: a.Error}
	var extra func(context.Context) error
	switch res.Outcome {
	case OutcomeSuccess:
		r.State, r.DeliveredAt = store.OutboxStateDelivered, &done
		d.delivered.Add(1)
	case OutcomeDisable:
		d.failed.Add(1)
		r.State = store.OutboxStateFailed
		r.LastError = "the receiver answered 410 Gone: HTTP Protocol was turned off for this channel"
		extra = func(ctx context.Context) error { return d.disable(ctx, ch, endpoint, done) }
	default:
		d.failed.Add(1)
		if r.Attempts >= MaxAttempts {
			r.State = store.OutboxStateFailed
		} else {
			r.State = store.OutboxStatePending
			r.NextAttemptAt = done.Add(Jitter(Backoff(r.Attempts), d.opt.Rand))
		}
	}
	if err := d.store.FinishAttempt(ctx, ev.ID, a, r, extra); err != nil {
		// The row stays leased and is retried when the lease expires; the
		// attempt is lost from the log only if the database is failing.
		d.log.Error("callbacks: record attempt", "event", ev.EventID, "err", err)
		return
	}
	if extra != nil {
		d.Wake() // the webhook_disabled notification is due now
	}
}

// disable runs in the attempt's transaction: HTTP off, a webhook_disabled
// notification (which reaches the notification queue when it is on) and an
// audit entry, once per disabling.
func (d *Dispatcher) disable(ctx context.Context, ch *models.Channel, endpoint string, at time.Time) error {
	changed, err := d.store.DisableHTTP(ctx, ch.ID)
	if err != nil || !changed {
		return err
	}
	n := NotifyEvent{Event: NotifyWebhookDisabled, ChannelID: ch.ID, Timestamp: Millis(at),
		Detail: redactURL(endpoint) + " answered 410 Gone; HTTP Protocol was turned off. Save Configure Webhook again to re-enable it."}
	if bot, err := d.store.BotByChannel(ctx, ch.ID); err == nil {
		n.BotID, n.BotUsername = bot.TelegramID, bot.Username
	}
	body, err := n.MarshalJSON()
	if err != nil {
		return fmt.Errorf("callbacks: webhook_disabled payload: %w", err)
	}
	if err := d.store.EnqueueEvent(ctx, ch.ID, string(TypeNotify), "", body); err != nil {
		return err
	}
	d.log.Warn("callbacks: receiver answered 410 Gone; HTTP Protocol turned off", "channel", ch.ID, "url", redactURL(endpoint))
	return d.store.Audit(ctx, store.Actor{Name: "system"}, "webhook.disabled", "channel", ch.ID, redactURL(endpoint)+" answered 410 Gone")
}

// attemptError is the delivery log's error text: the transport error, or
// for a non-2xx answer the status and the start of the body.
func attemptError(res Result) string {
	switch {
	case res.Err != nil:
		return res.Err.Error()
	case res.Outcome == OutcomeSuccess:
		return ""
	}
	msg := fmt.Sprintf("HTTP %d %s", res.StatusCode, http.StatusText(res.StatusCode))
	if s := strings.TrimSpace(res.ResponseSnippet); s != "" {
		msg += ": " + s
	}
	return msg
}

func hostOf(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// WriteMetrics appends the dispatcher's Prometheus lines: attempts by
// result since start, the outbox backlog, and per queue its depth and the
// age of its oldest message. It matches handlers.MetricsWriter.
func (d *Dispatcher) WriteMetrics(ctx context.Context, w io.Writer) {
	fmt.Fprintf(w, "# HELP botdesk_callback_deliveries_total Callback delivery attempts since start, by result.\n# TYPE botdesk_callback_deliveries_total counter\n")
	fmt.Fprintf(w, "botdesk_callback_deliveries_total{result=\"ok\"} %d\n", d.delivered.Load())
	fmt.Fprintf(w, "botdesk_callback_deliveries_total{result=\"failed\"} %d\n", d.failed.Load())
	if n, err := d.store.OutboxBacklog(ctx); err != nil {
		d.log.Error("callbacks: metrics", "err", err)
	} else {
		fmt.Fprintf(w, "# HELP botdesk_outbox_pending Callback events not yet delivered, failed or skipped.\n# TYPE botdesk_outbox_pending gauge\nbotdesk_outbox_pending %d\n", n)
	}
	now := d.now()
	stats, err := d.store.QueueStats(ctx, "", now)
	if err != nil {
		d.log.Error("callbacks: metrics", "err", err)
		return
	}
	fmt.Fprintf(w, "# HELP botdesk_queue_depth Messages in a queue not yet acknowledged.\n# TYPE botdesk_queue_depth gauge\n")
	for _, s := range stats {
		fmt.Fprintf(w, "botdesk_queue_depth{queue=%q} %d\n", s.Queue, s.Depth)
	}
	fmt.Fprintf(w, "# HELP botdesk_queue_oldest_age_seconds Age of the oldest message in a queue.\n# TYPE botdesk_queue_oldest_age_seconds gauge\n")
	for _, s := range stats {
		age := 0.0
		if s.Oldest != nil {
			age = max(0, now.Sub(*s.Oldest).Seconds())
		}
		fmt.Fprintf(w, "botdesk_queue_oldest_age_seconds{queue=%q} %.0f\n", s.Queue, age)
	}
}
