package telegram

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// SenderConfig is what the Sender needs. Store, Sealer and APIBase are
// required; zero values get the defaults in the comments.
type SenderConfig struct {
	Store  *store.Store
	Sealer *store.Sealer
	// Events builds the status payloads (required).
	Events     Events
	APIBase    string
	HTTPClient *http.Client
	Log        *slog.Logger
	// Limits are the per-bot send rates (defaults follow Telegram's
	// guidance: 30/s per bot, 1/s per private chat, 20/min per group).
	Limits LimiterConfig
	// PerBot is how many messages of one bot may be in flight at once, in
	// different chats (default 4). A chat never has more than one.
	PerBot int
	// Batch is how many chat queues are looked at per round (default 200).
	Batch int
	// Idle is how often the queue is re-checked without a Wake (default 5s),
	// so a message queued by a path that forgot to call Wake still goes out.
	Idle time.Duration
	// NetworkRetries is how many times a send that never got an answer is
	// retried before the message is marked failed (default 4).
	NetworkRetries int
	// BackoffMin and BackoffMax bound the wait between those retries
	// (default 1s…30s).
	BackoffMin, BackoffMax time.Duration
	// Wait sleeps d or until ctx is done; nil means a real timer (tests
	// record waits instead).
	Wait func(ctx context.Context, d time.Duration) error
	// Leases says which bots this instance owns (the Supervisor). With it
	// the sender sends only through those, and claims each message in the
	// database under the bot's lease before calling Telegram
	// (store.ClaimSend). Nil sends through every bot without claims: only
	// for tests of the sender alone.
	Leases LeaseHolder
}

// LeaseHolder tells which bot leases this instance holds.
type LeaseHolder interface {
	LeaseOf(botTelegramID int64) (store.Lease, bool)
}

func (c SenderConfig) withDefaults() SenderConfig {
	if c.PerBot <= 0 {
		c.PerBot = 4
	}
	if c.Batch <= 0 {
		c.Batch = 200
	}
	if c.Idle <= 0 {
		c.Idle = 5 * time.Second
	}
	if c.NetworkRetries <= 0 {
		c.NetworkRetries = 4
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 30 * time.Second
	}
	if c.Wait == nil {
		c.Wait = sleepCtx
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// sendTimeout bounds one sendMessage call. It is detached from Run's
// context: a send that has started is allowed to finish and be recorded
// during shutdown, which keeps the duplicate window (below) small.
const sendTimeout = 30 * time.Second

// Sender delivers outgoing messages (direction 'out', status 'pending',
// queued by store.QueueOutgoing) through each bot's Client, paced by a
// per-bot Limiter, and records the outcome together with a "status"
// callback event.
//
// Order: within a chat, messages go out one at a time, oldest first; a
// bot sends to up to PerBot chats concurrently.
//
// Restart safety: a message stays "pending" in the database until its
// outcome is committed, so a message whose send was interrupted by a crash
// is sent again after the restart. If the crash fell between Telegram
// accepting the message and the commit, the chat receives it twice.
// Telegram's sendMessage has no idempotency key, so that window cannot be
// closed, only kept short (the outcome is committed right after the
// answer). The same holds for a network error after Telegram received the
// request: the retry may duplicate it.
//
// Several instances: only the owner of a bot's lease sends through it
// (so the per-bot limits hold cluster-wide), and each message is claimed
// under that lease before Telegram is called. The claim is what makes the
// window visible: a message whose claim another instance left behind
// (died, or lost the bot, after claiming and before recording) is counted
// in botdesk_send_reclaimed_total when it is sent again; each of those is
// a possible duplicate, and no other send is.
type Sender struct {
	cfg  SenderConfig
	wake chan struct{}

	mu       sync.Mutex
	idle     *sync.Cond // signalled when a bot's in-flight count drops to 0
	bots     map[int64]*sendBot
	inflight map[int64]int    // bot id -> messages in flight
	busy     map[chatKey]bool // chats with a message in flight

	metrics sendMetrics
}

type chatKey struct{ bot, chat int64 }

// sendBot is a bot's client (rebuilt when its token changes) and limiter
// (kept, since the rate limits belong to the bot, not the token).
type sendBot struct {
	tokenEnc []byte
	client   *Client
	limiter  *Limiter
	// pausedUntil holds every send of the bot after a 429 (flood control
	// applies to the whole bot). It is kept here rather than in the Limiter
	// so the hold is waited through SenderConfig.Wait and tests see it.
	pausedUntil time.Time // guarded by Sender.mu
}

type sendMetrics struct {
	mu              sync.Mutex
	sent, failed    int64
	retryAfterWaits int64
	networkRetries  int64
	reclaimed       int64
}

// NewSender returns a sender; call Run.
func NewSender(cfg SenderConfig) *Sender {
	s := &Sender{cfg: cfg.withDefaults(), wake: make(chan struct{}, 1), bots: map[int64]*sendBot{},
		inflight: map[int64]int{}, busy: map[chatKey]bool{}}
	s.idle = sync.NewCond(&s.mu)
	return s
}

// Drain waits until no send of the bot is in flight. The supervisor calls
// it after dropping the bot's lease from its set and before releasing it,
// so the next owner never finds a claim of a send still running here.
func (s *Sender) Drain(botTelegramID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.inflight[botTelegramID] > 0 {
		s.idle.Wait()
	}
}

// Wake nudges the sender to look at the queue now; handlers call it after
// store.QueueOutgoing. It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends pending messages until ctx is done, then waits for the sends
// in flight to be recorded.
func (s *Sender) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	idle := time.NewTicker(s.cfg.Idle)
	defer idle.Stop()
	for {
		if err := s.dispatch(ctx, &wg); err != nil && ctx.Err() == nil {
			s.cfg.Log.Error("sender: reading the queue", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-idle.C:
		}
	}
}

// dispatch starts a send for every chat queue head that may go now.
func (s *Sender) dispatch(ctx context.Context, wg *sync.WaitGroup) error {
	heads, err := s.cfg.Store.PendingOutgoing(ctx, s.cfg.Batch, s.cfg.Leases != nil)
	if err != nil {
		return err
	}
	for _, m := range heads {
		if s.cfg.Leases != nil {
			if _, ok := s.cfg.Leases.LeaseOf(m.BotTelegramID); !ok {
				continue // being released, or lost: not ours to send
			}
		}
		key := chatKey{m.BotTelegramID, m.ChatID}
		s.mu.Lock()
		if s.busy[key] || s.inflight[m.BotTelegramID] >= s.cfg.PerBot {
			s.mu.Unlock()
			continue
		}
		s.busy[key] = true
		s.inflight[m.BotTelegramID]++
		s.mu.Unlock()
		wg.Add(1)
		go func(m models.Message) {
			defer wg.Done()
			s.process(ctx, &m)
			s.mu.Lock()
			delete(s.busy, key)
			s.inflight[m.BotTelegramID]--
			if s.inflight[m.BotTelegramID] == 0 {
				delete(s.inflight, m.BotTelegramID)
				s.idle.Broadcast()
			}
			s.mu.Unlock()
			s.Wake() // the chat's next message, if any
		}(m)
	}
	return nil
}

// botDeleted is the failure description when the message's bot is gone.
const botDeleted = "bot deleted"

// process sends one message and records the outcome. It returns without
// recording anything only when ctx ends before the send started, leaving
// the message pending for the next run.
func (s *Sender) process(ctx context.Context, m *models.Message) {
	// The chat's busy flag is ours now, so any earlier send of this message
	// here has committed its outcome: a fresh read tells whether it is
	// still due (and, with leases, claims it).
	if due, err := s.claim(ctx, m); err != nil || !due {
		if err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrFenced) {
			s.cfg.Log.Error("sender: claiming message", "message_id", m.ID, "err", err)
		}
		return
	}
	bot, err := s.cfg.Store.BotByTelegramID(ctx, m.BotTelegramID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && bot.ChannelID != m.ChannelID) {
		s.finish(ctx, m, store.SendOutcome{ErrorDescription: botDeleted})
		return
	}
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Log.Error("sender: loading bot", "bot_id", m.BotTelegramID, "err", err)
		}
		return // retried on the next round
	}
	sb, err := s.botFor(bot)
	if err != nil {
		s.finish(ctx, m, store.SendOutcome{ErrorDescription: err.Error()})
		return
	}
	file, err := s.fileOf(ctx, m)
	if errors.Is(err, store.ErrNotFound) {
		s.finish(ctx, m, store.SendOutcome{ErrorDescription: "the file to send was not kept"})
		return
	}
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Log.Error("sender: loading file", "message_id", m.ID, "err", err)
		}
		return // retried on the next round
	}
	isGroup := m.ChatType == "group" || m.ChatType == "supergroup" || m.ChatType == "channel" || (m.ChatType == "" && m.ChatID < 0)
	networkFailures := 0
	waited := false // this goroutine has just waited out a 429 itself
	for {
		if d := s.pausedFor(sb); d > 0 && !waited {
			if s.cfg.Wait(ctx, d) != nil {
				return
			}
		}
		waited = false
		if err := sb.limiter.Wait(ctx, m.ChatID, isGroup); err != nil {
			return // shutting down before sending: stays pending
		}
		sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		tm, err := s.send(sendCtx, sb.client, m, file)
		cancel()
		if err == nil {
			s.finish(ctx, m, store.SendOutcome{Sent: true, TelegramMessageID: int64(tm.MessageID), Media: sentMedia(&tm, m)})
			return
		}
		var ra *RetryAfterError
		var apiErr *APIError
		switch {
		case errors.As(err, &ra):
			// Flood control covers the whole bot: pause all its sends,
			// then retry this same message.
			s.mu.Lock()
			if until := time.Now().Add(ra.After); until.After(sb.pausedUntil) {
				sb.pausedUntil = until
			}
			s.mu.Unlock()
			s.metrics.add(func(m *sendMetrics) { m.retryAfterWaits++ })
			if s.cfg.Wait(ctx, ra.After) != nil {
				return
			}
			waited = true
			continue
		case errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded):
			networkFailures++
			if networkFailures > s.cfg.NetworkRetries {
				s.finish(ctx, m, store.SendOutcome{ErrorDescription: fmt.Sprintf(
					"Telegram could not be reached after %d attempts: %s", networkFailures, plainReason(err))})
				return
			}
			s.metrics.add(func(m *sendMetrics) { m.networkRetries++ })
			if s.cfg.Wait(ctx, backoff(s.cfg.BackoffMin, s.cfg.BackoffMax, networkFailures)) != nil {
				return
			}
			continue
		case errors.As(err, &apiErr):
			s.finish(ctx, m, store.SendOutcome{ErrorCode: apiErr.Code, ErrorDescription: RedactString(apiErr.Description)})
		case errors.Is(err, ErrUnauthorized):
			s.finish(ctx, m, store.SendOutcome{ErrorCode: 401, ErrorDescription: ErrUnauthorized.Error()})
		default:
			s.finish(ctx, m, store.SendOutcome{ErrorDescription: plainReason(err)})
		}
		return
	}
}

// claim reports whether m is still due and, with leases, claims it under
// the bot's lease first.
func (s *Sender) claim(ctx context.Context, m *models.Message) (bool, error) {
	if s.cfg.Leases == nil {
		return s.cfg.Store.OutgoingPending(ctx, m.ID)
	}
	l, ok := s.cfg.Leases.LeaseOf(m.BotTelegramID)
	if !ok {
		return false, nil
	}
	c, err := s.cfg.Store.ClaimSend(ctx, m.ID, l)
	if err != nil {
		return false, err
	}
	if c.Reclaimed {
		s.metrics.add(func(sm *sendMetrics) { sm.reclaimed++ })
		s.cfg.Log.Warn("sender: sending a message whose earlier claim was left without an outcome; the chat may get it twice",
			"message_id", m.ID, "claimed_by", c.PrevInstance)
	}
	return c.Taken, nil
}

// pausedFor is how long the bot's sends are still held after a 429.
func (s *Sender) pausedFor(sb *sendBot) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Until(sb.pausedUntil)
}

// botFor returns the bot's cached client, rebuilt after Update Token.
func (s *Sender) botFor(bot *models.Bot) (*sendBot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sb := s.bots[bot.TelegramID]
	if sb != nil && bytes.Equal(sb.tokenEnc, bot.TokenEnc) {
		return sb, nil
	}
	client, err := ClientFromSealed(s.cfg.Sealer, bot.TokenEnc, s.cfg.APIBase, s.cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	if sb == nil {
		sb = &sendBot{limiter: NewLimiter(s.cfg.Limits)}
		s.bots[bot.TelegramID] = sb
	}
	sb.tokenEnc, sb.client = bot.TokenEnc, client
	return sb, nil
}

// finish records the outcome and its status event in one transaction, then
// announces it. It is not cut short by shutdown: the send already happened.
func (s *Sender) finish(ctx context.Context, m *models.Message, o store.SendOutcome) {
	ctx = context.WithoutCancel(ctx)
	st := s.cfg.Store
	err := st.WithTx(ctx, func(ctx context.Context) error {
		msg, err := st.FinishOutgoing(ctx, m.ID, o)
		if err != nil {
			return err
		}
		payload, err := s.cfg.Events.Status(msg, o, time.Now())
		if err != nil {
			return fmt.Errorf("sender: status payload: %w", err)
		}
		st.Publish(ctx, store.Change{Kind: "status", ChannelID: msg.ChannelID, MessageID: msg.ID})
		return st.EnqueueEvent(ctx, msg.ChannelID, store.OutboxStatus, strconv.FormatInt(msg.ChatID, 10), payload)
	})
	if errors.Is(err, store.ErrNotFound) {
		return // the channel (and its messages) was deleted meanwhile
	}
	if err != nil {
		s.cfg.Log.Error("sender: recording outcome", "message_id", m.ID, "err", err)
		return
	}
	s.metrics.add(func(sm *sendMetrics) {
		if o.Sent {
			sm.sent++
		} else {
			sm.failed++
		}
	})
}

func (m *sendMetrics) add(f func(*sendMetrics)) {
	m.mu.Lock()
	f(m)
	m.mu.Unlock()
}

// WriteMetrics appends the sender's Prometheus lines; it matches
// handlers.MetricsWriter.
func (s *Sender) WriteMetrics(ctx context.Context, w io.Writer) {
	m := &s.metrics
	m.mu.Lock()
	sent, failed, waits, retries, reclaimed := m.sent, m.failed, m.retryAfterWaits, m.networkRetries, m.reclaimed
	m.mu.Unlock()
	fmt.Fprintf(w, "# HELP botdesk_messages_sent_total Outgoing messages Telegram accepted.\n# TYPE botdesk_messages_sent_total counter\nbotdesk_messages_sent_total %d\n", sent)
	fmt.Fprintf(w, "# HELP botdesk_messages_send_failed_total Outgoing messages marked failed.\n# TYPE botdesk_messages_send_failed_total counter\nbotdesk_messages_send_failed_total %d\n", failed)
	fmt.Fprintf(w, "# HELP botdesk_send_retry_after_waits_total Waits for Telegram's retry_after while sending.\n# TYPE botdesk_send_retry_after_waits_total counter\nbotdesk_send_retry_after_waits_total %d\n", waits)
	fmt.Fprintf(w, "# HELP botdesk_send_network_retries_total Sends retried after a network error.\n# TYPE botdesk_send_network_retries_total counter\nbotdesk_send_network_retries_total %d\n", retries)
	fmt.Fprintf(w, "# HELP botdesk_send_reclaimed_total Sends of a message whose earlier claim (another instance, or this one before a restart) was left without an outcome: the one case a chat may receive a message twice.\n# TYPE botdesk_send_reclaimed_total counter\nbotdesk_send_reclaimed_total %d\n", reclaimed)
}
