package store

import (
	"context"
	"sync"
	"testing"
)

// A page scope reads every cached value of one page from one version: a
// commit by another connection in the middle of the page does not split
// it, a write of the store's own (the request's) is read back, and a
// context without the scope sees every commit at once.
func TestPageScopeOneVersionPerPageOwnWritesSeen(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	runs := 0
	read := func(ctx context.Context) int64 {
		t.Helper()
		n, err := Cached(ctx, s, "test|channels", countingLoad(ctx, s, &runs))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	page := WithPageScope(ctx)
	if n := read(page); n != 0 {
		t.Fatalf("first read: %d", n)
	}

	other := externalDB(t, s)
	if err := other(`INSERT INTO channels (id, name, created_at, updated_at, workbench_mode) VALUES ('ch_external', 'External', ?, ?, 'off')`, s.now(), s.now()); err != nil {
		t.Fatal(err)
	}
	if n := read(page); n != 0 {
		t.Fatalf("the page's second read must come from its first version, got %d channels", n)
	}
	if n := read(ctx); n != 1 {
		t.Fatalf("outside the scope the external commit must be seen: %d", n)
	}
	if n := read(WithoutPageScope(page)); n != 1 {
		t.Fatalf("WithoutPageScope must ask again: %d", n)
	}

	// The request writes, then renders: it must read its own write.
	if _, err := s.CreateChannel(page, "Mine", nil); err != nil {
		t.Fatal(err)
	}
	if n := read(page); n != 2 {
		t.Fatalf("after the page's own write: %d channels, want 2", n)
	}
	if err := s.WithTx(page, func(ctx context.Context) error {
		_, err := s.CreateChannel(ctx, "In a transaction", nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := read(page); n != 3 {
		t.Fatalf("after the page's own transaction: %d channels, want 3", n)
	}
}

// On PostgreSQL concurrent asks share snapshot queries, but a caller never
// gets the answer of a query that began before its call: a commit that
// ended before the call is always in the version it gets.
func TestSnapshotProbeNeverAnswersFromAnEarlierQuery(t *testing.T) {
	s := openTestStore(t)
	if !s.pg {
		t.Skip("the snapshot probe is PostgreSQL's; SQLite asks data_version on its own connection")
	}
	p := s.cache.pgProbe
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	p.onQueried = func() {
		once.Do(func() {
			close(started)
			<-release
		})
	}
	joined := make(chan struct{}, 2)
	p.onJoin = func() { joined <- struct{}{} }
	t.Cleanup(func() { p.onQueried, p.onJoin = nil, nil })

	first := make(chan cacheVersion)
	go func() {
		v, _ := p.current()
		first <- v
	}()
	<-started // the first query has read its snapshot, not yet answered
	if err := externalDB(t, s)(`INSERT INTO channels (id, name, created_at, updated_at, workbench_mode) VALUES ('ch_probe', 'Probe', ?, ?, 'off')`, s.now(), s.now()); err != nil {
		t.Fatal(err)
	}
	// Both callers arrive after the commit: they must wait for a query of
	// their own (one, shared), not take the running one's.
	second := make(chan cacheVersion, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, ok := p.current()
			if !ok {
				t.Error("probe failed")
			}
			second <- v
		}()
	}
	<-joined
	<-joined
	close(release)
	v1 := <-first
	wg.Wait()
	close(second)
	for v := range second {
		if v.s == v1.s {
			t.Fatalf("a caller that arrived after the commit got the earlier query's snapshot %q", v.s)
		}
	}
	after, ok := p.current()
	if !ok {
		t.Fatal("probe failed")
	}
	if after.s == v1.s {
		t.Fatalf("the snapshot did not move with the commit: %q", after.s)
	}
}
