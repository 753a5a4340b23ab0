package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"
)

// The WAL is copied back into the database file (checkpointed) by a
// connection of its own, in the background, not by the commit that
// happens to push it past a size. A checkpoint inside a commit holds up
// that commit (and every ingest, reply and live update queued behind the
// one writer) for as long as it copies pages and fsyncs the file: with a
// steady stream of messages that was a stall every few seconds, which is
// what set the workbench's p99 (bench/tuning.md, "WAL checkpoints off the
// writer"). A PASSIVE checkpoint never blocks the writer: it copies what
// no reader still needs while commits go on appending to the WAL.

// checkpointEvery is how often the background checkpoint runs; with
// nothing new in the WAL it costs a look at the WAL index.
const checkpointEvery = 250 * time.Millisecond

// writerAutocheckpoint is the WAL size, in pages, past which a commit on
// the writer still checkpoints itself (SQLite's default is 1,000): only a
// safety net for when the background checkpoint cannot keep up or fails,
// so the WAL stays bounded (~64 MiB).
const writerAutocheckpoint = 16000

// tuneWriter applies the writer connection's settings that its DSN cannot
// carry. They belong to the connection: should database/sql ever replace
// the writer's (it keeps one, open for the life of the Store), the new one
// has SQLite's defaults again, which only costs speed.
func (s *Store) tuneWriter(ctx context.Context) error {
	q := fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", writerAutocheckpoint)
	if err := s.write.WithContext(ctx).Exec(q).Error; err != nil {
		return fmt.Errorf("store: writer wal_autocheckpoint: %w", err)
	}
	return nil
}

// checkpointer runs the background checkpoints of one SQLite file.
type checkpointer struct {
	db     *sql.DB
	cancel context.CancelFunc
	done   chan struct{}
	// frames counts the WAL frames copied into the database file (tests).
	frames atomic.Int64
}

// startCheckpointer opens its connection with dsn (a writable one) and
// starts checkpointing every interval until stop.
func startCheckpointer(dsn string, interval time.Duration) (*checkpointer, error) {
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open checkpoint connection: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, cancel: cancel, done: make(chan struct{})}
	go c.run(ctx, interval)
	return c, nil
}

func (c *checkpointer) run(ctx context.Context, interval time.Duration) {
	defer close(c.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// busy, frames in the WAL, frames checkpointed; an error (the file
		// locked by a backup, say) just waits for the next tick, and the
		// writer's own checkpoint bounds the WAL meanwhile.
		var busy, log, done int64
		if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done); err == nil && done > 0 {
			c.frames.Store(done)
		}
	}
}

// stop ends the checkpoints and closes the connection; nil-safe.
func (c *checkpointer) stop() error {
	if c == nil {
		return nil
	}
	c.cancel()
	<-c.done
	return c.db.Close()
}
