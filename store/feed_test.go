package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/botdesk/botdesk/store/pgtest"
)

// nextChange waits for the next change on ch that match accepts, and
// returns the ones it skipped on the way. The deadline only bounds a
// failing test.
func nextChange(t *testing.T, ch <-chan Change, match func(Change) bool) (Change, []Change) {
	t.Helper()
	var skipped []Change
	deadline := time.After(20 * time.Second)
	for {
		select {
		case c := <-ch:
			if match(c) {
				return c, skipped
			}
			skipped = append(skipped, c)
		case <-deadline:
			t.Fatalf("no matching change arrived; saw %+v", skipped)
		}
	}
}

func kind(k, channel string) func(Change) bool {
	return func(c Change) bool { return c.Kind == k && c.ChannelID == channel }
}

func TestFeedCarriesChangesToOtherInstances(t *testing.T) {
	if !pgtest.Postgres() {
		t.Skip("PostgreSQL only: SQLite has one instance and no feed")
	}
	a, b, ch := twoInstances(t)
	ctx := context.Background()
	changes, missed, cancel := b.Hub().SubscribeCounted(64)
	defer cancel()

	// A message ingested by A reaches B's subscribers, ids and all.
	res, err := a.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 2, Updates: []IngestUpdate{text(1, 42, 1, "private", "hello")}})
	if err != nil || len(res.Changes) == 0 {
		t.Fatalf("ingest: %+v, %v", res, err)
	}
	got, _ := nextChange(t, changes, kind("message", ch.ID))
	if got != res.Changes[0] {
		t.Fatalf("B got %+v, A published %+v", got, res.Changes[0])
	}

	// B's own change is published on B once (locally), not again from the
	// feed; a rolled-back change of A never arrives. A's marker, committed
	// after both, comes after them on B's connection.
	b.Publish(ctx, Change{Kind: "bot", ChannelID: "own"})
	errRollback := errors.New("roll back")
	if err := a.WithTx(ctx, func(ctx context.Context) error {
		a.Publish(ctx, Change{Kind: "bot", ChannelID: "rolled-back"})
		return errRollback
	}); !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	a.Publish(ctx, Change{Kind: "bot", ChannelID: "marker"})
	_, before := nextChange(t, changes, kind("bot", "marker"))
	own := 0
	for _, c := range before {
		if c.ChannelID == "rolled-back" {
			t.Errorf("a rolled-back change arrived: %+v", c)
		}
		if c.ChannelID == "own" {
			own++
		}
	}
	if own != 1 {
		t.Errorf("B saw its own change %d times, want once: %+v", own, before)
	}

	// Session changes go to the session hub (sign-outs end streams on every
	// instance).
	sessions, cancelSessions := b.SessionHub().Subscribe()
	defer cancelSessions()
	a.announceSessions(ctx)
	nextChange(t, sessions, func(c Change) bool { return c.Kind == SessionChange })

	// The listening connection is cut: B's subscribers are told they may
	// have missed changes, and changes flow again afterwards.
	pid := b.feedBackendPID()
	if pid == 0 {
		t.Fatal("B has no listening connection")
	}
	seen := missed()
	if err := a.write.Exec("SELECT pg_terminate_backend(?)", pid).Error; err != nil {
		t.Fatal(err)
	}
	nextChange(t, changes, func(c Change) bool { return c.Kind == ResyncChange })
	if missed() <= seen {
		t.Errorf("missed count %d after the resync, was %d", missed(), seen)
	}
	nextChange(t, sessions, func(c Change) bool { return c.Kind == ResyncChange })
	if st := b.FeedStats(); !st.Listening || st.Reconnects != 1 {
		t.Errorf("feed stats after the reconnect: %+v", st)
	}
	if _, err := a.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 3, Updates: []IngestUpdate{text(2, 42, 2, "private", "again")}}); err != nil {
		t.Fatal(err)
	}
	nextChange(t, changes, kind("message", ch.ID))
}

func TestFeedPayloadsStayBelowTheNotifyLimit(t *testing.T) {
	var changes []Change
	for i := range 400 {
		changes = append(changes, Change{Kind: "message", ChannelID: "ch_0123456789abcdef", ConversationID: int64(i), MessageID: 1_000_000_000 + int64(i),
			UserID: int64(i % 3), Incoming: i%2 == 0})
	}
	changes = append(changes, changes[0]) // a duplicate is sent once
	payloads := feedPayloads("host-0123456789abcdef", changes)
	if len(payloads) < 2 {
		t.Fatalf("%d changes in %d payloads", len(changes), len(payloads))
	}
	var got []Change
	for _, p := range payloads {
		if len(p) > feedPayloadMax {
			t.Errorf("payload of %d bytes", len(p))
		}
		var m feedMsg
		if err := json.Unmarshal([]byte(p), &m); err != nil || m.From != "host-0123456789abcdef" || m.Resync {
			t.Fatalf("payload %q: %+v, %v", p, m, err)
		}
		for _, c := range m.Changes {
			got = append(got, Change(c))
		}
	}
	if len(got) != 400 {
		t.Fatalf("%d changes decoded, want 400", len(got))
	}
	for i, c := range got {
		if c != changes[i] {
			t.Fatalf("change %d = %+v, want %+v", i, c, changes[i])
		}
	}

	// Past feedMaxPayloads the transaction asks everybody to resync instead.
	for i := range 2000 {
		changes = append(changes, Change{Kind: "status", ChannelID: "ch_0123456789abcdef", MessageID: int64(i)})
	}
	payloads = feedPayloads("x", changes)
	var m feedMsg
	if len(payloads) != 1 || json.Unmarshal([]byte(payloads[0]), &m) != nil || !m.Resync || m.From != "x" {
		t.Fatalf("a huge transaction sent %d payloads, first %.100q", len(payloads), payloads[0])
	}
}

func TestReadCacheSeesOtherInstancesWrites(t *testing.T) {
	a, b, _ := twoInstances(t)
	ctx := context.Background()
	runs := 0
	read := func() int64 {
		t.Helper()
		n, err := Cached(ctx, b, "test|channels", countingLoad(ctx, b, &runs))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := read(); n != 1 || read() != 1 || runs != 1 {
		t.Fatalf("before: n=%d runs=%d (the second read must come from the cache)", n, runs)
	}
	if _, err := a.CreateChannel(ctx, "Written through A", nil); err != nil {
		t.Fatal(err)
	}
	if n := read(); n != 2 || runs != 2 {
		t.Fatalf("B's cached read after A's commit: n=%d runs=%d", n, runs)
	}
}

func TestFeedChecksAQuietConnection(t *testing.T) {
	if !pgtest.Postgres() {
		t.Skip("PostgreSQL only: SQLite has one instance and no feed")
	}
	a, b, ch := twoInstances(t)
	ctx := context.Background()
	changes, cancel := b.Hub().Subscribe()
	defer cancel()
	// Nothing happens for many ping intervals: each check finds the
	// connection well, nobody is told to resync, and changes still arrive.
	b.feed.pingEvery.Store(int64(10 * time.Millisecond))
	for deadline := time.Now().Add(20 * time.Second); b.feed.pings.Load() < 5; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d pings", b.feed.pings.Load())
		}
	}
	if st := b.FeedStats(); st.Reconnects != 0 || !st.Listening {
		t.Fatalf("feed after quiet pings: %+v", st)
	}
	if len(changes) != 0 {
		t.Fatalf("changes without a write: %+v", <-changes)
	}
	a.Publish(ctx, Change{Kind: "bot", ChannelID: ch.ID})
	nextChange(t, changes, kind("bot", ch.ID))
}
