package store

import "sync"

// Change tells live views that something was committed: a message stored
// or its status changed. Subscribers re-read the database from their own
// cursor, so a missed Change costs latency, never data.
type Change struct {
	Kind           string // "message", "status", "conversation", "bot"
	ChannelID      string
	ConversationID int64
	MessageID      int64
}

// Hub fans Changes out to in-process subscribers (SSE connections).
type Hub struct {
	mu   sync.Mutex
	subs map[chan Change]struct{}
}

// NewHub makes an empty hub.
func NewHub() *Hub { return &Hub{subs: map[chan Change]struct{}{}} }

// Subscribe returns a buffered channel of changes and a cancel func.
func (h *Hub) Subscribe() (<-chan Change, func()) {
	ch := make(chan Change, 256)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
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
	for ch := range h.subs {
		select {
		case ch <- c:
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
