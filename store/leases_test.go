package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store/pgtest"
)

// twoInstances opens two stores on one database under instance ids "a"
// and "b", with the ingest bot connected.
func twoInstances(t *testing.T) (a, b *Store, ch *models.Channel) {
	t.Helper()
	dir, url := t.TempDir(), pgtest.URL(t)
	open := func(id string) *Store {
		s, err := Open(context.Background(), Config{DataDir: dir, DatabaseURL: url, InstanceID: id})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b = open("a"), open("b")
	ctx := context.Background()
	ch, err := a.CreateChannel(ctx, "Leases", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CreateBot(ctx, &models.Bot{ChannelID: ch.ID, TelegramID: ingestBot, Username: "b", TokenEnc: []byte{1}, TokenHint: "x"}); err != nil {
		t.Fatal(err)
	}
	return a, b, ch
}

func TestLeaseTakeoverBumpsEpochAndFencesTheStaleOwner(t *testing.T) {
	a, b, _ := twoInstances(t)
	ctx := context.Background()
	t0 := time.UnixMilli(1_800_000_000_000)
	ttl := DefaultLeaseTTL

	la, ok, err := a.AcquireLease(ctx, ingestBot, t0, t0.Add(ttl))
	if err != nil || !ok || la.Epoch != 1 || la.Owner != "a" {
		t.Fatalf("a acquire = %+v %v %v", la, ok, err)
	}
	if _, ok, err := b.AcquireLease(ctx, ingestBot, t0.Add(ttl-time.Millisecond), t0.Add(2*ttl)); err != nil || ok {
		t.Fatalf("b took a live lease: %v %v", ok, err)
	}
	// a commits a batch under its lease.
	batch := IngestBatch{BotTelegramID: ingestBot, NextOffset: 11, Lease: &la, Updates: []IngestUpdate{text(10, 1, 1, "private", "one")}}
	if res, err := a.IngestBatch(ctx, batch); err != nil || res.Ingested != 1 {
		t.Fatalf("owner's batch = %+v, %v", res, err)
	}
	// a stalls past the TTL; b takes over with the next epoch.
	lb, ok, err := b.AcquireLease(ctx, ingestBot, t0.Add(ttl+time.Millisecond), t0.Add(2*ttl))
	if err != nil || !ok || lb.Epoch != 2 || lb.Owner != "b" {
		t.Fatalf("b takeover = %+v %v %v", lb, ok, err)
	}
	// a wakes up and commits what it fetched meanwhile: refused whole,
	// offset included.
	stale := IngestBatch{BotTelegramID: ingestBot, NextOffset: 13, Lease: &la, Updates: []IngestUpdate{text(11, 1, 2, "private", "two"), text(12, 1, 3, "private", "three")}}
	if _, err := a.IngestBatch(ctx, stale); !errors.Is(err, ErrFenced) {
		t.Fatalf("stale owner's commit: %v, want ErrFenced", err)
	}
	bot, err := b.BotByTelegramID(ctx, ingestBot)
	if err != nil || bot.UpdateOffset != 11 {
		t.Fatalf("offset after the refused commit = %d, %v; want 11", bot.UpdateOffset, err)
	}
	if n := count(t, b, "messages"); n != 1 {
		t.Fatalf("%d messages stored, want 1 (the fenced batch stored nothing)", n)
	}
	// The new owner fetches the same updates from offset 11 and stores them.
	stale.Lease = &lb
	if res, err := b.IngestBatch(ctx, stale); err != nil || res.Ingested != 2 {
		t.Fatalf("new owner's batch = %+v, %v", res, err)
	}
	// a's renewal no longer holds the bot; it is not free either.
	v, err := a.RenewLeases(ctx, t0.Add(ttl+2*time.Millisecond), t0.Add(2*ttl), t0, false)
	if err != nil || len(v.Mine) != 0 || len(v.Free) != 0 || v.Bots != 1 {
		t.Fatalf("a's view = %+v, %v", v, err)
	}
}

func TestLeaseReleaseRenewAndInstances(t *testing.T) {
	a, b, _ := twoInstances(t)
	ctx := context.Background()
	now := time.UnixMilli(1_800_000_000_000)
	for _, s := range []*Store{a, b} {
		if err := s.Heartbeat(ctx, "v1", now, now); err != nil {
			t.Fatal(err)
		}
	}
	v, err := a.RenewLeases(ctx, now, now.Add(DefaultLeaseTTL), now.Add(-DefaultLeaseTTL), true)
	if err != nil || v.Live != 2 || v.Bots != 1 || len(v.Free) != 1 || v.Free[0] != ingestBot {
		t.Fatalf("view = %+v, %v", v, err)
	}
	la, ok, _ := a.AcquireLease(ctx, ingestBot, now, now.Add(DefaultLeaseTTL))
	if !ok {
		t.Fatal("a could not take a free bot")
	}
	// Renewing keeps the epoch and pushes the expiry: b cannot take it
	// at a time the first lease would have expired.
	later := now.Add(DefaultLeaseTTL - time.Second)
	if v, err := a.RenewLeases(ctx, later, later.Add(DefaultLeaseTTL), later.Add(-DefaultLeaseTTL), false); err != nil ||
		len(v.Mine) != 1 || v.Mine[0].Epoch != la.Epoch {
		t.Fatalf("renewed view = %+v, %v", v, err)
	}
	if _, ok, _ := b.AcquireLease(ctx, ingestBot, now.Add(DefaultLeaseTTL+time.Second), now.Add(3*DefaultLeaseTTL)); ok {
		t.Fatal("b took a renewed lease")
	}
	// A generation bump from b is seen by the owner.
	if err := b.BumpBotGeneration(ctx, ingestBot); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.RenewLeases(ctx, later, later.Add(DefaultLeaseTTL), later.Add(-DefaultLeaseTTL), false); len(v.Mine) != 1 || v.Mine[0].Generation != 1 {
		t.Fatalf("generation not seen: %+v", v.Mine)
	}
	ins, err := b.Instances(ctx, later, DefaultLeaseTTL)
	if err != nil || len(ins) != 2 {
		t.Fatalf("instances = %+v, %v", ins, err)
	}
	bots := map[string]Instance{}
	for _, in := range ins {
		bots[in.ID] = in
	}
	if a := bots["a"]; a.Bots != 1 || len(a.BotNames) != 1 || a.BotNames[0] != "b" || !a.Live || a.Version != "v1" || !a.StartedAt.Equal(now) {
		t.Fatalf("instance a = %+v", a)
	}
	if b := bots["b"]; b.Bots != 0 || len(b.BotNames) != 0 || !b.Live {
		t.Fatalf("instance b = %+v", b)
	}
	// Past a lease lifetime without heartbeats: gone, and owning nothing.
	gone := later.Add(2 * DefaultLeaseTTL)
	ins, _ = b.Instances(ctx, gone, DefaultLeaseTTL)
	for _, in := range ins {
		if in.Live || in.Bots != 0 {
			t.Fatalf("instance %+v at %s, want gone with no bots", in, gone)
		}
	}
	// Leaving hands the bot over at once, without waiting for the TTL.
	if err := a.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	lb, ok, err := b.AcquireLease(ctx, ingestBot, later, later.Add(DefaultLeaseTTL))
	if err != nil || !ok || lb.Epoch != la.Epoch+1 {
		t.Fatalf("takeover after leave = %+v %v %v", lb, ok, err)
	}
	if ins, _ := b.Instances(ctx, later, DefaultLeaseTTL); len(ins) != 1 || ins[0].ID != "b" || ins[0].Bots != 1 {
		t.Fatalf("instances after leave = %+v", ins)
	}
	// A reused instance id starts with new epochs: its old claims are not its own.
	v, _ = b.RenewLeases(ctx, later, later.Add(DefaultLeaseTTL), later.Add(-DefaultLeaseTTL), true)
	if len(v.Mine) != 1 || v.Mine[0].Epoch != lb.Epoch+1 {
		t.Fatalf("restart view = %+v", v.Mine)
	}
}

func TestSendClaimFencedAndReclaimCounted(t *testing.T) {
	a, b, ch := twoInstances(t)
	ctx := context.Background()
	now := time.UnixMilli(1_800_000_000_000)
	m, _, err := a.QueueOutgoing(ctx, OutgoingMessage{ChannelID: ch.ID, ChatID: 1, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if heads, _ := a.PendingOutgoing(ctx, 10, true); len(heads) != 0 {
		t.Fatalf("a lists %d heads of a bot it does not hold", len(heads))
	}
	la, _, _ := a.AcquireLease(ctx, ingestBot, now, now.Add(DefaultLeaseTTL))
	if heads, _ := a.PendingOutgoing(ctx, 10, true); len(heads) != 1 {
		t.Fatalf("owner lists %d heads", len(heads))
	}
	if heads, _ := b.PendingOutgoing(ctx, 10, true); len(heads) != 0 {
		t.Fatalf("non-owner lists %d heads", len(heads))
	}
	c, err := a.ClaimSend(ctx, m.ID, la)
	if err != nil || !c.Taken || c.Reclaimed {
		t.Fatalf("first claim = %+v, %v", c, err)
	}
	// a dies after claiming; b takes the bot and claims the message again:
	// the possible duplicate is reported.
	lb, _, _ := b.AcquireLease(ctx, ingestBot, now.Add(DefaultLeaseTTL+time.Millisecond), now.Add(2*DefaultLeaseTTL))
	if _, err := a.ClaimSend(ctx, m.ID, la); !errors.Is(err, ErrFenced) {
		t.Fatalf("stale owner's claim: %v", err)
	}
	c, err = b.ClaimSend(ctx, m.ID, lb)
	if err != nil || !c.Taken || !c.Reclaimed || c.PrevInstance != "a" {
		t.Fatalf("takeover claim = %+v, %v", c, err)
	}
	if _, err := b.FinishOutgoing(ctx, m.ID, SendOutcome{Sent: true, TelegramMessageID: 9}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, b, "send_claims"); n != 0 {
		t.Fatalf("%d claims left after the outcome", n)
	}
	if c, err := b.ClaimSend(ctx, m.ID, lb); err != nil || c.Taken {
		t.Fatalf("claim of a sent message = %+v, %v", c, err)
	}
}

func TestReclaimDeliveriesTakesOnlyGoneInstances(t *testing.T) {
	a, b, ch := twoInstances(t)
	ctx := context.Background()
	now := time.Now().UTC()
	for i := 0; i < 2; i++ {
		if err := a.EnqueueEvent(ctx, ch.ID, OutboxStatus, "", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Heartbeat(ctx, "", now, now); err != nil {
		t.Fatal(err)
	}
	if rows, err := a.ClaimDueOutbox(ctx, now.Add(time.Second), time.Minute, 1, nil); err != nil || len(rows) != 1 {
		t.Fatalf("a claimed %d, %v", len(rows), err)
	}
	if rows, err := b.ClaimDueOutbox(ctx, now.Add(time.Second), time.Minute, 1, nil); err != nil || len(rows) != 1 {
		t.Fatalf("b claimed %d, %v", len(rows), err)
	}
	// b restarts while a is alive: only b's own row is reclaimed.
	if n, err := b.ReclaimDeliveries(ctx, now, now.Add(-DefaultLeaseTTL)); err != nil || n != 1 {
		t.Fatalf("b reclaimed %d, %v; want only its own row", n, err)
	}
	// a is gone (no heartbeat for a TTL): its row is reclaimed too.
	later := now.Add(2 * DefaultLeaseTTL)
	if n, err := b.ReclaimDeliveries(ctx, later, later.Add(-DefaultLeaseTTL)); err != nil || n != 1 {
		t.Fatalf("b reclaimed %d of the gone instance, %v", n, err)
	}
	// Released rows go back to pending for the others at once.
	if rows, _ := a.ClaimDueOutbox(ctx, later, time.Minute, 5, nil); len(rows) != 2 {
		t.Fatalf("a claimed %d after the reclaim", len(rows))
	}
	if n, err := a.ReleaseDeliveries(ctx, later); err != nil || n != 2 {
		t.Fatalf("a released %d, %v", n, err)
	}
}

// A renewal passes over a lease row an ingest holds (PostgreSQL) instead
// of waiting for it with every other row locked, and renews it at a later
// beat; a lease past half its life is waited for, never left to expire.
func TestRenewPassesOverALeaseAnIngestHolds(t *testing.T) {
	a, _, _ := twoInstances(t)
	if !a.pg {
		t.Skip("SQLite's one writer never runs a renewal beside an ingest")
	}
	ctx := context.Background()
	now := time.UnixMilli(1_800_000_000_000)
	ttl := DefaultLeaseTTL
	if _, ok, err := a.AcquireLease(ctx, ingestBot, now, now.Add(ttl)); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	expiry := func() int64 {
		t.Helper()
		var ms int64
		if err := a.r(ctx).Raw("SELECT expires_at FROM bot_leases WHERE bot_telegram_id = ?", ingestBot).Scan(&ms).Error; err != nil {
			t.Fatal(err)
		}
		return ms
	}
	// An ingest in flight: the fence holds the row until its commit.
	db, err := a.write.DB()
	if err != nil {
		t.Fatal(err)
	}
	hold := func() func() {
		t.Helper()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(a.rebind("UPDATE bot_leases SET epoch = epoch WHERE bot_telegram_id = ?"), ingestBot); err != nil {
			t.Fatal(err)
		}
		return func() { _ = tx.Rollback() }
	}
	release := hold()
	beat := now.Add(5 * time.Second)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	v, err := a.RenewLeases(wctx, beat, beat.Add(ttl), beat.Add(-ttl), false)
	cancel()
	if err != nil || len(v.Mine) != 1 {
		t.Fatalf("renewal beside an ingest: %+v, %v", v, err)
	}
	if got := expiry(); got != now.Add(ttl).UnixMilli() {
		t.Fatalf("the held row was renewed (expires %d) or lost", got)
	}
	release()
	if _, err := a.RenewLeases(ctx, beat, beat.Add(ttl), beat.Add(-ttl), false); err != nil {
		t.Fatal(err)
	}
	if got := expiry(); got != beat.Add(ttl).UnixMilli() {
		t.Fatalf("the next beat did not renew: expires %d, want %d", got, beat.Add(ttl).UnixMilli())
	}

	// Past half its life the renewal waits for the ingest: here it is
	// still waiting when its context ends.
	release = hold()
	defer release()
	late := beat.Add(ttl/2 + time.Second)
	wctx, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := a.RenewLeases(wctx, late, late.Add(ttl), late.Add(-ttl), false); err == nil {
		t.Fatal("a lease past half its life was passed over; it must be waited for")
	}
}

// TestLeaseViewExpiryIsTheNextForeignExpiry: the view names the first
// moment another instance's lease becomes free or its heartbeat stops
// counting as live, and neither this instance's own rows nor a released
// lease, an expired one or a gone instance (all already past).
func TestLeaseViewExpiryIsTheNextForeignExpiry(t *testing.T) {
	a, b, _ := twoInstances(t)
	ctx := context.Background()
	t0 := time.UnixMilli(1_800_000_000_000)
	ttl := DefaultLeaseTTL
	renew := func(s *Store, now time.Time) LeaseView {
		t.Helper()
		v, err := s.RenewLeases(ctx, now, now.Add(ttl), now.Add(-ttl), false)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := a.Heartbeat(ctx, "test", t0, t0); err != nil {
		t.Fatal(err)
	}
	if v := renew(a, t0); !v.Expiry.IsZero() {
		t.Fatalf("alone, a's view expires at %v, want never", v.Expiry)
	}
	// b heartbeats later and takes the bot with a lease shorter than ttl.
	tb := t0.Add(time.Second)
	if err := b.Heartbeat(ctx, "test", tb, tb); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.AcquireLease(ctx, ingestBot, tb, tb.Add(5*time.Second)); err != nil || !ok {
		t.Fatalf("b acquire: %v %v", ok, err)
	}
	if v := renew(a, t0.Add(2*time.Second)); !v.Expiry.Equal(tb.Add(5*time.Second + time.Millisecond)) {
		t.Fatalf("a's view expires at %v, want b's lease end + 1 ms", v.Expiry)
	}
	// Past the lease (free now), b's heartbeat is what comes next.
	if v := renew(a, tb.Add(6*time.Second)); !v.Expiry.Equal(tb.Add(ttl+time.Millisecond)) || len(v.Free) != 1 {
		t.Fatalf("a's view expires at %v (free %v), want b's heartbeat + ttl + 1 ms", v.Expiry, v.Free)
	}
	// b's own view never names its own rows: a's heartbeat is next.
	if v := renew(b, tb); !v.Expiry.Equal(t0.Add(ttl + time.Millisecond)) {
		t.Fatalf("b's view expires at %v, want a's heartbeat + ttl + 1 ms", v.Expiry)
	}
	// Both gone past and nothing else: never.
	if v := renew(a, tb.Add(ttl+time.Second)); !v.Expiry.IsZero() {
		t.Fatalf("a's view expires at %v after b is gone, want never", v.Expiry)
	}
}
