package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// Claims under concurrency, on both dialects: on PostgreSQL the claimers
// below run in parallel transactions on the pool's connections, as
// several instances would.

// TestConcurrentClaimsNeverShareARow: eight dispatchers claiming the same
// outbox and eight consumers receiving from the same queue at once never
// get the same row twice, and together they get every row.
func TestConcurrentClaimsNeverShareARow(t *testing.T) {
	st := openQueueTestStore(t)
	ctx := context.Background()
	const n, workers = 120, 8
	queue := queueChannel(t, st, n) // mo events of one chat: claimed one at a time, in order
	now := time.Now().Add(time.Minute)

	t.Run("outbox", func(t *testing.T) {
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					rows, err := st.ClaimDueOutbox(ctx, now, time.Hour, 5, nil)
					if err != nil {
						t.Error(err)
						return
					}
					if len(rows) == 0 {
						return
					}
					mu.Lock()
					for _, r := range rows {
						seen[r.ID]++
					}
					mu.Unlock()
					for _, r := range rows { // delivered: the next of its chat is due
						if err := st.FinishAttempt(ctx, r.ID, models.DeliveryAttempt{At: now, URL: "https://example.test", Outcome: "delivered"},
							store.OutboxResult{State: store.OutboxStateDelivered, Attempts: 1, NextAttemptAt: now, DeliveredAt: &now}, nil); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		for id, c := range seen {
			if c != 1 {
				t.Errorf("outbox row %d claimed %d times", id, c)
			}
		}
		if len(seen) != n {
			t.Errorf("%d of %d outbox rows claimed", len(seen), n)
		}
	})

	t.Run("queue", func(t *testing.T) {
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					msgs, err := st.ReceiveQueue(ctx, queue, now, time.Hour, 4)
					if err != nil {
						t.Error(err)
						return
					}
					if len(msgs) == 0 {
						return
					}
					mu.Lock()
					for _, m := range msgs {
						seen[m.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for id, c := range seen {
			if c != 1 {
				t.Errorf("queue message %d received %d times", id, c)
			}
		}
		if len(seen) != n {
			t.Errorf("%d of %d queue messages received", len(seen), n)
		}
	})
}

// TestConcurrentDemotionsKeepOneAdmin: two admins demoted at the same
// moment: one demotion succeeds, the other is refused as the last admin.
func TestConcurrentDemotionsKeepOneAdmin(t *testing.T) {
	ctx := context.Background()
	for round := range 3 {
		st := openQueueTestStore(t)
		var ids [2]int64
		for i := range ids {
			u, err := st.CreateUser(ctx, fmt.Sprintf("admin%d@example.test", i), models.RoleAdmin, "a long enough password")
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = u.ID
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = st.UpdateUser(ctx, id, models.RoleOperator, true)
			}()
		}
		wg.Wait()
		users, err := st.ListUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		admins := 0
		for _, u := range users {
			if u.Role == models.RoleAdmin && u.Active {
				admins++
			}
		}
		refused := 0
		for _, err := range errs {
			var v *models.ValidationError
			switch {
			case errors.As(err, &v):
				refused++
			case err != nil:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if admins != 1 || refused != 1 {
			t.Fatalf("round %d: %d active admins left, %d refusals (errors %v); want 1 and 1", round, admins, refused, errs)
		}
	}
}

// TestConcurrentSetupUsesTheLinkOnce: two first-admin sign-ups through the
// same set-up link at once create exactly one admin.
func TestConcurrentSetupUsesTheLinkOnce(t *testing.T) {
	st := openQueueTestStore(t)
	ctx := context.Background()
	tok, err := st.CreateSetupToken(ctx)
	if err != nil || tok == "" {
		t.Fatalf("setup token %q, %v", tok, err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.CompleteSetup(ctx, tok, fmt.Sprintf("first%d@example.test", i), "a long enough password")
		}()
	}
	wg.Wait()
	if n, err := st.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("%d users after concurrent set-ups (%v), want 1; errors %v", n, err, errs)
	}
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d set-ups succeeded, want 1", ok)
	}
}
