package store

import (
	"context"
	"strings"
	"testing"
)

// TestWriterAutocheckpoint: the writer checkpoints at writerAutocheckpoint
// pages, and it still does: the same ingest that leaves a WAL of more than
// twice that many frames when automatic checkpoints are off leaves one of
// at most writerAutocheckpoint plus a commit's worth with the setting, so
// the WAL is copied back and restarted and never grows without bound.
func TestWriterAutocheckpoint(t *testing.T) {
	sqliteOnly(t, "the WAL")
	ctx := context.Background()
	const batches = 100
	walFrames := func(autocheckpoint bool) int {
		s, bots := groupStore(t, 1)
		var v int
		if err := s.write.WithContext(ctx).Raw("PRAGMA wal_autocheckpoint").Scan(&v).Error; err != nil {
			t.Fatal(err)
		}
		if v != writerAutocheckpoint {
			t.Fatalf("writer wal_autocheckpoint = %d, want %d", v, writerAutocheckpoint)
		}
		if !autocheckpoint {
			if err := s.write.WithContext(ctx).Exec("PRAGMA wal_autocheckpoint = 0").Error; err != nil {
				t.Fatal(err)
			}
		}
		long := strings.Repeat("lorem ipsum ", 150) // ~1,800 bytes a message
		for r := range batches {
			b := textBatch(bots[0], int64(r*100+1), 100)
			for i := range b.Updates {
				b.Updates[i].Message.ChatID = int64(r*100 + i) // a new conversation each
				b.Updates[i].Message.Text = long
			}
			if _, err := s.IngestBatch(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		// A PASSIVE checkpoint reports the WAL's current frame count.
		var busy, log, done int
		if err := s.write.WithContext(ctx).Raw("PRAGMA wal_checkpoint(PASSIVE)").Row().Scan(&busy, &log, &done); err != nil {
			t.Fatal(err)
		}
		return log
	}
	off, on := walFrames(false), walFrames(true)
	t.Logf("WAL frames after the run: %d without automatic checkpoints, %d with", off, on)
	if off <= 2*writerAutocheckpoint {
		t.Fatalf("the run wrote only %d frames; it must write more than %d to test anything", off, 2*writerAutocheckpoint)
	}
	if on > writerAutocheckpoint+off/batches*4 {
		t.Fatalf("WAL holds %d frames: the writer did not checkpoint at %d", on, writerAutocheckpoint)
	}
}
