package store

import "testing"

// A signal subscriber keeps one pending change: a burst of publishes
// never blocks the publisher, and the subscriber learns that something
// happened.
func TestSubscribeSignalKeepsOnePending(t *testing.T) {
	h := NewHub()
	ch, cancel := h.SubscribeSignal()
	defer cancel()
	for range 5 {
		h.Publish(Change{Kind: "session"})
	}
	if got := len(ch); got != 1 || cap(ch) != 1 {
		t.Fatalf("queued %d of capacity %d, want 1 of 1", got, cap(ch))
	}
	<-ch
	h.Publish(Change{Kind: "session"})
	select {
	case <-ch:
	default:
		t.Fatal("a publish after the signal was taken was lost")
	}
}
