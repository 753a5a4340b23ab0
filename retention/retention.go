// Package retention enforces each channel's retention_days: a background
// worker deletes expired messages (with their media, edits and finished
// callback events) in small batches, so ingest never waits long for the
// database writer.
package retention

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/botdesk/botdesk/store"
)

// Config tunes the worker; zero values take the defaults.
type Config struct {
	Store *store.Store
	Log   *slog.Logger
	// Interval between sweeps; default 1h. A sweep also runs at start.
	Interval time.Duration
	// Batch is the most rows one transaction deletes; default 500.
	Batch int
	// Pause between batches leaves the writer to ingest; default 50ms.
	Pause time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Worker sweeps expired data. Several instances may run it at once: the
// deletes are idempotent.
type Worker struct{ cfg Config }

// New builds a worker.
func New(cfg Config) *Worker {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Hour
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Pause <= 0 {
		cfg.Pause = 50 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Worker{cfg: cfg}
}

// Run sweeps at start and then every Interval until ctx ends. A failed
// sweep is logged and retried at the next one.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		if n, err := w.Sweep(ctx); err != nil && ctx.Err() == nil {
			w.cfg.Log.Error("retention sweep", "err", err)
		} else if n > 0 {
			w.cfg.Log.Info("retention sweep", "deleted_rows", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Sweep deletes everything past its channel's retention and returns the
// number of rows deleted.
func (w *Worker) Sweep(ctx context.Context) (int64, error) {
	pols, err := w.cfg.Store.RetentionPolicies(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, p := range pols {
		cutoff := w.cfg.Now().Add(-time.Duration(p.Days) * 24 * time.Hour)
		for {
			n, err := w.cfg.Store.PruneBatch(ctx, p.ChannelID, cutoff, w.cfg.Batch)
			total += n
			if err != nil {
				return total, err
			}
			if n < int64(w.cfg.Batch) {
				break
			}
			select {
			case <-ctx.Done():
				return total, ctx.Err()
			case <-time.After(w.cfg.Pause):
			}
		}
	}
	return total, nil
}
