package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/botdesk/botdesk/store"
)

// Deleting a channel must also drop its queue messages, which are linked
// by queue name rather than by foreign key.
func TestDeleteChannelRemovesQueueMessages(t *testing.T) {
	ctx := context.Background()
	st := openQueueTestStore(t)
	keep, err := st.CreateChannel(ctx, "keep", nil)
	if err != nil {
		t.Fatal(err)
	}
	gone, err := st.CreateChannel(ctx, "gone", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{keep.ID, gone.ID} {
		if _, err := st.SaveWebhook(ctx, id, store.WebhookConfig{QueueEnabled: true}, nil); err != nil {
			t.Fatal(err)
		}
		if err := st.EnqueueEvent(ctx, id, store.OutboxNotify, id, []byte(`{"type":"notify"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeleteChannel(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	depth := func(id string) int64 {
		stats, err := st.QueueStats(ctx, id, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, q := range stats {
			n += q.Depth
		}
		return n
	}
	if n := depth(gone.ID); n != 0 {
		t.Errorf("deleted channel still has %d queue messages", n)
	}
	if n := depth(keep.ID); n != 1 {
		t.Errorf("other channel's queue depth = %d, want 1", n)
	}
}
