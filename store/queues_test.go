package store_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/botdesk/botdesk/store/pgtest"
	"sync"
	"testing"
	"time"

	"github.com/botdesk/botdesk/store"
)

func openQueueTestStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir(), DatabaseURL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// queueChannel makes a channel with Message Queue Monitoring on and n mo
// events enqueued; it returns the mo queue name.
func queueChannel(t *testing.T, st *store.Store, n int) string {
	t.Helper()
	ctx := context.Background()
	ch, err := st.CreateChannel(ctx, "Queues", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveWebhook(ctx, ch.ID, store.WebhookConfig{QueueEnabled: true}, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := st.EnqueueEvent(ctx, ch.ID, "mo", "1", []byte(fmt.Sprintf(`{"type":"mo","n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	return store.QueueName(ch.ID, "mo")
}

func TestEnqueueWithoutQueueMonitoringWritesNoQueueCopy(t *testing.T) {
	st := openQueueTestStore(t)
	ctx := context.Background()
	ch, err := st.CreateChannel(ctx, "NoQueue", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnqueueEvent(ctx, ch.ID, "status", "", []byte(`{"type":"status"}`)); err != nil {
		t.Fatal(err)
	}
	stats, err := st.QueueStats(ctx, ch.ID, time.Now())
	if err != nil || len(stats) != 0 {
		t.Fatalf("stats = %+v, %v", stats, err)
	}
}

// Two consumers receiving at the same time never get the same message; an
// un-acked message comes back after its visibility timeout under a new
// receipt, and the old receipt no longer acks it.
func TestQueueLeaseExpireAck(t *testing.T) {
	st := openQueueTestStore(t)
	q := queueChannel(t, st, 20)
	ctx := context.Background()
	now := time.Now().Add(time.Second)

	var mu sync.Mutex
	got := map[string]string{} // event id -> receipt
	var wg sync.WaitGroup
	for c := 0; c < 2; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				msgs, err := st.ReceiveQueue(ctx, q, now, 30*time.Second, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(msgs) == 0 {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					if _, dup := got[m.EventID]; dup {
						t.Errorf("message %s leased twice", m.EventID)
					}
					got[m.EventID] = *m.Receipt
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != 20 {
		t.Fatalf("leased %d distinct messages, want 20", len(got))
	}
	// Nothing is visible while leased.
	if msgs, _ := st.ReceiveQueue(ctx, q, now.Add(29*time.Second), time.Minute, 100); len(msgs) != 0 {
		t.Fatalf("%d messages visible during their lease", len(msgs))
	}
	// Ack half of them within the lease.
	acked := 0
	for id, rcpt := range got {
		if acked == 10 {
			break
		}
		if err := st.AckQueue(ctx, q, rcpt, now.Add(time.Second)); err != nil {
			t.Fatalf("ack %s: %v", id, err)
		}
		delete(got, id)
		acked++
	}
	// After the visibility timeout the other 10 come back, once each.
	later := now.Add(31 * time.Second)
	again, err := st.ReceiveQueue(ctx, q, later, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 10 {
		t.Fatalf("%d messages came back, want 10", len(again))
	}
	for _, m := range again {
		old, ok := got[m.EventID]
		if !ok {
			t.Fatalf("acked message %s came back", m.EventID)
		}
		if m.ReceiveCount != 2 || *m.Receipt == old {
			t.Fatalf("redelivery: count %d, receipt reused %v", m.ReceiveCount, *m.Receipt == old)
		}
		if err := st.AckQueue(ctx, q, old, later); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ack with expired receipt = %v, want ErrNotFound", err)
		}
		if err := st.AckQueue(ctx, q, *m.Receipt, later); err != nil {
			t.Fatalf("ack with new receipt: %v", err)
		}
	}
	if err := st.AckQueue(ctx, q, "rcpt_unknown", later); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown receipt = %v", err)
	}
	stats, err := st.QueueStats(ctx, "", later)
	if err != nil || len(stats) != 0 {
		t.Fatalf("queue not empty after acking everything: %+v, %v", stats, err)
	}
}

// An ack after the lease expired is refused even before anyone re-leased
// the message, so a slow consumer learns it must not assume ownership.
func TestQueueAckAfterExpiryRefused(t *testing.T) {
	st := openQueueTestStore(t)
	q := queueChannel(t, st, 1)
	ctx := context.Background()
	now := time.Now().Add(time.Second)
	msgs, err := st.ReceiveQueue(ctx, q, now, 10*time.Second, 1)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive = %v, %v", msgs, err)
	}
	if err := st.AckQueue(ctx, q, *msgs[0].Receipt, now.Add(11*time.Second)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("late ack = %v", err)
	}
	stats, err := st.QueueStats(ctx, "", now.Add(11*time.Second))
	if err != nil || len(stats) != 1 || stats[0].Depth != 1 || stats[0].InFlight != 0 || stats[0].Oldest == nil {
		t.Fatalf("stats = %+v, %v", stats, err)
	}
}

// ClaimDueOutbox holds back a chat's later mo events while an earlier one
// is pending, without holding back other chats or other kinds.
func TestClaimDueOutboxPerChatOrder(t *testing.T) {
	st := openQueueTestStore(t)
	ctx := context.Background()
	ch, err := st.CreateChannel(ctx, "Order", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []struct{ kind, key string }{{"mo", "1"}, {"mo", "1"}, {"mo", "2"}, {"status", "1"}, {"status", "1"}} {
		if err := st.EnqueueEvent(ctx, ch.ID, ev.kind, ev.key, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().Add(time.Second)
	rows, err := st.ClaimDueOutbox(ctx, now, time.Minute, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Kind+":"+r.OrderingKey)
	}
	if fmt.Sprint(got) != "[mo:1 mo:2 status:1 status:1]" {
		t.Fatalf("claimed %v", got)
	}
	// Leased rows are not claimed again until the lease expires.
	if again, _ := st.ClaimDueOutbox(ctx, now, time.Minute, 10, nil); len(again) != 0 {
		t.Fatalf("claimed %d leased rows", len(again))
	}
	if n, err := st.ReclaimDeliveries(ctx, now, now.Add(-store.DefaultLeaseTTL)); err != nil || n != 4 {
		t.Fatalf("reclaimed %d, %v", n, err)
	}
}
