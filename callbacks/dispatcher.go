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

	"github.com/botdesk/botdesk/metrics"
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
	// (default 128). The claim shares its write transaction with the
	// recording of finished attempts (see Run), so bigger batches mean
	// fewer commits.
	BatchSize int
	// Concurrency bounds deliveries in flight overall, counting those
	// whose outcome is waiting to be recorded (default 128). Commits, not
	// receivers, are the bottleneck on a local disk: a delivery spends most
	// of its time waiting for the next group commit, so this is set well
	// above PerHost.
	Concurrency int
	// PerHost bounds HTTP requests in flight to one receiver host
	// (default 16), so one slow receiver cannot take every worker; a slot
	// is held only for the request itself, not while its outcome waits to
	// be recorded.
	PerHost int
	// RecordBatch bounds how many finished attempts are recorded in one
	// write transaction (default 128).
	RecordBatch int
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

	wake chan struct{}

	mu    sync.Mutex
	hosts map[string]chan struct{}

	delivered atomic.Int64
	failed    atomic.Int64
	// latency is the duration of each HTTP attempt, per channel.
	latency *metrics.HistogramVec
}

// latencyBuckets are the upper bounds (seconds) of the delivery latency
// histogram, up to the attempt timeout.
var latencyBuckets = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15}

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
		opt.BatchSize = 128
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 128
	}
	if opt.PerHost <= 0 {
		opt.PerHost = 16
	}
	if opt.RecordBatch <= 0 {
		opt.RecordBatch = 128
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
		wake: make(chan struct{}, 1), hosts: map[string]chan struct{}{},
		latency: metrics.NewHistogramVec("channel", latencyBuckets),
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
//
// Run's loop is the only place the dispatcher writes in the common case:
// each turn is ONE write transaction that records the attempts finished
// since the last turn and claims due rows for the slots they freed. Under
// load a commit (an fsync) thus covers many deliveries; HTTP requests run
// in their own goroutines and never hold a database connection.
func (d *Dispatcher) Run(ctx context.Context) error {
	now := d.now()
	n, err := d.store.ReclaimDeliveries(ctx, now, now.Add(-store.DefaultLeaseTTL))
	if err != nil {
		return fmt.Errorf("callbacks: dispatcher start: %w", err)
	}
	if n > 0 {
		d.log.Info("callbacks: reclaimed deliveries interrupted by a stop", "count", n)
	}
	defer d.release()
	// Buffered for every slot, so a finished delivery never waits for the
	// loop to send its outcome.
	fin := make(chan finished, d.opt.Concurrency)
	inflight := map[int64]struct{}{}
	var done []finished
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(d.opt.PollInterval)
	defer tick.Stop()
	for {
		stopping := ctx.Err() != nil
		if stopping && len(inflight) == 0 && len(done) == 0 {
			return nil
		}
		// Everything that finished meanwhile joins this turn (bounded).
	drain:
		for len(done) < d.opt.RecordBatch {
			select {
			case f := <-fin:
				done = append(done, f)
			default:
				break drain
			}
		}
		limit := 0
		if !stopping {
			limit = min(d.opt.BatchSize, d.opt.Concurrency-len(inflight)+len(done))
		}
		exclude := make([]int64, 0, len(inflight))
		for id := range inflight {
			exclude = append(exclude, id) // rows being recorded now included
		}
		rows, chans := d.turn(ctx, done, limit, exclude)
		for _, f := range done {
			delete(inflight, f.id)
		}
		done = done[:0]
		d.start(ctx, rows, chans, fin, &wg)
		for _, ev := range rows {
			inflight[ev.ID] = struct{}{}
		}
		if len(rows) > 0 && len(rows) == limit {
			continue // probably more due; claim again while slots are free
		}
		var stop <-chan struct{}
		if !stopping {
			stop = ctx.Done()
		}
		select {
		case <-stop:
		case f := <-fin:
			done = append(done, f)
		case <-d.wake:
		case <-tick.C:
		}
	}
}

// release hands back, on the way out, the rows claimed but never
// started, so another instance delivers them at once (store.ReleaseDeliveries).
func (d *Dispatcher) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := d.store.ReleaseDeliveries(ctx, d.now()); err != nil {
		d.log.Error("callbacks: release unstarted deliveries", "err", err)
	} else if n > 0 {
		d.log.Info("callbacks: released unstarted deliveries", "count", n)
	}
}

// finished is a delivery's outcome sent back to Run's loop: the attempt to
// record, or nil when there is nothing to record (skipped, channel gone,
// not started because of a stop, or recorded already).
type finished struct {
	id      int64
	eventID string
	rec     *store.AttemptRecord
}

// turn is one write transaction: record the finished attempts, then claim
// up to limit due rows. If it fails, the attempts are recorded one by one
// (so one bad row cannot hold back the others) and nothing is claimed
// this turn.
func (d *Dispatcher) turn(ctx context.Context, done []finished, limit int, exclude []int64) ([]models.OutboxEvent, map[string]channelLoad) {
	recs := make([]store.AttemptRecord, 0, len(done))
	for _, f := range done {
		if f.rec != nil {
			recs = append(recs, *f.rec)
		}
	}
	if len(recs) == 0 && limit <= 0 {
		return nil, nil
	}
	wctx := context.WithoutCancel(ctx) // outcomes are recorded even while stopping
	var rows []models.OutboxEvent
	var chans map[string]channelLoad
	err := d.store.WithTx(wctx, func(tx context.Context) error {
		if err := d.store.FinishAttempts(tx, recs); err != nil {
			return err
		}
		if limit <= 0 {
			return nil
		}
		claimed, err := d.store.ClaimDueOutbox(tx, d.now(), d.opt.Lease, limit, exclude)
		if err != nil {
			return err
		}
		rows, chans, err = d.skipUndeliverable(tx, claimed)
		return err
	})
	if err == nil {
		for _, r := range recs {
			if r.Extra != nil {
				d.Wake() // the webhook_disabled notification is due now
				break
			}
		}
		return rows, chans
	}
	d.log.Error("callbacks: record attempts and claim outbox", "err", err)
	for _, f := range done {
		if f.rec == nil {
			continue
		}
		if err := d.store.FinishAttempts(wctx, []store.AttemptRecord{*f.rec}); err != nil {
			// The row stays leased and is retried when the lease expires;
			// the attempt is lost from the log only if the database is failing.
			d.log.Error("callbacks: record attempt", "event", f.eventID, "err", err)
		} else if f.rec.Extra != nil {
			d.Wake()
		}
	}
	return nil, nil
}

// skipUndeliverable reads the channels of the rows just claimed (once per
// channel, in the claiming transaction) and marks "skipped" the rows that
// have nowhere to go (skipReason) in that same transaction; it returns the
// rows left to deliver and the channels read.
func (d *Dispatcher) skipUndeliverable(tx context.Context, claimed []models.OutboxEvent) ([]models.OutboxEvent, map[string]channelLoad, error) {
	chans := map[string]channelLoad{}
	rows := claimed[:0]
	var skips []store.OutboxSkip
	for _, ev := range claimed {
		cl, ok := chans[ev.ChannelID]
		if !ok {
			cl.ch, cl.err = d.store.Channel(tx, ev.ChannelID)
			if cl.err != nil && !errors.Is(cl.err, store.ErrNotFound) {
				return nil, nil, cl.err // the transaction is failing; nothing is claimed
			}
			chans[ev.ChannelID] = cl
		}
		if cl.err == nil {
			if reason := skipReason(cl.ch, ev.Kind); reason != "" {
				skips = append(skips, store.OutboxSkip{ID: ev.ID, Reason: reason})
				continue
			}
		}
		rows = append(rows, ev)
	}
	return rows, chans, d.store.SkipOutbox(tx, skips)
}

// skipReason is why an event of kind cannot be POSTed for ch ("" when it
// can): HTTP Protocol is off, or no URL is set for its kind.
func skipReason(ch *models.Channel, kind string) string {
	switch {
	case !ch.HTTPEnabled:
		return "HTTP Protocol is off for this channel"
	case URLFor(ch, kind) == "":
		return "no callback URL is set for " + kind + " events"
	}
	return ""
}

// start begins the deliveries of claimed rows, with the channels the
// claim read.
func (d *Dispatcher) start(ctx context.Context, rows []models.OutboxEvent, chans map[string]channelLoad, fin chan<- finished, wg *sync.WaitGroup) {
	for _, ev := range rows {
		cl := chans[ev.ChannelID]
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := finished{id: ev.ID, eventID: ev.EventID}
			f.rec = d.deliver(ctx, ev, cl)
			fin <- f
		}()
	}
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
// It returns the attempt to record, or nil when there is none.
func (d *Dispatcher) deliver(runCtx context.Context, ev models.OutboxEvent, cl channelLoad) *store.AttemptRecord {
	ctx := context.WithoutCancel(runCtx)
	ch, err := cl.ch, cl.err
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) { // not found: deleted with its channel
			d.log.Error("callbacks: load channel", "channel", ev.ChannelID, "err", err)
			// Not attempted: hand the row back for a retry in a few
			// seconds rather than holding it (and its chat's later mo
			// events) for the whole lease.
			if _, rerr := d.store.ReleaseDelivery(ctx, ev.ID, d.now().Add(5*time.Second)); rerr != nil {
				d.log.Error("callbacks: release delivery", "event", ev.EventID, "err", rerr)
			}
		}
		return nil
	}
	endpoint := URLFor(ch, ev.Kind) // skipUndeliverable kept only rows that have one
	sem := d.hostSlot(hostOf(endpoint))
	select {
	case sem <- struct{}{}:
	case <-runCtx.Done():
		return nil // not started; reclaimed on the next start
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
	<-sem // the receiver is done with us; recording needs no host slot
	return d.record(ev, ch, endpoint, now, res)
}

// channelLoad is a channel as read for one claimed batch.
type channelLoad struct {
	ch  *models.Channel
	err error
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

// record builds the attempt and the row's next state; Run's loop writes it.
func (d *Dispatcher) record(ev models.OutboxEvent, ch *models.Channel, endpoint string, at time.Time, res Result) *store.AttemptRecord {
	a := models.DeliveryAttempt{At: at, URL: redactURL(endpoint), StatusCode: res.StatusCode,
		LatencyMS: res.Latency.Milliseconds(), Outcome: res.Outcome.String(), Error: attemptError(res)}
	d.latency.Observe(ev.ChannelID, res.Latency.Seconds())
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
	return &store.AttemptRecord{OutboxID: ev.ID, Attempt: a, Result: r, Extra: extra}
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
	d.latency.Write(w, "botdesk_callback_latency_seconds", "Duration of each callback HTTP attempt, per channel.")
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
