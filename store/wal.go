package store

import (
	"context"
	"fmt"
)

// writerAutocheckpoint is the WAL size, in pages, after which a commit on
// the writer connection copies the WAL back into the database file
// (SQLite's default is 1,000). The copy runs inside that commit, so under
// a steady ingest it was ~10 % of the writer's time (bench/tuning.md,
// "Ingest pass 2"); at 4,000 pages it runs a quarter as often, and the
// pages every batch rewrites (table tails, list indexes, index interior
// pages) are copied once per checkpoint instead of four times. The cost:
// a WAL file of up to ~16 MiB instead of ~4 MiB, and a checkpoint that
// holds up the one commit that triggers it a little longer. Readers look
// pages up in the WAL through a hash table per 4,096 frames, so they still
// search a single one.
const writerAutocheckpoint = 4000

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
