package telegram

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/botdesk/botdesk/metrics"
	"github.com/botdesk/botdesk/store"
)

// Bot ownership with several instances on one database (docs/deploy.md,
// "Several instances"). Every Heartbeat/2, and at the moment another
// instance's lease or heartbeat expires, the lease loop of Run
//
//  1. heartbeats this instance and renews its leases (store.RenewLeases),
//  2. stops the pollers of leases it lost (another instance took a lease
//     that expired while this one stalled; its commits are fenced anyway),
//  3. restarts pollers whose generation moved (Update Token, Switch to
//     polling done on another instance),
//  4. takes free bots (never leased, released, or expired) while it holds
//     fewer than its share, ceil(bots / live instances), and releases the
//     bots above its share, one turn's excess at a time.
//
// Each instance aims for the same ceiling, so a balanced cluster moves
// nothing: an instance gives a bot up only when it holds more than the
// ceiling, and takes one only while below it, so a released bot cannot
// bounce back to the instance that released it. SQLite runs the same loop
// with one live instance, which takes every bot.

// holdLocked reports whether this instance holds the bot's lease, taking
// it first when nobody holds it (a bot just connected, or one whose owner
// is gone).
func (s *Supervisor) holdLocked(ctx context.Context, botID int64) (bool, error) {
	s.mu.Lock()
	_, held := s.leases[botID]
	s.mu.Unlock()
	if held {
		return true, nil
	}
	return s.acquireLocked(ctx, botID)
}

// acquireLocked takes the bot's lease if it is free.
func (s *Supervisor) acquireLocked(ctx context.Context, botID int64) (bool, error) {
	now := time.Now()
	l, ok, err := s.cfg.Store.AcquireLease(ctx, botID, now, now.Add(s.cfg.LeaseTTL))
	if err != nil || !ok {
		return false, err
	}
	s.mu.Lock()
	s.leases[botID] = l
	s.mu.Unlock()
	s.metrics.addLease(func(m *leaseMetrics) { m.acquired++ })
	s.cfg.Log.Info("took bot lease", "bot_id", botID, "epoch", l.Epoch)
	return true, nil
}

// LeaseOf returns the lease this instance holds on the bot; the sender
// sends only through bots it holds, and claims each message under the
// lease (store.ClaimSend).
func (s *Supervisor) LeaseOf(botTelegramID int64) (store.Lease, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.leases[botTelegramID]
	return l, ok
}

// leaseTurn is one turn of the lease loop. first is Run's opening turn.
func (s *Supervisor) leaseTurn(ctx context.Context, first bool) error {
	s.ops.Lock()
	defer s.ops.Unlock()
	now := time.Now()
	st := s.cfg.Store
	if err := st.Heartbeat(ctx, s.cfg.Version, s.started, now); err != nil {
		return err
	}
	if !s.isClosed() {
		s.beat.Store(now.UnixMilli())
	}
	defer s.metrics.addLease(func(m *leaseMetrics) { m.turns++ })
	s.mu.Lock()
	fresh := first && len(s.leases) == 0 // nothing started here yet
	s.mu.Unlock()
	view, err := st.RenewLeases(ctx, now, now.Add(s.cfg.LeaseTTL), now.Add(-s.cfg.LeaseTTL), fresh)
	if err != nil {
		return err
	}
	held := make(map[int64]store.Lease, len(view.Mine))
	for _, l := range view.Mine {
		held[l.BotTelegramID] = l
	}
	s.mu.Lock()
	s.live, s.expiry = view.Live, view.Expiry
	var lost []int64
	for id, l := range s.leases {
		if h, ok := held[id]; !ok || h.Epoch != l.Epoch {
			lost = append(lost, id)
		}
	}
	s.leases = held
	s.mu.Unlock()
	for _, id := range lost {
		// Deleted bots end here too: their lease went with them.
		s.stopLocked(id)
		if _, err := st.BotByTelegramID(ctx, id); err == nil {
			s.metrics.addLease(func(m *leaseMetrics) { m.lost++ })
			s.cfg.Log.Warn("lost bot lease to another instance; stopped polling", "bot_id", id)
		}
	}
	for _, l := range view.Mine {
		s.mu.Lock()
		p := s.pollers[l.BotTelegramID]
		s.mu.Unlock()
		switch {
		case p == nil:
			s.startLogged(ctx, l.BotTelegramID, true)
		case p.lease.Generation != l.Generation:
			s.cfg.Log.Info("bot changed on another instance; restarting its poller", "bot_id", l.BotTelegramID)
			s.startLogged(ctx, l.BotTelegramID, false)
		}
	}

	share := fairShare(view.Bots, view.Live)
	mine := len(view.Mine)
	for _, id := range view.Free {
		if mine >= share || ctx.Err() != nil {
			break
		}
		ok, err := s.acquireLocked(ctx, id)
		if err != nil {
			return err
		}
		if ok {
			mine++
			s.startLogged(ctx, id, true)
		}
	}
	if mine > share && !first {
		s.releaseLocked(ctx, view.Mine, mine-share)
	}
	if now.Unix()%60 == 0 {
		_ = st.ForgetInstances(ctx, now.Add(-24*time.Hour))
	}
	return nil
}

// expiryTimer fires when another instance's lease or heartbeat expires
// before the next turn: a dead instance's bots are taken then, not up to
// a turn later. Its wait is at least 5 ms, so a moment already past (the
// turn itself took that long) cannot spin the loop. It never fires (nil
// channel) when the next turn comes first.
func (s *Supervisor) expiryTimer() (<-chan time.Time, func()) {
	s.mu.Lock()
	at := s.expiry
	s.mu.Unlock()
	if at.IsZero() {
		return nil, func() {}
	}
	d := max(time.Until(at), 5*time.Millisecond)
	if d >= s.cfg.Heartbeat/2 {
		return nil, func() {}
	}
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// LeaseLoopReady is nil while the lease loop heartbeats: its last
// heartbeat is younger than a lease, so the bots it holds are still its
// own (/readyz).
func (s *Supervisor) LeaseLoopReady(now time.Time) error {
	at := s.beat.Load()
	if at == 0 {
		return errors.New("lease loop not running")
	}
	if age := now.Sub(time.UnixMilli(at)); age > s.cfg.LeaseTTL {
		return fmt.Errorf("lease loop: no heartbeat for %s", age.Round(time.Second))
	}
	return nil
}

func (s *Supervisor) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// fairShare is the number of bots each live instance aims for.
func fairShare(bots, live int) int {
	if live < 1 {
		live = 1
	}
	return (bots + live - 1) / live
}

// startLogged starts a held bot's poller, logging a failure (the bot's
// state says why to operators).
func (s *Supervisor) startLogged(ctx context.Context, botID int64, boot bool) {
	if err := s.startLocked(ctx, botID, boot); err != nil && !errors.Is(err, ErrSupervisorStopped) {
		s.cfg.Log.Error("poller did not start", "bot_id", botID, "err", err)
	}
}

// releaseLocked gives up n of the held bots, the highest ids first, so the
// bots that stay are the same on every turn. Each poller stops (its last
// batch committed) and the sender drains before the lease is released, so
// the next owner starts from the committed offset with nothing in flight.
func (s *Supervisor) releaseLocked(ctx context.Context, held []store.Lease, n int) {
	sorted := append([]store.Lease(nil), held...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].BotTelegramID > sorted[j].BotTelegramID })
	for _, l := range sorted[:min(n, len(sorted))] {
		s.mu.Lock()
		delete(s.leases, l.BotTelegramID)
		s.mu.Unlock()
		s.stopLocked(l.BotTelegramID)
		s.cfg.BeforeRelease(l.BotTelegramID)
		if err := s.cfg.Store.ReleaseLease(ctx, l); err != nil {
			s.cfg.Log.Error("releasing bot lease", "bot_id", l.BotTelegramID, "err", err)
			continue
		}
		s.metrics.addLease(func(m *leaseMetrics) { m.released++ })
		s.cfg.Log.Info("released bot lease to balance the instances", "bot_id", l.BotTelegramID)
	}
}

// leaseMetrics count lease changes for /metrics.
type leaseMetrics struct {
	acquired, released, lost, fenced int64
	turns                            int64
}

func (m *pollMetrics) addLease(f func(*leaseMetrics)) {
	m.mu.Lock()
	f(&m.leases)
	m.mu.Unlock()
}

// writeLeaseMetrics appends the lease lines of WriteMetrics.
func (s *Supervisor) writeLeaseMetrics(w io.Writer) {
	s.mu.Lock()
	owned, live := len(s.leases), s.live
	s.mu.Unlock()
	m := &s.metrics
	m.mu.Lock()
	lm := m.leases
	m.mu.Unlock()
	metrics.Header(w, "botdesk_bot_leases_owned", "gauge", "Bots whose lease this instance holds: it polls them and sends through them.")
	fmt.Fprintf(w, "botdesk_bot_leases_owned %d\n", owned)
	metrics.Header(w, "botdesk_instances_live", "gauge", "Instances with a recent heartbeat on this database, as this instance last saw them.")
	fmt.Fprintf(w, "botdesk_instances_live %d\n", live)
	metrics.Header(w, "botdesk_bot_lease_changes_total", "counter",
		"Bot leases this instance took, released to balance, or lost to another instance after a stall.")
	fmt.Fprintf(w, "botdesk_bot_lease_changes_total{change=\"acquired\"} %d\n", lm.acquired)
	fmt.Fprintf(w, "botdesk_bot_lease_changes_total{change=\"released\"} %d\n", lm.released)
	fmt.Fprintf(w, "botdesk_bot_lease_changes_total{change=\"lost\"} %d\n", lm.lost)
	metrics.Header(w, "botdesk_lease_turns_total", "counter", "Turns of the lease loop (heartbeat, renew, balance) this instance ran.")
	fmt.Fprintf(w, "botdesk_lease_turns_total %d\n", lm.turns)
	metrics.Header(w, "botdesk_ingest_fenced_total", "counter",
		"Batches refused because the bot's lease had moved to another instance (a stale owner's offset commit).")
	fmt.Fprintf(w, "botdesk_ingest_fenced_total %d\n", lm.fenced)
}
