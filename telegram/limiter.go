package telegram

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LimiterConfig sets the send rates. The zero value of a field means the
// default, which follows Telegram's published guidance.
type LimiterConfig struct {
	PerBot      rate.Limit // default 30/s across all chats
	PerBotBurst int        // default 30
	PerChat     rate.Limit // default 1/s in a private chat
	ChatBurst   int        // default 1
	PerGroup    rate.Limit // default 20/min in a group, supergroup or channel
	GroupBurst  int        // default 1
}

func (c LimiterConfig) withDefaults() LimiterConfig {
	if c.PerBot == 0 {
		c.PerBot = 30
	}
	if c.PerBotBurst == 0 {
		c.PerBotBurst = 30
	}
	if c.PerChat == 0 {
		c.PerChat = 1
	}
	if c.ChatBurst == 0 {
		c.ChatBurst = 1
	}
	if c.PerGroup == 0 {
		c.PerGroup = rate.Every(time.Minute / 20)
	}
	if c.GroupBurst == 0 {
		c.GroupBurst = 1
	}
	return c
}

// sweepEvery is how often idle chat limiters are dropped.
const sweepEvery = time.Minute

// Limiter paces one bot's outgoing messages so Telegram does not answer 429:
// a bot-wide rate and a per-chat rate (stricter for groups). Use one Limiter
// per bot; it is safe for concurrent use.
//
// Memory stays bounded without a size cap: a chat's limiter is dropped once
// it has refilled completely, because a full limiter behaves exactly like a
// new one. Only chats written to within the last few seconds are kept.
type Limiter struct {
	cfg LimiterConfig
	bot *rate.Limiter

	mu        sync.Mutex
	chats     map[int64]*rate.Limiter
	lastSweep time.Time
}

// NewLimiter returns a limiter with cfg's rates (zero fields get defaults).
func NewLimiter(cfg LimiterConfig) *Limiter {
	cfg = cfg.withDefaults()
	return &Limiter{
		cfg:       cfg,
		bot:       rate.NewLimiter(cfg.PerBot, cfg.PerBotBurst),
		chats:     make(map[int64]*rate.Limiter),
		lastSweep: time.Now(),
	}
}

// Wait blocks until a message may be sent to chatID, or ctx is done. isGroup
// is true for groups, supergroups and channels.
func (l *Limiter) Wait(ctx context.Context, chatID int64, isGroup bool) error {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.lastSweep) >= sweepEvery {
		l.sweepLocked(now)
	}
	chat, ok := l.chats[chatID]
	if !ok {
		if isGroup {
			chat = rate.NewLimiter(l.cfg.PerGroup, l.cfg.GroupBurst)
		} else {
			chat = rate.NewLimiter(l.cfg.PerChat, l.cfg.ChatBurst)
		}
		l.chats[chatID] = chat
	}
	// Reserving under the lock (rather than calling chat.Wait later) keeps a
	// concurrent sweep from dropping a limiter that is about to be spent.
	res := chat.ReserveN(now, 1)
	delay := res.DelayFrom(now)
	l.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			res.Cancel() // give the slot back to the chat
			return ctx.Err()
		}
	}
	// The chat first, then the bot: waiting bot-wide first would spend
	// bot-wide capacity on a message that then sits waiting for its chat.
	return l.bot.Wait(ctx)
}

// Chats is the number of chat limiters currently held (for tests and
// metrics).
func (l *Limiter) Chats() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.chats)
}

// Sweep drops chat limiters that have fully refilled. Wait calls it once a
// minute; it is exported for tests and for callers that want it sooner.
func (l *Limiter) Sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(time.Now())
}

func (l *Limiter) sweepLocked(now time.Time) {
	for id, lim := range l.chats {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(l.chats, id)
		}
	}
	l.lastSweep = now
}
