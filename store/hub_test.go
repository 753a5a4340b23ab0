package store

import (
	"testing"
	"time"
)

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

// PublishAll marks every change of a commit but the last, and Drain
// waits for the rest of a marked commit even when it is not queued yet
// (the subscriber woke between two of its changes). A subscriber without
// room for a commit gets what fits, the last of those unmarked, and
// counts the rest as missed.
func TestPublishAllArrivesAsOneBatch(t *testing.T) {
	h := NewHub()
	ch, cancel := h.Subscribe()
	defer cancel()
	h.PublishAll([]Change{{Kind: "a"}, {Kind: "b"}, {Kind: "c"}})
	for i, want := range []bool{true, true, false} {
		if c := <-ch; c.More != want {
			t.Errorf("change %d of 3: More = %v, want %v", i+1, c.More, want)
		}
	}

	raw := make(chan Change, 4)
	raw <- Change{Kind: "a", More: true}
	got := make(chan []Change, 1)
	go func() { got <- Drain(<-raw, raw) }()
	// Whenever it comes, the second change belongs to the batch.
	time.Sleep(20 * time.Millisecond)
	raw <- Change{Kind: "b"}
	if b := <-got; len(b) != 2 || b[1].Kind != "b" {
		t.Errorf("Drain returned %+v, want the commit's two changes", b)
	}

	small, missed, cancelSmall := h.SubscribeCounted(2)
	defer cancelSmall()
	for len(ch) > 0 {
		<-ch
	}
	h.PublishAll([]Change{{Kind: "a"}, {Kind: "b"}, {Kind: "c"}})
	if b := Drain(<-small, small); len(b) != 2 || b[1].More || missed() != 1 {
		t.Errorf("a full subscriber got %+v, missed %d; want the two that fit, the last unmarked, and one missed", b, missed())
	}
}
