package bench

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/botdesk/botdesk/store"
)

// ReportSizes is the reports scenario's scale.
type ReportSizes struct {
	Seed    seedSpec
	Reports int // timed reports of each kind
}

// MeasureReports seeds a workspace with raw SQL (the rollups empty), lets
// migration 0008 backfill the rollups as it does on an upgrade, and times
// the reports the API, Reports page and Overview ask for: 30 days in days
// over every channel, and one channel's last 24 hours in hours.
func MeasureReports(ctx context.Context, root string, sz ReportSizes) ([]Figure, error) {
	dir := filepath.Join(root, "reports")
	path, err := migrate(ctx, dir)
	if err != nil {
		return nil, err
	}
	if err := seedWorkspace(ctx, path, sz.Seed); err != nil {
		return nil, err
	}
	// Undo 0008 so the next open applies it again, backfill included, on
	// the indexes an installation upgrading through 0008 has: 0022 (which
	// replaced messages_chat, the index the backfill's per-chat lookups
	// seek) is undone too and applied after it, as on that upgrade.
	db, err := openSeed(path)
	if err != nil {
		return nil, err
	}
	for _, q := range []string{"DROP TABLE report_hourly", "DROP TABLE report_agent_hourly", "DROP TABLE report_conversations",
		"DROP TABLE bot_state_changes", "DELETE FROM schema_migrations WHERE version = 8",
		"DROP INDEX messages_conversation", "CREATE INDEX messages_chat ON messages(channel_id, chat_id, id)",
		"DELETE FROM schema_migrations WHERE version = 22"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("bench: reports: %s: %w", q, err)
		}
	}
	_ = db.Close()
	if err := checkpoint(ctx, path); err != nil {
		return nil, err
	}
	t0 := time.Now()
	st, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		return nil, err
	}
	backfill := time.Since(t0)
	defer st.Close()
	var msgs, spans int64
	if msgs, spans, err = reportCounts(ctx, path); err != nil {
		return nil, err
	}

	now := time.Now().UTC()
	month := store.ReportFilter{From: now.AddDate(0, 0, -30), To: now, Bucket: store.BucketDay}
	day := store.ReportFilter{ChannelIDs: []string{channelID(0)}, From: now.Add(-24 * time.Hour), To: now, Bucket: store.BucketHour}
	var first *store.Report
	time1 := func(f store.ReportFilter) ([]time.Duration, error) {
		out := make([]time.Duration, 0, sz.Reports)
		for i := 0; i < sz.Reports; i++ {
			t := time.Now()
			r, err := st.Report(ctx, f)
			if err != nil {
				return nil, err
			}
			out = append(out, time.Since(t))
			if first == nil {
				first = r
			}
		}
		return out, nil
	}
	monthTimes, err := time1(month)
	if err != nil {
		return nil, err
	}
	var counted int64
	for _, b := range first.Buckets {
		counted += b.MessagesIn + b.MessagesOut
	}
	if counted != msgs {
		return nil, fmt.Errorf("bench: reports: the 30-day report counts %d messages, %d are stored", counted, msgs)
	}
	dayTimes, err := time1(day)
	if err != nil {
		return nil, err
	}
	p99 := func(d []time.Duration) time.Duration {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[(len(s)*99+99)/100-1]
	}
	mp, dp := p99(monthTimes), p99(dayTimes)
	return []Figure{
		{
			Name:     fmt.Sprintf("30-day report over %s messages, all channels (p99)", humanCount(int(msgs))),
			Value:    ms(mp),
			Baseline: "—", Ratio: "—", Target: "< 100 ms", Status: check(mp < 100*time.Millisecond),
			Notes: fmt.Sprintf("store.Report with day buckets over %d channels, %d conversation spans, %d runs in a row (p50 %s, max %s); "+
				"the first report's message counts equal the stored rows.", sz.Seed.Channels, spans, sz.Reports, ms(summarize(monthTimes).P50), ms(summarize(monthTimes).Max)),
		},
		{
			Name:     "one channel's last 24 h report in hours (p99)",
			Value:    ms(dp),
			Baseline: "—", Ratio: "—", Target: "info", Status: Info,
			Notes: fmt.Sprintf("the Overview's report, %d runs (p50 %s).", sz.Reports, ms(summarize(dayTimes).P50)),
		},
		{
			Name:     fmt.Sprintf("migrations 0008 (report backfill) and 0022 (conversation index) over %s messages", humanCount(int(msgs))),
			Value:    fmt.Sprintf("%.1f s", backfill.Seconds()),
			Baseline: "—", Ratio: "—", Target: "info", Status: Info,
			Notes: "store.Open applying 0008 and then 0022 on the seeded file, as an upgrade through both does: rollups, conversation spans and agent replies rebuilt with SQL, then messages_chat replaced by messages_conversation; once per upgrade.",
		},
	}, nil
}

func reportCounts(ctx context.Context, path string) (msgs, spans int64, err error) {
	db, err := sql.Open("sqlite3", storeDSN(path))
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM messages").Scan(&msgs); err != nil {
		return 0, 0, err
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM report_conversations").Scan(&spans); err != nil {
		return 0, 0, err
	}
	return msgs, spans, nil
}
