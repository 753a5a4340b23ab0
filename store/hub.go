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
func (h *Hub) Publish(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch, missed := range h.subs {
		select {
		case ch <- c:
		default:
			missed.Add(1)
		}
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
