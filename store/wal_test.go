package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// On SQLite the WAL is checkpointed in the background, not by a commit:
// after some writes the checkpoint connection has copied frames, and the
// writer's own checkpoint only starts at the safety-net size.
func TestWALCheckpointedInTheBackground(t *testing.T) {
	s := openTestStore(t)
	if s.pg {
		t.Skip("PostgreSQL has no WAL of ours to checkpoint")
	}
	ctx := context.Background()
	var pages int64
	if err := s.write.WithContext(ctx).Raw("PRAGMA wal_autocheckpoint").Scan(&pages).Error; err != nil {
		t.Fatal(err)
	}
	if pages != writerAutocheckpoint {
		t.Fatalf("writer wal_autocheckpoint = %d, want the safety net %d", pages, writerAutocheckpoint)
	}
	for i := range 20 {
		if _, err := s.CreateChannel(ctx, fmt.Sprintf("WAL %d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.checkpoints.frames.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no frame was checkpointed in the background")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
