package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestCursorReaderNeverSkipsAMessage: writers insert messages into one
// channel concurrently — an ingesting poller and several API senders, each
// in transactions of its own — while a reader tails the channel the way
// the API's ?after=, "Load more" and SSE resume do (id > cursor, cursor =
// the last id seen). Afterwards every stored message must have been seen
// by the tail: on PostgreSQL ids are handed out at insert, and without the
// message-insert lock a later id can commit first and push the cursor past
// an earlier one for good.
func TestCursorReaderNeverSkipsAMessage(t *testing.T) {
	s, bots := groupStore(t, 1)
	ctx := context.Background()
	b, err := s.BotByTelegramID(ctx, bots[0])
	if err != nil {
		t.Fatal(err)
	}
	const senders, perSender, batches = 4, 40, 30
	var wg sync.WaitGroup
	errs := make(chan error, senders+1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range batches {
			if _, err := s.IngestBatch(ctx, textBatch(bots[0], int64(1+i*5), 5)); err != nil {
				errs <- err
				return
			}
		}
	}()
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				if _, _, err := s.QueueOutgoing(ctx, OutgoingMessage{ChannelID: b.ChannelID, ChatID: int64(w + 1), Text: fmt.Sprintf("reply %d.%d", w, i)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := map[int64]bool{}
	var cursor int64
	tail := func() {
		for {
			msgs, err := s.ChannelMessagesAfter(ctx, b.ChannelID, cursor, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if m.ID <= cursor {
					t.Fatalf("id %d after cursor %d: not in id order", m.ID, cursor)
				}
				seen[m.ID], cursor = true, m.ID
			}
			if len(msgs) < 50 {
				return
			}
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		tail()
	}
	tail() // what committed after the last look
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var all []int64
	if err := s.r(ctx).Raw("SELECT id FROM messages WHERE channel_id = ? ORDER BY id", b.ChannelID).Scan(&all).Error; err != nil {
		t.Fatal(err)
	}
	if want := batches*5 + senders*perSender; len(all) != want {
		t.Fatalf("%d messages stored, want %d", len(all), want)
	}
	var skipped []int64
	for _, id := range all {
		if !seen[id] {
			skipped = append(skipped, id)
		}
	}
	if len(skipped) > 0 {
		t.Errorf("the tailing reader skipped %d of %d messages for good: %v", len(skipped), len(all), skipped)
	}
}
