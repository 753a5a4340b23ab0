package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram"
)

// MeasureIngestHA is the pg-ingest row with two instances: two stores on
// one PostgreSQL database (admin's server), each with its own instance id
// and its own poller Supervisor, so the bots are leased and split between
// them. The baseline is the same run with one instance. Runs interleave
// (one, two, one, two), each on a fresh database, and the means are
// compared.
func MeasureIngestHA(ctx context.Context, root, admin string, sz IngestSizes) ([]Figure, error) {
	if sz.Bots%2 != 0 {
		return nil, fmt.Errorf("bench: ingest with two instances: %d bots do not split evenly", sz.Bots)
	}
	var one, two []float64
	var balance []time.Duration // how long the two took to split the bots
	for round := range 2 {
		for _, n := range []int{1, 2} {
			d, drop, err := newBenchDB(ctx, admin, filepath.Join(root, fmt.Sprintf("pg-ingest-ha-%d-%d", round, n)))
			if err != nil {
				return nil, err
			}
			rate, took, err := instancesIngest(ctx, d, sz, n)
			drop()
			if err != nil {
				return nil, fmt.Errorf("bench: ingest with %d instance%s: %w", n, plural(n), err)
			}
			if n == 1 {
				one = append(one, rate)
			} else {
				two = append(two, rate)
				balance = append(balance, took)
			}
		}
	}
	oneMean, twoMean := mean(one), mean(two)
	return []Figure{{
		Name:     fmt.Sprintf("Telegram updates ingested/s with two instances on one database, real pollers (%d bots, %d each) over HTTP — PostgreSQL", sz.Bots, sz.Bots/2),
		Value:    fmt.Sprintf("%.0f updates/s", twoMean),
		Baseline: fmt.Sprintf("%.0f updates/s with one instance", oneMean),
		Ratio:    fmt.Sprintf("%.0f %%", twoMean/oneMean*100),
		Target:   "reported",
		Status:   Info,
		Notes: fmt.Sprintf("%d private text updates from %d chats, workbench mode \"all\", as in the pg-ingest row. Two: two stores on one PostgreSQL "+
			"database with instance ids bench-a and bench-b, each running its own telegram.Supervisor (lease loop and pollers); the clock starts only "+
			"once the leases are split %d and %d (after %s), then every update is injected and timed until the fake holds nothing unconfirmed; "+
			"every update is checked stored exactly once. One: the same with a single instance holding every bot. Interleaved runs one/two/one/two, "+
			"each on a fresh database: one %s, two %s updates/s. No speed-up is expected on this machine: both instances and the PostgreSQL server they write to share the same 2 CPUs, "+
			"so the row shows what leasing and splitting the bots costs, not what instances on machines of their own would add.",
			sz.Updates, sz.Chats, sz.Bots/2, sz.Bots/2, seconds(balance), rates(one), rates(two)),
	}}, nil
}

// instancesIngest ingests sz through n instances on d, started before the
// updates exist and given time to split the bots evenly; it returns the
// rate and how long the split took.
func instancesIngest(ctx context.Context, d benchDB, sz IngestSizes, n int) (float64, time.Duration, error) {
	stores := make([]*store.Store, n)
	for i := range stores {
		cfg := d.config()
		cfg.InstanceID = fmt.Sprintf("bench-%c", 'a'+i)
		st, err := store.Open(ctx, cfg)
		if err != nil {
			return 0, 0, err
		}
		defer st.Close()
		stores[i] = st
	}
	sealer, err := newSealer()
	if err != nil {
		return 0, 0, err
	}
	rig, err := newIngestRig(ctx, stores[0], sealer, sz.Bots)
	if err != nil {
		return 0, 0, err
	}
	defer rig.close()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sups := make([]*telegram.Supervisor, n)
	done := make(chan error, n)
	for i, st := range stores {
		sups[i] = rig.supervisor(st, sealer)
		go func() { done <- sups[i].Run(rctx) }()
	}
	stop := func() error {
		cancel()
		var first error
		for range sups {
			if err := <-done; err != nil && first == nil {
				first = fmt.Errorf("bench: ingest: supervisor: %w", err)
			}
		}
		return first
	}
	t0 := time.Now()
	if err := rig.waitSplit(sups); err != nil {
		_ = stop()
		return 0, 0, err
	}
	split := time.Since(t0)
	start := time.Now()
	rig.inject(sz)
	err = rig.waitConfirmed()
	elapsed := time.Since(start)
	if serr := stop(); err == nil {
		err = serr
	}
	if err != nil {
		return 0, 0, err
	}
	if err := checkIngested(ctx, stores[0], sz); err != nil {
		return 0, 0, err
	}
	return float64(sz.Updates) / elapsed.Seconds(), split, nil
}

// waitSplit waits until each supervisor holds the lease of an equal share
// of the bots and every bot is held. With two instances the first to
// start takes every bot and releases half at its next lease turn, so this
// takes a turn or two (telegram/leases.go).
func (r *ingestRig) waitSplit(sups []*telegram.Supervisor) error {
	share := len(r.bots) / len(sups)
	deadline := time.Now().Add(time.Minute)
	for {
		held, even := 0, true
		for _, s := range sups {
			mine := 0
			for _, b := range r.bots {
				if _, ok := s.LeaseOf(b); ok {
					mine++
				}
			}
			held += mine
			even = even && mine == share
		}
		if even && held == len(r.bots) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: ingest: the %d instances did not split %d bots evenly within a minute", len(sups), len(r.bots))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// seconds lists durations as "2.4, 3.1 s".
func seconds(ds []time.Duration) string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = fmt.Sprintf("%.1f", d.Seconds())
	}
	return strings.Join(out, ", ") + " s"
}
