package store

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store/pgtest"
)

// reportBase is 10:00 UTC of the day the report tests inject traffic on.
var reportBase = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

func at(min int) time.Time { return reportBase.Add(time.Duration(min) * time.Minute) }

func ptr(v int64) *int64 { return &v }

// reportTraffic drives a channel through the real store paths on a fake
// clock: ingest, agent and API replies, resolve and reopen, callback
// attempts (delivered, retried, failed) and poller state changes. The
// figures the tests expect are worked out by hand in the comments.
type reportTraffic struct {
	s      *Store
	url    string // the PostgreSQL database ("" on SQLite)
	ch     *models.Channel
	u1, u2 *models.User
	clock  time.Time
	update int64
}

func newReportTraffic(t *testing.T, dir string) *reportTraffic {
	t.Helper()
	url := pgtest.URL(t)
	s, err := Open(context.Background(), Config{DataDir: dir, DatabaseURL: url, PasswordCost: models.PasswordCost{Time: 1, Memory: 64, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	rt := &reportTraffic{s: s, url: url, clock: at(-60)}
	s.now = func() time.Time { return rt.clock }
	ctx := context.Background()
	if rt.ch, err = s.CreateChannel(ctx, "Reports", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetWorkbench(ctx, rt.ch.ID, models.WorkbenchAll, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBot(ctx, &models.Bot{ChannelID: rt.ch.ID, TelegramID: ingestBot, Username: "b", TokenEnc: []byte{1}, TokenHint: "x"}); err != nil {
		t.Fatal(err)
	}
	if rt.u1, err = s.CreateUser(ctx, "ann@example.com", models.RoleAgent, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if rt.u2, err = s.CreateUser(ctx, "bob@example.com", models.RoleAgent, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	return rt
}

func (rt *reportTraffic) ingest(t *testing.T, chats ...int64) {
	t.Helper()
	b := IngestBatch{BotTelegramID: ingestBot, MOPayload: moJSON}
	for _, chat := range chats {
		rt.update++
		b.Updates = append(b.Updates, IngestUpdate{UpdateID: rt.update, Kind: "message", Message: &IngestMessage{
			TelegramMessageID: rt.update, ChatID: chat, ChatType: "private", ChatTitle: "C", FromID: chat, Type: "text", Text: "hi", Date: rt.clock}})
	}
	b.NextOffset = rt.update + 1
	if _, err := rt.s.IngestBatch(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func (rt *reportTraffic) reply(t *testing.T, chat int64, by *models.User) {
	t.Helper()
	m := OutgoingMessage{ChannelID: rt.ch.ID, ChatID: chat, Text: "answer"}
	if by != nil {
		m.SentBy = &by.ID
	}
	if _, _, err := rt.s.QueueOutgoing(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func (rt *reportTraffic) conv(t *testing.T, chat int64) int64 {
	t.Helper()
	var id int64
	if err := rt.s.r(context.Background()).Raw("SELECT id FROM conversations WHERE chat_id = ?", chat).Scan(&id).Error; err != nil || id == 0 {
		t.Fatalf("conversation of chat %d: %v", chat, err)
	}
	return id
}

func (rt *reportTraffic) setStatus(t *testing.T, chat int64, status string) {
	t.Helper()
	if err := rt.s.SetConversationStatus(context.Background(), rt.conv(t, chat), status); err != nil {
		t.Fatal(err)
	}
}

// deliver claims the due events and finishes them with the outcomes in order.
func (rt *reportTraffic) deliver(t *testing.T, outcomes ...struct {
	state   string
	latency int64
}) {
	t.Helper()
	ctx := context.Background()
	evs, err := rt.s.ClaimDueOutbox(ctx, rt.clock, time.Minute, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(outcomes) {
		t.Fatalf("claimed %d events, want %d", len(evs), len(outcomes))
	}
	var recs []AttemptRecord
	for i, ev := range evs {
		o := outcomes[i]
		outcome := "success"
		r := OutboxResult{State: o.state, Attempts: ev.Attempts + 1, NextAttemptAt: rt.clock}
		switch o.state {
		case OutboxStateDelivered:
			d := rt.clock
			r.DeliveredAt = &d
		case OutboxStatePending:
			outcome, r.NextAttemptAt = "retry", at(60)
		default:
			outcome = "retry"
		}
		recs = append(recs, AttemptRecord{OutboxID: ev.ID, Result: r, Attempt: models.DeliveryAttempt{At: rt.clock, URL: "https://x", LatencyMS: o.latency, Outcome: outcome}})
	}
	if err := rt.s.FinishAttempts(ctx, recs); err != nil {
		t.Fatal(err)
	}
}

type outcome = struct {
	state   string
	latency int64
}

// run is the scripted day. Chats 101 and 102 write at 10:05 and 10:20.
func (rt *reportTraffic) run(t *testing.T) {
	ctx := context.Background()
	rt.clock = at(5)
	rt.ingest(t, 101) // opens 101 at 10:05; bot connecting → polling
	rt.clock = at(10)
	rt.reply(t, 101, rt.u1) // first response of 101: 10:10 − 10:05 = 5 min
	rt.clock = at(20)
	rt.ingest(t, 102, 101) // opens 102 at 10:20
	rt.clock = at(30)
	// mo events: 101#1 and 102#1 are due (101#2 waits behind 101#1).
	rt.deliver(t, outcome{OutboxStateDelivered, 100}, outcome{OutboxStatePending, 300})
	rt.clock = at(80)
	rt.reply(t, 102, nil) // API; first response of 102: 11:20 − 10:20 = 60 min
	rt.clock = at(90)
	rt.reply(t, 101, rt.u1)                                                            // not a first response
	rt.deliver(t, outcome{OutboxStateFailed, 400}, outcome{OutboxStateDelivered, 200}) // 102#1 (id order) gives up, 101#2 delivered
	rt.clock = at(125)
	rt.setStatus(t, 101, ConversationResolved) // 10:05 → 12:05: 2 h
	rt.clock = at(140)
	rt.setStatus(t, 102, ConversationResolved) // 10:20 → 12:20: 2 h
	rt.clock = at(180)
	rt.ingest(t, 101) // workbench "all" reopens 101 at 13:00
	rt.clock = at(181)
	rt.reply(t, 101, rt.u2) // first response of the reopened 101: 1 min
	rt.clock = at(240)
	if _, err := rt.s.SetBotState(ctx, ingestBot, models.BotError, "network down"); err != nil {
		t.Fatal(err)
	}
	rt.clock = at(270)
	rt.ingest(t, 103) // polling again at 14:30; opens 103
	rt.clock = at(300)
}

type bucketCounts struct {
	In, Out, Opened, Resolved, Delivered, Retrying, Failed, Attempts, LatencyAvg, Depth int64
}

func countsOf(b ReportBucket) bucketCounts {
	return bucketCounts{b.MessagesIn, b.MessagesOut, b.ConversationsOpened, b.ConversationsResolved,
		b.CallbacksDelivered, b.CallbacksRetrying, b.CallbacksFailed, b.CallbackAttempts, b.CallbackLatencyAvg(), b.QueueDepth}
}

func pct(p50, p90 int64) Percentiles {
	return Percentiles{P50: ptr(p50), P90: ptr(p90)}
}

func samePct(a, b Percentiles) bool {
	eq := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return eq(a.P50, b.P50) && eq(a.P90, b.P90)
}

func TestReportSeriesEqualInjectedTraffic(t *testing.T) {
	rt := newReportTraffic(t, t.TempDir())
	rt.run(t)
	rep, err := rt.s.Report(context.Background(), ReportFilter{From: at(0), To: at(300), Bucket: BucketHour})
	if err != nil {
		t.Fatal(err)
	}
	// Events enqueued: 3 at 10:xx, 1 at 13:00, 1 at 14:30; done: 1 at
	// 10:30, 2 at 11:30. Waiting at the end of each hour: 2, 0, 0, 1, 2.
	want := []bucketCounts{
		{In: 3, Out: 1, Opened: 2, Delivered: 1, Retrying: 1, Attempts: 2, LatencyAvg: 200, Depth: 2},
		{Out: 2, Delivered: 1, Failed: 1, Attempts: 2, LatencyAvg: 300},
		{Resolved: 2},
		{In: 1, Out: 1, Opened: 1, Depth: 1},
		{In: 1, Opened: 1, Depth: 2},
	}
	if len(rep.Buckets) != len(want) {
		t.Fatalf("%d buckets, want %d", len(rep.Buckets), len(want))
	}
	for i, b := range rep.Buckets {
		if !b.Start.Equal(at(60 * i)) {
			t.Errorf("bucket %d starts %v", i, b.Start)
		}
		if got := countsOf(b); got != want[i] {
			t.Errorf("bucket %d (%s):\n got %+v\nwant %+v", i, b.Start.Format("15:04"), got, want[i])
		}
	}
	wantFR := map[int]Percentiles{0: pct(300_000, 300_000), 1: pct(3_600_000, 3_600_000), 3: pct(60_000, 60_000)}
	for i, b := range rep.Buckets {
		if !samePct(b.FirstResponse, wantFR[i]) {
			t.Errorf("bucket %d first response %+v, want %+v", i, b.FirstResponse, wantFR[i])
		}
	}
	if !samePct(rep.Buckets[2].Resolution, pct(7_200_000, 7_200_000)) {
		t.Errorf("12:00 resolution %+v", rep.Buckets[2].Resolution)
	}
	// First responses 60 000, 300 000, 3 600 000: nearest rank p50 is the
	// 2nd, p90 the 3rd.
	if !samePct(rep.FirstResponse, pct(300_000, 3_600_000)) || !samePct(rep.Resolution, pct(7_200_000, 7_200_000)) {
		t.Errorf("totals: first response %+v, resolution %+v", rep.FirstResponse, rep.Resolution)
	}
	if rep.Callbacks != (CallbackTotals{Delivered: 2, Retrying: 1, Failed: 1}) {
		t.Errorf("callbacks %+v", rep.Callbacks)
	}
	if len(rep.Agents) != 2 {
		t.Fatalf("agents %+v", rep.Agents)
	}
	ann, bob := rep.Agents[0], rep.Agents[1]
	if ann.Email != "ann@example.com" || ann.Conversations != 1 || ann.Replies != 2 || !samePct(ann.FirstResponse, pct(300_000, 300_000)) || !samePct(ann.Resolution, pct(7_200_000, 7_200_000)) {
		t.Errorf("ann %+v", ann)
	}
	if bob.Email != "bob@example.com" || bob.Conversations != 1 || bob.Replies != 1 || !samePct(bob.FirstResponse, pct(60_000, 60_000)) || bob.Resolution.P50 != nil {
		t.Errorf("bob %+v", bob)
	}
	if len(rep.Channels) != 1 || rep.Channels[0].MessagesIn != 5 || rep.Channels[0].MessagesOut != 4 ||
		rep.Channels[0].ConversationsOpened != 4 || rep.Channels[0].ConversationsResolved != 2 || rep.Channels[0].Name != "Reports" {
		t.Errorf("channels %+v", rep.Channels)
	}

	t.Run("day buckets", func(t *testing.T) {
		rep, err := rt.s.Report(context.Background(), ReportFilter{From: at(0), To: at(300), Bucket: BucketDay})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Buckets) != 1 || !rep.Buckets[0].Start.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("buckets %+v", rep.Buckets)
		}
		want := bucketCounts{In: 5, Out: 4, Opened: 4, Resolved: 2, Delivered: 2, Retrying: 1, Failed: 1, Attempts: 4, LatencyAvg: 250, Depth: 2}
		if got := countsOf(rep.Buckets[0]); got != want {
			t.Errorf("day: got %+v want %+v", got, want)
		}
	})

	t.Run("window widens to whole buckets and filters channels", func(t *testing.T) {
		rep, err := rt.s.Report(context.Background(), ReportFilter{ChannelIDs: []string{"tg-nonexisting"}, From: at(15), To: at(61), Bucket: BucketHour})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.From.Equal(at(0)) || !rep.To.Equal(at(120)) || len(rep.Buckets) != 2 || rep.Buckets[0].MessagesIn != 0 || len(rep.Agents) != 0 {
			t.Errorf("other channel: %+v", rep)
		}
	})

	t.Run("poller health", func(t *testing.T) {
		_, hb, err := rt.s.PollerHealth(context.Background(), rt.ch.ID, at(0), at(300), BucketHour)
		if err != nil {
			t.Fatal(err)
		}
		min := int64(time.Minute / time.Millisecond)
		want := []HealthBucket{
			{Start: at(0), PollingMS: 55 * min, OtherMS: 5 * min},
			{Start: at(60), PollingMS: 60 * min},
			{Start: at(120), PollingMS: 60 * min},
			{Start: at(180), PollingMS: 60 * min},
			{Start: at(240), PollingMS: 30 * min, ErrorMS: 30 * min},
		}
		if !reflect.DeepEqual(hb, want) {
			t.Errorf("health\n got %+v\nwant %+v", hb, want)
		}
	})
}

// TestReportBackfillMatchesLiveRollups re-runs migration 0008 on the data
// the hooks counted: the backfill must find the same message, reply and
// callback figures. (Conversation spans it can only rebuild one per
// conversation, from the audit log: the reopened chat is one span.)
func TestReportBackfillMatchesLiveRollups(t *testing.T) {
	dir := t.TempDir()
	rt := newReportTraffic(t, dir)
	rt.run(t)
	ctx := context.Background()
	// The audit entries the workbench writes beside each resolve.
	for _, chat := range []int64{101, 102} {
		rt.clock = at(map[int64]int{101: 125, 102: 140}[chat])
		if err := rt.s.Audit(ctx, Actor{Name: "t"}, "conversation.resolve", "conversation", itoa(rt.conv(t, chat)), ""); err != nil {
			t.Fatal(err)
		}
	}
	type row struct {
		ChannelID                                                                 string
		Hour, MessagesIn, MessagesOut                                             int64
		CallbacksEnqueued, CallbacksDelivered, CallbacksRetrying, CallbacksFailed int64
		CallbacksDone, CallbackAttempts, CallbackLatencyMs                        int64
	}
	read := func(s *Store) ([]row, []map[string]any) {
		var rows []row
		if err := s.r(ctx).Raw(`SELECT channel_id, hour, messages_in, messages_out, callbacks_enqueued, callbacks_delivered, callbacks_retrying,
			callbacks_failed, callbacks_done, callback_attempts, callback_latency_ms FROM report_hourly ORDER BY hour`).Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		var agents []map[string]any
		if err := s.r(ctx).Raw("SELECT channel_id, user_id, hour, replies FROM report_agent_hourly ORDER BY user_id, hour").Scan(&agents).Error; err != nil {
			t.Fatal(err)
		}
		return rows, agents
	}
	live, liveAgents := read(rt.s)
	for _, q := range []string{"DROP TABLE report_hourly", "DROP TABLE report_agent_hourly", "DROP TABLE report_conversations",
		"DROP TABLE bot_state_changes", "DELETE FROM schema_migrations WHERE version = 8"} {
		if err := rt.s.w(ctx).Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	_ = rt.s.Close()
	if rt.url == "" {
		if _, err := os.Stat(filepath.Join(dir, DBFileName)); err != nil {
			t.Fatal(err)
		}
	}
	s2, err := Open(ctx, Config{DataDir: dir, DatabaseURL: rt.url})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	back, backAgents := read(s2)
	if !reflect.DeepEqual(live, back) {
		t.Errorf("backfill differs from the live rollups:\nlive %+v\nback %+v", live, back)
	}
	if !reflect.DeepEqual(liveAgents, backAgents) {
		t.Errorf("agent replies differ:\nlive %+v\nback %+v", liveAgents, backAgents)
	}
	rep, err := s2.Report(ctx, ReportFilter{From: at(0), To: at(300), Bucket: BucketDay})
	if err != nil {
		t.Fatal(err)
	}
	// Spans: 101 opened 10:05, first answered 10:10, open again now (its
	// 12:05 resolve is lost with the reopen); 102 opened 10:20, answered
	// 11:20, resolved 12:20 (the audit entry); 103 opened 14:30.
	got := countsOf(rep.Buckets[0])
	if got.Opened != 3 || got.Resolved != 1 || rep.Resolution.N != 1 || !samePct(rep.FirstResponse, pct(300_000, 3_600_000)) || !samePct(rep.Resolution, pct(7_200_000, 7_200_000)) {
		t.Errorf("backfilled spans: %+v, first response %+v, resolution %+v", got, rep.FirstResponse, rep.Resolution)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestPercentilesNearestRank(t *testing.T) {
	for _, tc := range []struct {
		in       []int64
		p50, p90 int64
	}{
		{[]int64{5}, 5, 5},
		{[]int64{1, 2}, 1, 2},
		{[]int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 5, 9},
		{[]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 6, 10},
	} {
		p := percentiles(tc.in)
		if *p.P50 != tc.p50 || *p.P90 != tc.p90 {
			t.Errorf("%v: p50 %d p90 %d, want %d %d", tc.in, *p.P50, *p.P90, tc.p50, tc.p90)
		}
	}
	if p := percentiles(nil); p.P50 != nil || p.P90 != nil {
		t.Error("empty sample has percentiles")
	}
}
