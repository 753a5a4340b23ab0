package store

import (
	"sync"
	"sync/atomic"
)

// Change tells live views that something was committed: a message stored
// or its status changed. Subscribers re-read the database from their own
// cursor, so a missed Change costs latency, never data.
type Change struct {
	Kind           string // "message", "status", "conversation", "bot", "read", "assigned"
	ChannelID      string
	ConversationID int64
	MessageID      int64
	// UserID is whom a "read" (they read the conversation) or an
	// "assigned" change (it was assigned to them) concerns.
	UserID int64
	// Incoming marks a new incoming message (notifications).
	Incoming bool
	// More says another change of the same commit follows at once
	// (Hub.PublishAll): Drain waits for it, so what one commit changed
	// reaches a subscriber as one batch.
	More bool
}

// Hub fans Changes out to in-process subscribers (SSE connections).
type Hub struct {
	mu   sync.Mutex
	subs map[chan Change]*atomic.Uint64 // changes each subscriber missed
}

// NewHub makes an empty hub.
func NewHub() *Hub { return &Hub{subs: map[chan Change]*atomic.Uint64{}} }

// Subscribe returns a buffered channel of changes and a cancel func.
func (h *Hub) Subscribe() (<-chan Change, func()) {
	ch, _, cancel := h.SubscribeCounted(256)
	return ch, cancel
}

// SubscribeSignal subscribes with a buffer of one, for a subscriber that
// only needs to know that something happened and then re-checks the state
// itself (a stream re-checking its session): a change published while one
// is still queued adds nothing the re-check would not see, so nothing is
// lost when it is dropped, and each of thousands of open streams keeps one
// slot instead of 256.
func (h *Hub) SubscribeSignal() (<-chan Change, func()) {
	ch, _, cancel := h.SubscribeCounted(1)
	return ch, cancel
}

// SubscribeCounted is Subscribe with a buffer of n changes and a count of
// the changes this subscriber missed because its buffer was full. A
// subscriber that keeps state from the changes themselves (not from a
// cursor) reads it to know when that state can no longer be trusted.
func (h *Hub) SubscribeCounted(n int) (<-chan Change, func() uint64, func()) {
	ch := make(chan Change, n)
	missed := new(atomic.Uint64)
	h.mu.Lock()
	h.subs[ch] = missed
	h.mu.Unlock()
	return ch, missed.Load, func() {
		h.mu.Lock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
		h.mu.Unlock()
	}
}

// Publish never blocks: a full subscriber misses this change and catches
// up from the database on the next one.
func (h *Hub) Publish(c Change) { h.PublishAll([]Change{c}) }

// PublishAll publishes the changes of one commit together: each
// subscriber gets them back to back, every one but the last marked More,
// so Drain returns them in one batch (an "assigned to you" notice and the
// notification of the message that caused it are then one update). It
// never blocks: a subscriber without room for all of them gets what fits,
// the last of those unmarked, and misses the rest.
func (h *Hub) PublishAll(cs []Change) {
	if len(cs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch, missed := range h.subs {
		// Under h.mu no other publisher sends, and the subscriber only
		// takes: the room counted here stays.
		n := min(len(cs), cap(ch)-len(ch))
		for i := range n {
			c := cs[i]
			c.More = i < n-1
			ch <- c
		}
		if n < len(cs) {
			missed.Add(uint64(len(cs) - n))
		}
	}
}

// Drain collects first and every change already queued on ch, so a burst
// is handled once; it waits for the rest of a commit that first (or a
// later one) says follows (Change.More), which PublishAll is sending at
// that moment. The batch ends early when ch is closed.
func Drain(first Change, ch <-chan Change) []Change {
	batch := []Change{first}
	for {
		var c Change
		ok := true
		if batch[len(batch)-1].More {
			c, ok = <-ch
		} else {
			select {
			case c, ok = <-ch:
			default:
				return batch
			}
		}
		if !ok {
			return batch
		}
		batch = append(batch, c)
	}
}

// ResyncChange is the Kind of the Change a Hub announces when changes may
// have been lost before it (the change feed from the other instances was
// cut, store/feed.go): subscribers re-read what they show from the
// database instead of trusting the changes they saw.
const ResyncChange = "resync"

// Resync tells every subscriber it may have missed changes: its missed
// count grows and it receives a ResyncChange (unless its buffer is full,
// when it has changes to wake it already).
func (h *Hub) Resync() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch, missed := range h.subs {
		missed.Add(1)
		select {
		case ch <- Change{Kind: ResyncChange}:
		default:
		}
	}
}

// Subscribers counts live subscriptions (for tests and metrics).
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
