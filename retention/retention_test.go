package retention

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/store/pgtest"
)

// TestMain runs the suite on SQLite, then on PostgreSQL (store/pgtest).
func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, func(ctx context.Context, url string) error {
		st, err := store.Open(ctx, store.Config{DatabaseURL: url})
		if err != nil {
			return err
		}
		return st.Close()
	}))
}

func TestWorkerSweepsExpiredMessagesInBatches(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), DatabaseURL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db := pgtest.OpenGorm(t, st.Path()) // another connection, as an operator's would be
	short, _ := st.CreateChannel(ctx, "Short", nil)
	forever, _ := st.CreateChannel(ctx, "Forever", nil)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, ch := range []*models.Channel{short, forever} {
		for i := 0; i < 8; i++ {
			at := now.Add(-10 * 24 * time.Hour).Add(time.Duration(i) * time.Minute)
			if i == 7 {
				at = now.Add(-time.Hour)
			}
			m := &models.Message{ChannelID: ch.ID, BotTelegramID: 1, ChatID: 7, Direction: "in", Type: "photo",
				Media: `{"file_id":"x"}`, Status: "received", CreatedAt: at}
			if err := db.Create(m).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	count := func(ch *models.Channel) (n int64) {
		db.Model(&models.Message{}).Where("channel_id = ?", ch.ID).Count(&n)
		return n
	}
	w := New(Config{Store: st, Batch: 3, Pause: time.Millisecond, Now: func() time.Time { return now }})
	if n, err := w.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep without any retention = %d, %v", n, err)
	}
	if _, err := st.SetRetention(ctx, store.Actor{Name: "test"}, short.ID, 7); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Sweep(ctx); err != nil || n != 7 {
		t.Fatalf("sweep = %d, %v; want the 7 expired messages", n, err)
	}
	if a, b := count(short), count(forever); a != 1 || b != 8 {
		t.Errorf("left: %d in the 7-day channel (want 1), %d in the forever one (want 8)", a, b)
	}

	// Run sweeps at once and stops with its context.
	if _, err := st.SetRetention(ctx, store.Actor{Name: "test"}, forever.ID, 1); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		done <- New(Config{Store: st, Interval: time.Hour, Now: func() time.Time { return now }}).Run(rctx)
	}()
	for count(forever) != 1 {
		time.Sleep(5 * time.Millisecond) // polling a condition, not a timed assertion
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
}
