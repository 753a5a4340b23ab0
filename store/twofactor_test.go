package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/botdesk/botdesk/models"
)

// A TOTP step and a recovery code are each used by exactly one of many
// concurrent sign-ins (the conditional updates are the claim), and a
// challenge is taken once.
func TestTwoFactorClaimsHoldConcurrently(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	u, err := s.CreateUser(ctx, "ann@example.test", models.RoleAgent, "correct-horse-battery")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnableTOTP(ctx, u.ID, 5, []string{"h1"}); !errors.Is(err, ErrTwoFactorOn) {
		t.Fatalf("enable without a pending secret: %v, want ErrTwoFactorOn", err)
	}
	if err := s.SetPendingTOTP(ctx, u.ID, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableTOTP(ctx, u.ID, 10, []string{"h1", "h2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPendingTOTP(ctx, u.ID, []byte("other")); !errors.Is(err, ErrTwoFactorOn) {
		t.Fatalf("a new pending secret while on: %v", err)
	}
	tok, err := s.CreateLoginChallenge(ctx, u.ID, "/next")
	if err != nil {
		t.Fatal(err)
	}

	const n = 8
	var steps, codes, takes atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := s.UseTOTPStep(ctx, u.ID, 11); err != nil {
				t.Error(err)
			} else if ok {
				steps.Add(1)
			}
			if ok, err := s.UseRecoveryCode(ctx, u.ID, "h2"); err != nil {
				t.Error(err)
			} else if ok {
				codes.Add(1)
			}
			if err := s.TakeLoginChallenge(ctx, tok); err == nil {
				takes.Add(1)
			} else if !errors.Is(err, ErrNotFound) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if steps.Load() != 1 || codes.Load() != 1 || takes.Load() != 1 {
		t.Errorf("step used %d times, recovery code %d, challenge taken %d; want once each", steps.Load(), codes.Load(), takes.Load())
	}
	for _, step := range []int64{10, 11} {
		if ok, _ := s.UseTOTPStep(ctx, u.ID, step); ok {
			t.Errorf("step %d used again", step)
		}
	}
	if left, _ := s.RecoveryCodesLeft(ctx, u.ID); left != 1 {
		t.Errorf("%d recovery codes left, want 1", left)
	}
	if err := s.DisableTOTP(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.UseRecoveryCode(ctx, u.ID, "h1"); ok {
		t.Error("a recovery code works after two-factor was turned off")
	}
	if err := s.DisableTOTP(ctx, 999999); !errors.Is(err, ErrNotFound) {
		t.Errorf("disable of an unknown user: %v", err)
	}
}

func TestRequireTwoFactorForAdminsSetting(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if on, err := s.RequireTwoFactorForAdmins(ctx); err != nil || on {
		t.Fatalf("default policy %v, %v; want off", on, err)
	}
	for _, want := range []bool{true, true, false} {
		if err := s.SetRequireTwoFactorForAdmins(ctx, want); err != nil {
			t.Fatal(err)
		}
		if got, err := s.RequireTwoFactorForAdmins(ctx); err != nil || got != want {
			t.Fatalf("policy %v, %v; want %v", got, err, want)
		}
	}
}
