package store

import (
	"context"
	"fmt"
	"time"
)

// Login throttling (docs/security in SECURITY.md): failures count per
// (email, client IP) and per client IP, never per email alone, so nobody
// can lock an account out by failing on purpose from elsewhere. Past a few
// free attempts each further one must wait twice as long as the last.
const (
	// LoginFreePerPair failures of one email from one IP pass unhindered.
	LoginFreePerPair = 3
	// LoginFreePerIP failures from one IP (any emails) pass unhindered; an
	// office behind one address gets a wide budget.
	LoginFreePerIP = 20
	// LoginFailureWindow is how far back failures count.
	LoginFailureWindow = time.Hour
	// LoginMaxDelay caps the wait after the failures pile up.
	LoginMaxDelay = 15 * time.Minute
)

// LoginDelay is the wait after n failures of which free are allowed:
// 1 s after the first one past free, doubling up to LoginMaxDelay.
func LoginDelay(n, free int) time.Duration {
	if n < free {
		return 0
	}
	if shift := n - free; shift < 20 {
		return min(time.Second<<shift, LoginMaxDelay)
	}
	return LoginMaxDelay
}

// RecordLoginFailure notes a failed sign-in and drops this IP's failures
// older than the window, so the table stays as small as the last hour's
// attack. The caller bounds email's size.
func (s *Store) RecordLoginFailure(ctx context.Context, email, ip string) error {
	now := s.now()
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Exec("DELETE FROM login_failures WHERE ip = ? AND created_at <= ?", ip, now.Add(-LoginFailureWindow)).Error; err != nil {
			return fmt.Errorf("store: prune login failures: %w", err)
		}
		if err := s.w(ctx).Exec("INSERT INTO login_failures(email, ip, created_at) VALUES (?, ?, ?)", email, ip, now).Error; err != nil {
			return fmt.Errorf("store: record login failure: %w", err)
		}
		return nil
	})
}

// LoginWait reports how long sign-in for email from ip must still wait
// (0 = go ahead): the longer of the (email, ip) and the ip delays, counted
// from the latest failure of each.
func (s *Store) LoginWait(ctx context.Context, email, ip string) (time.Duration, error) {
	now := s.now()
	since := now.Add(-LoginFailureWindow)
	pair, err := s.failures(ctx, "email = ? AND ip = ?", since, email, ip)
	if err != nil {
		return 0, err
	}
	byIP, err := s.failures(ctx, "ip = ?", since, ip)
	if err != nil {
		return 0, err
	}
	wait := max(pair.wait(now, LoginFreePerPair), byIP.wait(now, LoginFreePerIP))
	return wait, nil
}

// failureStats are the failures matching a filter inside the window.
type failureStats struct {
	n    int
	last time.Time
}

func (f failureStats) wait(now time.Time, free int) time.Duration {
	d := LoginDelay(f.n, free)
	if d == 0 {
		return 0
	}
	return max(f.last.Add(d).Sub(now), 0)
}

func (s *Store) failures(ctx context.Context, where string, since time.Time, args ...any) (failureStats, error) {
	var times []time.Time
	err := s.r(ctx).Raw("SELECT created_at FROM login_failures WHERE "+where+" AND created_at > ? ORDER BY created_at DESC LIMIT ?",
		append(args, since, LoginFreePerIP+40)...).Scan(&times).Error
	if err != nil {
		return failureStats{}, fmt.Errorf("store: login failures: %w", err)
	}
	if len(times) == 0 {
		return failureStats{}, nil
	}
	return failureStats{n: len(times), last: times[0]}, nil
}

// ClearLoginFailures forgets the failures of email from ip after a good
// sign-in there. Other IPs' failures for the email stay: a user signing in
// must not reset an attacker's delay.
func (s *Store) ClearLoginFailures(ctx context.Context, email, ip string) error {
	if err := s.w(ctx).Exec("DELETE FROM login_failures WHERE email = ? AND ip = ?", email, ip).Error; err != nil {
		return fmt.Errorf("store: clear login failures: %w", err)
	}
	return nil
}
