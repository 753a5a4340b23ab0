package store

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/botdesk/botdesk/models"
)

// countingLoad is a Cached loader that reads the channel count and says
// how often it actually ran.
func countingLoad(ctx context.Context, s *Store, runs *int) func() (int64, error) {
	return func() (int64, error) {
		*runs++
		var n int64
		err := s.r(ctx).Table("channels").Count(&n).Error
		return n, err
	}
}

func TestCachedReusesUntilAnyConnectionCommits(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	runs := 0
	read := func() int64 {
		t.Helper()
		n, err := Cached(ctx, s, "test|channels", countingLoad(ctx, s, &runs))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	if n := read(); n != 0 || runs != 1 {
		t.Fatalf("first read: n=%d runs=%d", n, runs)
	}
	if n := read(); n != 0 || runs != 1 {
		t.Fatalf("nothing committed, the read must be reused: n=%d runs=%d", n, runs)
	}

	// A commit by the store's own writer.
	if _, err := s.CreateChannel(ctx, "One", nil); err != nil {
		t.Fatal(err)
	}
	if n := read(); n != 1 || runs != 2 {
		t.Fatalf("after the writer's commit: n=%d runs=%d", n, runs)
	}

	// A commit by a connection the store knows nothing about (another
	// process: the CLI, an operator with sqlite3).
	other := externalDB(t, s)
	if err := other(`INSERT INTO channels (id, name, created_at, updated_at, workbench_mode) VALUES ('ch_external', 'External', ?, ?, 'off')`, s.now(), s.now()); err != nil {
		t.Fatal(err)
	}
	if n := read(); n != 2 || runs != 3 {
		t.Fatalf("after another connection's commit: n=%d runs=%d", n, runs)
	}
	if n := read(); n != 2 || runs != 3 {
		t.Fatalf("reuse after the external commit: n=%d runs=%d", n, runs)
	}
}

func TestCachedInsideTransactionSeesOwnWrites(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	runs := 0
	if _, err := Cached(ctx, s, "test|channels", countingLoad(ctx, s, &runs)); err != nil {
		t.Fatal(err)
	}
	errRollback := errors.New("roll back")
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if _, err := s.CreateChannel(ctx, "Uncommitted", nil); err != nil {
			return err
		}
		n, err := Cached(ctx, s, "test|channels", countingLoad(ctx, s, &runs))
		if err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("inside the transaction the read must see its own write: n=%d", n)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	// The rolled-back write must not have leaked into the cache.
	n, err := Cached(ctx, s, "test|channels", countingLoad(ctx, s, &runs))
	if err != nil || n != 0 {
		t.Fatalf("after rollback: n=%d err=%v", n, err)
	}
}

func TestCachedDoesNotKeepErrors(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	runs := 0
	fail := func() (int, error) { runs++; return 0, errors.New("boom") }
	for range 2 {
		if _, err := Cached(ctx, s, "test|fail", fail); err == nil {
			t.Fatal("error swallowed")
		}
	}
	if runs != 2 {
		t.Fatalf("a failed read must be retried, not cached: runs=%d", runs)
	}
}

// TestSessionUserSeesExternalDeactivation: the session lookup is cached,
// yet a user deactivated by any connection is signed out on the very next
// request, and a logout takes effect at once.
func TestSessionUserSeesExternalDeactivation(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "agent@example.com", models.RoleAgent, "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.CreateSession(ctx, u.ID, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // the first read fills the cache, the others hit it
		got, err := s.SessionUser(ctx, tok)
		if err != nil || got.ID != u.ID {
			t.Fatalf("session: %v %v", got, err)
		}
	}
	got, _ := s.SessionUser(ctx, tok)
	got.Email = "changed-by-caller@example.com" // callers get their own copy
	if again, _ := s.SessionUser(ctx, tok); again.Email != "agent@example.com" {
		t.Fatalf("a caller's change leaked into the cache: %q", again.Email)
	}

	other := externalDB(t, s)
	if err := other(`UPDATE users SET active = ? WHERE id = ?`, false, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deactivated elsewhere, still signed in: %v", err)
	}
	if err := other(`UPDATE users SET active = ? WHERE id = ?`, true, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, tok); err != nil {
		t.Fatalf("reactivated: %v", err)
	}
	if err := s.DeleteSession(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after logout: %v", err)
	}
}

// TestCachedConcurrentMissesShareOneLoad: callers missing the same key at
// once wait for the one load in flight instead of each running it.
func TestCachedConcurrentMissesShareOneLoad(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	var mu sync.Mutex
	runs := 0
	release := make(chan struct{})
	load := func() (int, error) {
		mu.Lock()
		runs++
		mu.Unlock()
		<-release
		return 42, nil
	}
	const callers = 16
	var wg sync.WaitGroup
	got := make([]int, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := Cached(ctx, s, "test|shared", load)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	close(release)
	wg.Wait()
	if runs != 1 {
		t.Fatalf("%d callers ran the load %d times, want once", callers, runs)
	}
	for i, v := range got {
		if v != 42 {
			t.Fatalf("caller %d got %d", i, v)
		}
	}
}

// TestCachedFailedOrPanickedLoadReleasesWaiters: a waiter whose leader's
// load failed or panicked loads for itself instead of hanging or sharing
// the error.
func TestCachedFailedOrPanickedLoadReleasesWaiters(t *testing.T) {
	for _, mode := range []string{"error", "panic"} {
		t.Run(mode, func(t *testing.T) {
			s := openTestStore(t)
			ctx := context.Background()
			started, waiting := make(chan struct{}), make(chan struct{})
			s.cache.onWait = func() { close(waiting) }
			leaderDone := make(chan struct{})
			go func() {
				defer close(leaderDone)
				defer func() { _ = recover() }()
				_, _ = Cached(ctx, s, "test|fails", func() (int, error) {
					close(started)
					<-waiting // the waiter is queued behind this load
					if mode == "panic" {
						panic("load blew up")
					}
					return 0, errors.New("leader's context ended")
				})
			}()
			<-started
			waiter := make(chan int, 1)
			go func() {
				v, err := Cached(ctx, s, "test|fails", func() (int, error) { return 7, nil })
				if err != nil {
					t.Error(err)
				}
				waiter <- v
			}()
			<-leaderDone
			if v := <-waiter; v != 7 {
				t.Fatalf("waiter got %d, want its own load's 7", v)
			}
		})
	}
}

// BenchmarkCacheVersionProbe is what every cached page read pays to learn
// the database's version: SQLite's data_version, PostgreSQL's snapshot.
func BenchmarkCacheVersionProbe(b *testing.B) {
	s := openTestStore(b)
	if s.cache == nil {
		b.Skip("no read cache")
	}
	for b.Loop() {
		if _, ok := s.cache.currentVersion(); !ok {
			b.Fatal("probe failed")
		}
	}
}
