package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/botdesk/botdesk/metrics"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// SupervisorConfig is what the Supervisor needs. Store, Sealer and APIBase
// are required; zero durations get the defaults in their comments.
type SupervisorConfig struct {
	Store  *store.Store
	Sealer *store.Sealer
	// Events builds the mo and token_invalid payloads (required).
	Events Events
	// APIBase is the Bot API base URL (BOTDESK_TELEGRAM_API).
	APIBase string
	// HTTPClient is shared by all pollers; nil means a plain client. It
	// must not have a Timeout shorter than PollTimeout + 15s.
	HTTPClient *http.Client
	// PollTimeout is the getUpdates long-poll timeout (BOTDESK_POLL_TIMEOUT,
	// default 30s).
	PollTimeout time.Duration
	Log         *slog.Logger
	// ShutdownTimeout bounds how long Run waits for pollers to stop after
	// its context ends (default 10s).
	ShutdownTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait after network errors and 5xx
	// answers, which doubles per failure with jitter (default 1s…60s).
	BackoffMin, BackoffMax time.Duration
	// ConflictRetry is how often a bot that another program is polling is
	// retried (default 30s): slowly, so botdesk does not fight the other
	// poller for every request, but it takes over once the other one stops.
	ConflictRetry time.Duration
	// Wait sleeps d or until ctx is done. Nil means a real timer; tests
	// record the requested waits instead of sleeping through them.
	Wait func(ctx context.Context, d time.Duration) error
	// Heartbeat and LeaseTTL time the bot leases (telegram/leases.go):
	// Run renews this instance's leases every Heartbeat/2, and a lease not
	// renewed for LeaseTTL is taken over (defaults store.DefaultHeartbeat
	// and store.DefaultLeaseTTL).
	Heartbeat, LeaseTTL time.Duration
	// Version is shown for this instance on the Instances page.
	Version string
	// BeforeRelease is called with a bot this instance is about to give
	// up, after the poller stopped and before the lease is released; the
	// sender's Drain, so no send of the bot is in flight when another
	// instance takes it.
	BeforeRelease func(botTelegramID int64)
}

func (c SupervisorConfig) withDefaults() SupervisorConfig {
	if c.PollTimeout <= 0 {
		c.PollTimeout = 30 * time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = time.Minute
	}
	if c.ConflictRetry <= 0 {
		c.ConflictRetry = 30 * time.Second
	}
	if c.Wait == nil {
		c.Wait = sleepCtx
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = store.DefaultHeartbeat
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = store.DefaultLeaseTTL
	}
	if c.BeforeRelease == nil {
		c.BeforeRelease = func(int64) {}
	}
	return c
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff is the capped exponential wait after the n-th consecutive failure
// (n >= 1), with jitter in [d/2, d] so that many bots failing together do
// not retry in lockstep.
func backoff(minD, maxD time.Duration, n int) time.Duration {
	d := minD
	for i := 1; i < n && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// ErrSupervisorStopped is returned by Start after Run has shut down.
var ErrSupervisorStopped = errors.New("telegram: the poller supervisor has stopped")

// Supervisor owns one poller per connected bot. It implements
// handlers.BotRunner: Start after connect or Update Token, Stop before a
// bot is deleted. Restarts are stop-then-start: the old poller has exited
// (and committed its last batch) before the new one reads the offset from
// the database, so nothing is lost or fetched twice.
type Supervisor struct {
	cfg    SupervisorConfig
	base   context.Context
	cancel context.CancelFunc

	// ops serialises Start, Stop and SwitchToPolling, so two restarts of a
	// bot can never leave two pollers running.
	ops     sync.Mutex
	mu      sync.Mutex // guards pollers, leases, live, expiry and closed
	pollers map[int64]*poller
	// leases are the bots this instance owns (telegram/leases.go).
	leases map[int64]store.Lease
	live   int       // live instances seen at the last lease turn
	expiry time.Time // when another instance's lease or heartbeat next expires (store.LeaseView.Expiry)
	closed bool

	metrics pollMetrics
	booted  chan struct{}
	started time.Time
	// beat is the unix ms of the lease loop's last heartbeat, 0 while it
	// does not run (LeaseLoopReady).
	beat atomic.Int64
}

// NewSupervisor returns a supervisor with no pollers; Run starts them.
func NewSupervisor(cfg SupervisorConfig) *Supervisor {
	cfg = cfg.withDefaults()
	base, cancel := context.WithCancel(context.Background())
	return &Supervisor{cfg: cfg, base: base, cancel: cancel, pollers: map[int64]*poller{}, leases: map[int64]store.Lease{},
		metrics: pollMetrics{errors: map[string]int64{}}, booted: make(chan struct{}), started: time.Now()}
}

// Run takes this instance's share of the bots (leases, see
// telegram/leases.go), polls those it holds, and keeps the leases renewed
// and balanced until ctx is done; then it stops every poller and waits for
// them (at most ShutdownTimeout). Leases are released by the caller with
// store.Leave once the sender has stopped too. A bot that fails to start
// is logged and skipped; its state says why.
func (s *Supervisor) Run(ctx context.Context) error {
	if err := s.leaseTurn(ctx, true); err != nil {
		serr := s.shutdown()
		if ctx.Err() != nil {
			return serr
		}
		return fmt.Errorf("telegram: supervisor: %w", err)
	}
	close(s.booted)
	tick := time.NewTicker(s.cfg.Heartbeat / 2)
	defer tick.Stop()
	for {
		early, stopEarly := s.expiryTimer()
		select {
		case <-ctx.Done():
			stopEarly()
			return s.shutdown()
		case <-tick.C:
		case <-early:
		}
		stopEarly()
		if err := s.leaseTurn(ctx, false); err != nil && ctx.Err() == nil {
			// The leases held keep running until they expire; renewing
			// again at the next turn is all there is to do.
			s.metrics.addError("lease_turn")
			s.cfg.Log.Error("renewing bot leases", "err", err)
		}
	}
}

// Booted is closed once Run has taken its first leases and started their pollers.
func (s *Supervisor) Booted() <-chan struct{} { return s.booted }

// shutdown stops every poller and refuses new ones.
func (s *Supervisor) shutdown() error {
	s.beat.Store(0)
	s.mu.Lock()
	s.closed = true
	ps := make([]*poller, 0, len(s.pollers))
	for _, p := range s.pollers {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	s.cancel()
	deadline := time.NewTimer(s.cfg.ShutdownTimeout)
	defer deadline.Stop()
	for _, p := range ps {
		select {
		case <-p.done:
		case <-deadline.C:
			return fmt.Errorf("telegram: supervisor: pollers did not stop within %s", s.cfg.ShutdownTimeout)
		}
	}
	return nil
}

// Start (re)starts polling for the stored bot with this Telegram id using
// the token currently in the database. A running poller is stopped and
// waited for first. ctx bounds only the start itself; the poller runs until
// Stop or shutdown.
//
// With several instances the bot's owner polls it: Start restarts the
// poller here when this instance holds the bot's lease or can take it
// (a new bot, or one nobody holds), and otherwise asks the owner to
// restart (store.BumpBotGeneration), which it does within Heartbeat/2.
func (s *Supervisor) Start(ctx context.Context, botTelegramID int64) error {
	s.ops.Lock()
	defer s.ops.Unlock()
	mine, err := s.holdLocked(ctx, botTelegramID)
	if err != nil {
		return err
	}
	if !mine {
		return s.cfg.Store.BumpBotGeneration(ctx, botTelegramID)
	}
	return s.startLocked(ctx, botTelegramID, false)
}

// startLocked (re)starts the poller of a bot this instance holds. boot is
// a start this instance decided on (a lease taken or renewed), not one an
// operator asked for: a bot whose token is known to be invalid then stays
// stopped until Update Token.
func (s *Supervisor) startLocked(ctx context.Context, botID int64, boot bool) error {
	s.stopLocked(botID)
	s.mu.Lock()
	lease, held := s.leases[botID]
	s.mu.Unlock()
	if !held {
		return fmt.Errorf("telegram: start bot %d: %w", botID, store.ErrFenced)
	}
	client, bot, err := s.clientFor(ctx, botID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrSupervisorStopped
	}
	pctx, cancel := context.WithCancel(s.base)
	p := &poller{sup: s, botID: botID, channelID: bot.ChannelID, client: client, cancel: cancel, done: make(chan struct{}), lease: lease,
		tokenEnc: bot.TokenEnc}
	p.state.Store(string(bot.State))
	p.lastAnswer.Store(time.Now().UnixNano())
	s.pollers[botID] = p
	if boot && bot.State == models.BotTokenInvalid {
		cancel()
		close(p.done) // held, but not polled: waits for Update Token
		return nil
	}
	go p.run(pctx)
	return nil
}

// parkLocked records a held bot as deliberately not polled, so the lease
// loop does not start it again (Stop before a delete).
func (s *Supervisor) parkLocked(botID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lease, held := s.leases[botID]
	if !held || s.closed {
		return
	}
	p := &poller{sup: s, botID: botID, cancel: func() {}, done: make(chan struct{}), lease: lease}
	p.state.Store(string(models.BotStopped))
	close(p.done)
	s.pollers[botID] = p
}

// clientFor builds a Bot API client from the bot's sealed token.
func (s *Supervisor) clientFor(ctx context.Context, botID int64) (*Client, *models.Bot, error) {
	bot, err := s.cfg.Store.BotByTelegramID(ctx, botID)
	if err != nil {
		return nil, nil, fmt.Errorf("telegram: start bot %d: %w", botID, err)
	}
	client, err := ClientFromSealed(s.cfg.Sealer, bot.TokenEnc, s.cfg.APIBase, s.cfg.HTTPClient)
	if err != nil {
		return nil, nil, fmt.Errorf("telegram: start bot %d: %w", botID, err)
	}
	return client, bot, nil
}

// ClientFromSealed opens a token sealed at rest and returns its client.
// Errors never contain the token.
func ClientFromSealed(sealer *store.Sealer, tokenEnc []byte, apiBase string, hc *http.Client) (*Client, error) {
	if sealer == nil {
		return nil, errors.New("no sealer configured to open the bot token")
	}
	raw, err := sealer.Open(tokenEnc)
	if err != nil {
		return nil, errors.New("the stored bot token cannot be decrypted (was BOTDESK_SECRET_KEY changed?)")
	}
	tok, err := ParseToken(string(raw))
	if err != nil {
		return nil, errors.New("the stored bot token is malformed")
	}
	return NewClient(apiBase, tok, hc)
}

// Stop stops the bot's poller and waits for it to exit; the bot's state
// becomes "stopped" if it was running. Stopping a bot without a poller is a
// no-op: on another instance, the owner stops its poller when the bot is
// deleted (its lease goes with it at the next lease turn).
func (s *Supervisor) Stop(botTelegramID int64) {
	s.ops.Lock()
	defer s.ops.Unlock()
	defer s.parkLocked(botTelegramID)
	if s.stopLocked(botTelegramID) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := s.cfg.Store.SetBotState(ctx, botTelegramID, models.BotStopped, "Polling was stopped."); err != nil &&
			!errors.Is(err, store.ErrNotFound) {
			s.cfg.Log.Error("recording stopped state", "bot_id", botTelegramID, "err", err)
		}
	}
}

// stopLocked stops and waits for the bot's poller; it reports whether one
// was still running.
func (s *Supervisor) stopLocked(botID int64) bool {
	s.mu.Lock()
	p := s.pollers[botID]
	delete(s.pollers, botID)
	s.mu.Unlock()
	if p == nil {
		return false
	}
	running := p.running()
	p.cancel()
	<-p.done
	return running
}

// Running reports whether a poller is currently running for the bot (it
// stops by itself on an invalid token or a webhook conflict).
func (s *Supervisor) Running(botTelegramID int64) bool {
	s.mu.Lock()
	p := s.pollers[botTelegramID]
	s.mu.Unlock()
	return p != nil && p.running()
}

// SwitchToPolling is the operator's answer to "a webhook is set for this
// bot": it deletes the webhook (keeping pending updates) and restarts the
// poller. botdesk never does this on its own, because the webhook may
// belong to another service; the console calls it only when the operator
// clicks "Switch this bot to polling".
func (s *Supervisor) SwitchToPolling(ctx context.Context, botTelegramID int64) error {
	s.ops.Lock()
	defer s.ops.Unlock()
	s.stopLocked(botTelegramID)
	client, _, err := s.clientFor(ctx, botTelegramID)
	if err != nil {
		return err
	}
	if err := client.DeleteWebhook(ctx); err != nil {
		// Put the poller back as it was (it records why it cannot poll).
		// (On another instance's bot nothing changed.)
		if mine, _ := s.holdLocked(ctx, botTelegramID); mine {
			if serr := s.startLocked(ctx, botTelegramID, false); serr != nil {
				s.cfg.Log.Error("restarting poller after failed switch", "bot_id", botTelegramID, "err", serr)
			}
		}
		return fmt.Errorf("telegram: switch bot %d to polling: %w", botTelegramID, err)
	}
	if _, err := s.cfg.Store.SetBotState(ctx, botTelegramID, models.BotConnecting, "The webhook was deleted; starting to poll."); err != nil {
		return fmt.Errorf("telegram: switch bot %d to polling: %w", botTelegramID, err)
	}
	mine, err := s.holdLocked(ctx, botTelegramID)
	if err != nil {
		return err
	}
	if !mine {
		return s.cfg.Store.BumpBotGeneration(ctx, botTelegramID)
	}
	return s.startLocked(ctx, botTelegramID, false)
}

// pollMetrics are the supervisor's counters for /metrics.
type pollMetrics struct {
	mu              sync.Mutex
	ingested        int64
	replayed        int64
	errors          map[string]int64
	retryAfterWaits int64
	leases          leaseMetrics
}

func (m *pollMetrics) addError(kind string) {
	m.mu.Lock()
	m.errors[kind]++
	m.mu.Unlock()
}

// WriteMetrics appends the pollers' Prometheus lines: running pollers by
// state, updates ingested (and replays skipped), getUpdates errors by kind
// and the number of retry_after waits. It matches handlers.MetricsWriter.
func (s *Supervisor) WriteMetrics(ctx context.Context, w io.Writer) {
	states := map[string]int64{}
	type lag struct {
		bot     int64
		channel string
		seconds float64
	}
	var lags []lag
	now := time.Now()
	s.mu.Lock()
	for _, p := range s.pollers {
		if p.running() {
			states[p.state.Load().(string)]++
			lags = append(lags, lag{p.botID, p.channelID, max(0, now.Sub(time.Unix(0, p.lastAnswer.Load())).Seconds())})
		}
	}
	s.mu.Unlock()
	sort.Slice(lags, func(i, j int) bool { return lags[i].bot < lags[j].bot })
	m := &s.metrics
	m.mu.Lock()
	ingested, replayed, waits := m.ingested, m.replayed, m.retryAfterWaits
	errs := make(map[string]int64, len(m.errors))
	for k, v := range m.errors {
		errs[k] = v
	}
	m.mu.Unlock()

	fmt.Fprintf(w, "# HELP botdesk_pollers Running Telegram pollers by bot state.\n# TYPE botdesk_pollers gauge\n")
	for _, st := range sortedKeys(states) {
		fmt.Fprintf(w, "botdesk_pollers{state=%q} %d\n", st, states[st])
	}
	metrics.Header(w, "botdesk_bot_poll_lag_seconds", "gauge",
		"Seconds since the bot's poller last got an answer from getUpdates; a healthy poller stays below BOTDESK_POLL_TIMEOUT.")
	for _, l := range lags {
		metrics.Sample(w, "botdesk_bot_poll_lag_seconds", l.seconds, "bot_id", strconv.FormatInt(l.bot, 10), "channel", l.channel)
	}
	fmt.Fprintf(w, "# HELP botdesk_updates_ingested_total Telegram updates stored for the first time.\n# TYPE botdesk_updates_ingested_total counter\nbotdesk_updates_ingested_total %d\n", ingested)
	fmt.Fprintf(w, "# HELP botdesk_updates_replayed_total Telegram updates fetched again and skipped as already stored.\n# TYPE botdesk_updates_replayed_total counter\nbotdesk_updates_replayed_total %d\n", replayed)
	fmt.Fprintf(w, "# HELP botdesk_getupdates_errors_total Failed getUpdates calls by kind.\n# TYPE botdesk_getupdates_errors_total counter\n")
	for _, k := range sortedKeys(errs) {
		fmt.Fprintf(w, "botdesk_getupdates_errors_total{kind=%q} %d\n", k, errs[k])
	}
	fmt.Fprintf(w, "# HELP botdesk_getupdates_retry_after_waits_total Waits for Telegram's retry_after.\n# TYPE botdesk_getupdates_retry_after_waits_total counter\nbotdesk_getupdates_retry_after_waits_total %d\n", waits)
	s.writeLeaseMetrics(w)
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
