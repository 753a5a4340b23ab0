package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/botdesk/botdesk/models"
)

// groupStore is a store with n channels, each with its bot (ingestBot+k).
func groupStore(t *testing.T, n int) (*Store, []int64) {
	t.Helper()
	s := openTestStore(t)
	ctx := context.Background()
	bots := make([]int64, n)
	for k := range bots {
		ch, err := s.CreateChannel(ctx, fmt.Sprintf("Group %d", k), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetWorkbench(ctx, ch.ID, models.WorkbenchAll, nil); err != nil {
			t.Fatal(err)
		}
		bots[k] = ingestBot + int64(k)
		if err := s.CreateBot(ctx, &models.Bot{ChannelID: ch.ID, TelegramID: bots[k], Username: fmt.Sprintf("b%d", k), TokenEnc: []byte{1}, TokenHint: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	return s, bots
}

// moJSON is a MOPayload that always succeeds.
func moJSON(m *models.Message) ([]byte, error) {
	return []byte(fmt.Sprintf(`{"type":"mo","message_id":%d}`, m.ID)), nil
}

// textBatch is n private texts for bot, update ids from first, from chats 1…n.
func textBatch(bot, first int64, n int) IngestBatch {
	b := IngestBatch{BotTelegramID: bot, NextOffset: first + int64(n), MOPayload: moJSON}
	for i := range n {
		id := first + int64(i)
		b.Updates = append(b.Updates, text(id, int64(i%7+1), id, "private", fmt.Sprintf("hello %d", id)))
	}
	return b
}

type groupOutcome struct {
	res IngestResult
	err error
}

// submitTogether makes the batches wait in the committer's queue while the
// test holds the leader token, then releases it, so the first group taken
// is exactly these batches (up to maxGroupUpdates), as when several
// pollers finish getUpdates while the writer is busy. It returns each
// batch's outcome, in order.
func submitTogether(t *testing.T, s *Store, batches ...IngestBatch) []groupOutcome {
	t.Helper()
	c := &s.ingestGroup
	c.mu.Lock()
	if c.lead == nil {
		c.lead = make(chan struct{}, 1)
	}
	lead := c.lead
	c.mu.Unlock()
	lead <- struct{}{}
	out := make([]groupOutcome, len(batches))
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].res, out[i].err = s.IngestBatch(context.Background(), b)
		}()
	}
	for {
		c.mu.Lock()
		n := len(c.pending)
		c.mu.Unlock()
		if n == len(batches) {
			break
		}
		runtime.Gosched()
	}
	<-lead
	wg.Wait()
	return out
}

func (c *ingestCommitter) stats() (groups, grouped, fallbacks int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.groups, c.grouped, c.fallbacks
}

func botOffset(t *testing.T, s *Store, bot int64) int64 {
	t.Helper()
	var off int64
	if err := s.read.Raw("SELECT update_offset FROM bots WHERE telegram_id = ?", bot).Scan(&off).Error; err != nil {
		t.Fatal(err)
	}
	return off
}

func countWhere(t *testing.T, s *Store, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.read.Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIngestGroupCommitsWaitingBatchesTogether: batches of several bots
// waiting at the same moment are written in one transaction, each with
// its own offset, and no submitter is answered (nor any change published)
// before that transaction has committed.
func TestIngestGroupCommitsWaitingBatchesTogether(t *testing.T) {
	s, bots := groupStore(t, 3)
	var atCommit []string
	s.ingestGroup.beforeCommit = func(group []*ingestReq) {
		// Every batch is written but not committed: another connection
		// sees none of it, and no submitter has been answered.
		answered := 0
		for _, r := range group {
			select {
			case <-r.done:
				answered++
			default:
			}
		}
		var msgs, off int64
		errM := s.read.Raw("SELECT COUNT(*) FROM messages").Scan(&msgs).Error
		errO := s.read.Raw("SELECT update_offset FROM bots WHERE telegram_id = ?", bots[0]).Scan(&off).Error
		atCommit = append(atCommit, fmt.Sprintf("batches=%d answered=%d messages=%d offset=%d errs=%v",
			len(group), answered, msgs, off, errors.Join(errM, errO)))
	}
	changes, unsub := s.Hub().Subscribe()
	defer unsub()

	batches := []IngestBatch{textBatch(bots[0], 100, 5), textBatch(bots[1], 200, 3), textBatch(bots[2], 300, 4)}
	out := submitTogether(t, s, batches...)
	c := &s.ingestGroup
	c.beforeCommit = nil

	if want := []string{"batches=3 answered=0 messages=0 offset=0 errs=<nil>"}; fmt.Sprint(atCommit) != fmt.Sprint(want) {
		t.Fatalf("just before the commit: %v, want %v", atCommit, want)
	}
	if g, n, f := c.stats(); g != 1 || n != 3 || f != 0 {
		t.Fatalf("groups=%d grouped=%d fallbacks=%d, want one group of 3", g, n, f)
	}
	for i, o := range out {
		b := batches[i]
		if o.err != nil || o.res.Ingested != len(b.Updates) || o.res.Replayed != 0 || len(o.res.Changes) != len(b.Updates) {
			t.Errorf("batch %d: %+v, %v", i, o.res, o.err)
		}
		if got := botOffset(t, s, b.BotTelegramID); got != b.NextOffset {
			t.Errorf("bot %d offset = %d, want %d", b.BotTelegramID, got, b.NextOffset)
		}
		if n := countWhere(t, s, "messages", "bot_telegram_id = ?", b.BotTelegramID); n != int64(len(b.Updates)) {
			t.Errorf("bot %d: %d messages, want %d", b.BotTelegramID, n, len(b.Updates))
		}
		if n := countWhere(t, s, "outbox", "channel_id = ?", o.res.ChannelID); n != int64(len(b.Updates)) {
			t.Errorf("bot %d: %d outbox rows, want %d", b.BotTelegramID, n, len(b.Updates))
		}
	}
	if len(changes) != 12 {
		t.Fatalf("%d changes published, want 12", len(changes))
	}
	// A replay of the whole group is a no-op, grouped or not.
	again := submitTogether(t, s, batches...)
	for i, o := range again {
		if o.err != nil || o.res.Ingested != 0 || o.res.Replayed != len(batches[i].Updates) {
			t.Errorf("replay %d: %+v, %v", i, o.res, o.err)
		}
	}
	if n := countWhere(t, s, "messages", "1=1"); n != 12 {
		t.Fatalf("%d messages after the replay, want 12", n)
	}
}

// TestIngestGroupFallsBackWhenOneBatchFails: a batch that fails inside the
// shared transaction (its payload cannot be built, its bot was deleted)
// rolls the group back, and every batch is then written alone: the good
// ones are stored, the bad one leaves nothing behind, not even its
// ingested_updates rows, so it is stored whole when it comes again.
func TestIngestGroupFallsBackWhenOneBatchFails(t *testing.T) {
	s, bots := groupStore(t, 3)
	good := textBatch(bots[0], 100, 4)
	bad := textBatch(bots[1], 200, 4)
	bad.MOPayload = func(m *models.Message) ([]byte, error) {
		// Fails half-way through the batch: rows are already written.
		if *m.UpdateID == 202 {
			return nil, errors.New("payload broke")
		}
		return moJSON(m)
	}
	gone := textBatch(ingestBot+99, 300, 2) // no such bot
	good2 := textBatch(bots[2], 400, 3)

	out := submitTogether(t, s, good, bad, gone, good2)
	if g, _, f := s.ingestGroup.stats(); g != 0 || f != 1 {
		t.Fatalf("groups=%d fallbacks=%d, want the group to fall back once", g, f)
	}
	for _, i := range []int{0, 3} {
		if o := out[i]; o.err != nil || o.res.Ingested != []int{4, 0, 0, 3}[i] {
			t.Errorf("good batch %d: %+v, %v", i, o.res, o.err)
		}
	}
	if out[1].err == nil || !errors.Is(out[2].err, ErrNotFound) {
		t.Fatalf("bad batch: %v; missing bot: %v", out[1].err, out[2].err)
	}
	for _, b := range []IngestBatch{good, good2} {
		if got := botOffset(t, s, b.BotTelegramID); got != b.NextOffset {
			t.Errorf("bot %d offset = %d, want %d", b.BotTelegramID, got, b.NextOffset)
		}
	}
	if got := botOffset(t, s, bots[1]); got != 0 {
		t.Errorf("failed bot's offset moved to %d", got)
	}
	for _, table := range []string{"messages", "ingested_updates"} {
		if n := countWhere(t, s, table, "bot_telegram_id = ?", bots[1]); n != 0 {
			t.Errorf("failed batch left %d %s rows", n, table)
		}
	}
	bad.MOPayload = moJSON
	res, err := s.IngestBatch(context.Background(), bad)
	if err != nil || res.Ingested != 4 {
		t.Fatalf("failed batch retried: %+v, %v", res, err)
	}
}

// TestIngestGroupSameBatchTwice: two copies of one batch in one group are
// stored once; the second is a replay, as in two transactions.
func TestIngestGroupSameBatchTwice(t *testing.T) {
	s, bots := groupStore(t, 1)
	b := textBatch(bots[0], 100, 5)
	out := submitTogether(t, s, b, b)
	if g, n, _ := s.ingestGroup.stats(); g != 1 || n != 2 {
		t.Fatalf("groups=%d grouped=%d, want one group of 2", g, n)
	}
	if out[0].err != nil || out[1].err != nil || out[0].res.Ingested+out[1].res.Ingested != 5 || out[0].res.Replayed+out[1].res.Replayed != 5 {
		t.Fatalf("outcomes %+v", out)
	}
	if n := countWhere(t, s, "messages", "1=1"); n != 5 {
		t.Fatalf("%d messages, want 5", n)
	}
}

// TestIngestGroupIsBounded: a group takes batches in order up to
// maxGroupUpdates; the rest wait for the next one.
func TestIngestGroupIsBounded(t *testing.T) {
	s, bots := groupStore(t, 3)
	per := maxGroupUpdates * 2 / 5 // two fit, three do not
	out := submitTogether(t, s, textBatch(bots[0], 1, per), textBatch(bots[1], 1, per), textBatch(bots[2], 1, per))
	for i, o := range out {
		if o.err != nil || o.res.Ingested != per {
			t.Errorf("batch %d: %d ingested, %v", i, o.res.Ingested, o.err)
		}
	}
	if g, n, f := s.ingestGroup.stats(); g != 1 || n != 2 || f != 0 {
		t.Fatalf("groups=%d grouped=%d fallbacks=%d, want one group of 2 then one batch alone", g, n, f)
	}
}

// TestIngestGroupConcurrentPollers: many goroutines ingesting for several
// bots at once (as the Supervisor's pollers do) store every update once and
// leave each bot at its last offset, however the batches were grouped.
func TestIngestGroupConcurrentPollers(t *testing.T) {
	s, bots := groupStore(t, 4)
	const rounds, per = 15, 20
	var wg sync.WaitGroup
	errs := make(chan error, len(bots))
	for _, bot := range bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				b := textBatch(bot, int64(r*per+1), per)
				res, err := s.IngestBatch(context.Background(), b)
				if err == nil && res.Ingested != per {
					err = fmt.Errorf("bot %d round %d: %d ingested", bot, r, res.Ingested)
				}
				if err != nil {
					errs <- err
					return
				}
				// The poller's next step reads its offset back.
				if bot, err := s.BotByTelegramID(context.Background(), bot); err != nil || bot.UpdateOffset != b.NextOffset {
					errs <- fmt.Errorf("offset after round %d: %v, %v", r, bot, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, bot := range bots {
		if n := countWhere(t, s, "messages", "bot_telegram_id = ?", bot); n != rounds*per {
			t.Errorf("bot %d: %d messages, want %d", bot, n, rounds*per)
		}
	}
	_, grouped, _ := s.ingestGroup.stats()
	t.Logf("%d of %d batches were committed in groups", grouped, len(bots)*rounds)
}
