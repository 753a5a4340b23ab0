package store

// Reports read the rollups of store/report_rollup.go; docs/reports.md has
// the definitions. Counters are whole buckets (hour or UTC day), so a
// window is widened to the buckets it touches and every figure of a report,
// percentiles included, covers the same widened window.

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/botdesk/botdesk/models"
)

// Report bucket sizes.
const (
	BucketHour = "hour"
	BucketDay  = "day"
)

// MaxReportBuckets bounds one report (a year of days, or ~2 months of hours).
const MaxReportBuckets = 1500

// ReportFilter selects a report: the channels (nil = all), the window and
// the bucket size.
type ReportFilter struct {
	ChannelIDs []string
	From, To   time.Time
	Bucket     string
}

// Percentiles are nearest-rank percentiles in milliseconds; nil when there
// is no sample.
type Percentiles struct {
	P50 *int64 `json:"p50"`
	P90 *int64 `json:"p90"`
	N   int    `json:"-"`
}

// ReportBucket is one hour or day.
type ReportBucket struct {
	Start                 time.Time
	MessagesIn            int64
	MessagesOut           int64
	ConversationsOpened   int64
	ConversationsResolved int64
	CallbacksDelivered    int64
	CallbacksRetrying     int64
	CallbacksFailed       int64
	CallbackAttempts      int64
	CallbackLatencyMS     int64 // sum over the attempts
	// QueueDepth is the number of events waiting for delivery at the end
	// of the bucket (or now, for the bucket that holds now).
	QueueDepth    int64
	FirstResponse Percentiles
	Resolution    Percentiles
}

// CallbackLatencyAvg is the mean attempt latency, 0 without attempts.
func (b ReportBucket) CallbackLatencyAvg() int64 {
	if b.CallbackAttempts == 0 {
		return 0
	}
	return b.CallbackLatencyMS / b.CallbackAttempts
}

// CallbackTotals are the deliveries of a report.
type CallbackTotals struct {
	Delivered int64 `json:"delivered"`
	Retrying  int64 `json:"retrying"`
	Failed    int64 `json:"failed"`
}

// AgentReport is one agent's row: conversations handled (first responded
// to by them) in the window, replies sent, and the medians of those
// conversations' first response and resolution.
type AgentReport struct {
	UserID        int64
	Email         string
	Conversations int64
	Replies       int64
	FirstResponse Percentiles
	Resolution    Percentiles
}

// ChannelReport is one channel's totals over the window.
type ChannelReport struct {
	ChannelID             string
	Name                  string
	MessagesIn            int64
	MessagesOut           int64
	ConversationsOpened   int64
	ConversationsResolved int64
	Callbacks             CallbackTotals
	FirstResponse         Percentiles
	Resolution            Percentiles
}

// Report is what GET /api/v1/reports, the Reports page and a channel's
// Overview show.
type Report struct {
	From, To      time.Time // the widened window: From on a bucket start, To the end of the last bucket
	Bucket        string
	Buckets       []ReportBucket
	FirstResponse Percentiles
	Resolution    Percentiles
	Callbacks     CallbackTotals
	Agents        []AgentReport
	Channels      []ChannelReport
}

// bucketStart truncates t to its bucket in UTC.
func bucketStart(t time.Time, bucket string) time.Time {
	t = t.UTC()
	if bucket == BucketDay {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	return t.Truncate(time.Hour)
}

func nextBucket(t time.Time, bucket string) time.Time {
	if bucket == BucketDay {
		return t.AddDate(0, 0, 1)
	}
	return t.Add(time.Hour)
}

// ReportWindow checks a filter and widens its window to whole buckets.
func ReportWindow(f ReportFilter) (from, to time.Time, n int, err error) {
	if f.Bucket != BucketHour && f.Bucket != BucketDay {
		return from, to, 0, models.Invalid("bucket", "Choose hour or day.")
	}
	if !f.From.Before(f.To) {
		return from, to, 0, models.Invalid("from", "The start must be before the end.")
	}
	from = bucketStart(f.From, f.Bucket)
	to = bucketStart(f.To, f.Bucket)
	if to.Before(f.To) {
		to = nextBucket(to, f.Bucket)
	}
	for t := from; t.Before(to); t = nextBucket(t, f.Bucket) {
		n++
		if n > MaxReportBuckets {
			return from, to, 0, models.Invalid("to", fmt.Sprintf("A report holds at most %d buckets; choose a shorter range or day buckets.", MaxReportBuckets))
		}
	}
	return from, to, n, nil
}

// percentiles returns the nearest-rank p50 and p90 of xs (sorted in place).
func percentiles(xs []int64) Percentiles {
	p := Percentiles{N: len(xs)}
	if len(xs) == 0 {
		return p
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	rank := func(q int) *int64 {
		// nearest rank: the ceil(q/100·n)-th smallest value
		i := (q*len(xs) + 99) / 100
		v := xs[max(i, 1)-1]
		return &v
	}
	p.P50, p.P90 = rank(50), rank(90)
	return p
}

// channelWhere is the SQL filter for the filter's channels.
func channelWhere(ids []string, col string) (string, []any) {
	if ids == nil {
		return "", nil
	}
	if len(ids) == 0 {
		return " AND 1 = 0", nil
	}
	return " AND " + col + " IN ?", []any{ids}
}

// Report computes a report from the rollups.
func (s *Store) Report(ctx context.Context, f ReportFilter) (*Report, error) {
	from, to, n, err := ReportWindow(f)
	if err != nil {
		return nil, err
	}
	rep := &Report{From: from, To: to, Bucket: f.Bucket, Buckets: make([]ReportBucket, 0, n)}
	index := map[int64]int{}
	for t := from; t.Before(to); t = nextBucket(t, f.Bucket) {
		index[t.Unix()] = len(rep.Buckets)
		rep.Buckets = append(rep.Buckets, ReportBucket{Start: t})
	}
	slot := func(unixSec int64) int {
		i, ok := index[bucketStart(time.Unix(unixSec, 0), f.Bucket).Unix()]
		if !ok {
			return -1
		}
		return i
	}
	db := s.r(ctx)
	chWhere, chArgs := channelWhere(f.ChannelIDs, "channel_id")
	channels := map[string]*ChannelReport{}
	chRow := func(id string) *ChannelReport {
		c := channels[id]
		if c == nil {
			c = &ChannelReport{ChannelID: id}
			channels[id] = c
		}
		return c
	}

	type hourRow struct {
		ChannelID                                                           string
		Hour                                                                int64
		MessagesIn, MessagesOut, ConversationsOpened, ConversationsResolved int64
		CallbacksEnqueued, CallbacksDelivered, CallbacksRetrying            int64
		CallbacksFailed, CallbacksDone, CallbackAttempts, CallbackLatencyMs int64
	}
	var hours []hourRow
	err = db.Raw(`SELECT channel_id, hour, messages_in, messages_out, conversations_opened, conversations_resolved,
		callbacks_enqueued, callbacks_delivered, callbacks_retrying, callbacks_failed, callbacks_done, callback_attempts, callback_latency_ms
		FROM report_hourly WHERE hour >= ? AND hour < ?`+chWhere, append([]any{from.Unix(), to.Unix()}, chArgs...)...).Scan(&hours).Error
	if err != nil {
		return nil, fmt.Errorf("store: report: read rollups: %w", err)
	}
	net := make([]int64, len(rep.Buckets)) // queue growth per bucket
	for _, h := range hours {
		i := slot(h.Hour)
		if i < 0 {
			continue
		}
		b := &rep.Buckets[i]
		b.MessagesIn += h.MessagesIn
		b.MessagesOut += h.MessagesOut
		b.ConversationsOpened += h.ConversationsOpened
		b.ConversationsResolved += h.ConversationsResolved
		b.CallbacksDelivered += h.CallbacksDelivered
		b.CallbacksRetrying += h.CallbacksRetrying
		b.CallbacksFailed += h.CallbacksFailed
		b.CallbackAttempts += h.CallbackAttempts
		b.CallbackLatencyMS += h.CallbackLatencyMs
		net[i] += h.CallbacksEnqueued - h.CallbacksDone
		c := chRow(h.ChannelID)
		c.MessagesIn += h.MessagesIn
		c.MessagesOut += h.MessagesOut
		c.ConversationsOpened += h.ConversationsOpened
		c.ConversationsResolved += h.ConversationsResolved
		c.Callbacks.Delivered += h.CallbacksDelivered
		c.Callbacks.Retrying += h.CallbacksRetrying
		c.Callbacks.Failed += h.CallbacksFailed
	}
	for _, b := range rep.Buckets {
		rep.Callbacks.Delivered += b.CallbacksDelivered
		rep.Callbacks.Retrying += b.CallbacksRetrying
		rep.Callbacks.Failed += b.CallbacksFailed
	}
	if err := s.queueDepths(ctx, rep, net, chWhere, chArgs); err != nil {
		return nil, err
	}
	if err := s.reportSpans(ctx, rep, f, slot, chWhere, chArgs, chRow); err != nil {
		return nil, err
	}
	if err := s.reportChannelNames(ctx, rep, channels, f); err != nil {
		return nil, err
	}
	return rep, nil
}

// queueDepths derives each bucket's closing queue depth from the events
// waiting now and the rollups' enqueued − done of everything after it.
func (s *Store) queueDepths(ctx context.Context, rep *Report, net []int64, chWhere string, chArgs []any) error {
	db := s.r(ctx)
	var waiting, later int64
	err := db.Raw("SELECT COUNT(*) FROM outbox WHERE state IN ?"+chWhere,
		append([]any{[]string{OutboxStatePending, OutboxStateDelivering}}, chArgs...)...).Scan(&waiting).Error
	if err != nil {
		return fmt.Errorf("store: report: queue depth: %w", err)
	}
	err = db.Raw("SELECT COALESCE(SUM(callbacks_enqueued - callbacks_done), 0) FROM report_hourly WHERE hour >= ?"+chWhere,
		append([]any{rep.To.Unix()}, chArgs...)...).Scan(&later).Error
	if err != nil {
		return fmt.Errorf("store: report: queue depth: %w", err)
	}
	depth := waiting - later
	for i := len(rep.Buckets) - 1; i >= 0; i-- {
		rep.Buckets[i].QueueDepth = max(depth, 0)
		depth -= net[i]
	}
	return nil
}

// reportSpans fills the percentiles and the agents from the conversation
// spans whose first response, or resolution, falls in the window.
func (s *Store) reportSpans(ctx context.Context, rep *Report, f ReportFilter, slot func(int64) int, chWhere string, chArgs []any, chRow func(string) *ChannelReport) error {
	db := s.r(ctx)
	type span struct {
		ChannelID   string
		At          int64
		MS          int64
		ResponderID *int64
	}
	read := func(atCol, msCol string) ([]span, error) {
		var out []span
		err := db.Raw("SELECT channel_id, "+atCol+" AS at, "+msCol+" AS ms, responder_id FROM report_conversations WHERE "+
			atCol+" >= ? AND "+atCol+" < ?"+chWhere, append([]any{rep.From.UnixMilli(), rep.To.UnixMilli()}, chArgs...)...).Scan(&out).Error
		return out, err
	}
	responses, err := read("first_response_at", "first_response_ms")
	if err != nil {
		return fmt.Errorf("store: report: first responses: %w", err)
	}
	resolutions, err := read("resolved_at", "resolution_ms")
	if err != nil {
		return fmt.Errorf("store: report: resolutions: %w", err)
	}
	type samples struct{ all, perBucket, perChannel, perAgent map[any][]int64 }
	collect := func(spans []span) samples {
		sm := samples{map[any][]int64{}, map[any][]int64{}, map[any][]int64{}, map[any][]int64{}}
		for _, sp := range spans {
			sm.all[0] = append(sm.all[0], sp.MS)
			if i := slot(sp.At / 1000); i >= 0 {
				sm.perBucket[i] = append(sm.perBucket[i], sp.MS)
			}
			sm.perChannel[sp.ChannelID] = append(sm.perChannel[sp.ChannelID], sp.MS)
			if sp.ResponderID != nil {
				sm.perAgent[*sp.ResponderID] = append(sm.perAgent[*sp.ResponderID], sp.MS)
			}
		}
		return sm
	}
	fr, rs := collect(responses), collect(resolutions)
	rep.FirstResponse, rep.Resolution = percentiles(fr.all[0]), percentiles(rs.all[0])
	for i := range rep.Buckets {
		rep.Buckets[i].FirstResponse = percentiles(fr.perBucket[i])
		rep.Buckets[i].Resolution = percentiles(rs.perBucket[i])
	}
	for id, xs := range fr.perChannel {
		chRow(id.(string)).FirstResponse = percentiles(xs)
	}
	for id, xs := range rs.perChannel {
		chRow(id.(string)).Resolution = percentiles(xs)
	}

	agents := map[int64]*AgentReport{}
	agent := func(id int64) *AgentReport {
		a := agents[id]
		if a == nil {
			a = &AgentReport{UserID: id}
			agents[id] = a
		}
		return a
	}
	for id, xs := range fr.perAgent {
		a := agent(id.(int64))
		a.Conversations = int64(len(xs))
		a.FirstResponse = percentiles(xs)
	}
	for id, xs := range rs.perAgent {
		agent(id.(int64)).Resolution = percentiles(xs)
	}
	var replies []struct {
		UserID  int64
		Replies int64
	}
	err = db.Raw("SELECT user_id, SUM(replies) AS replies FROM report_agent_hourly WHERE hour >= ? AND hour < ?"+chWhere+" GROUP BY user_id",
		append([]any{rep.From.Unix(), rep.To.Unix()}, chArgs...)...).Scan(&replies).Error
	if err != nil {
		return fmt.Errorf("store: report: replies: %w", err)
	}
	for _, r := range replies {
		agent(r.UserID).Replies = r.Replies
	}
	if len(agents) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(agents))
	for id := range agents {
		ids = append(ids, id)
	}
	var users []models.User
	if err := db.Select("id", "email").Where("id IN ?", ids).Find(&users).Error; err != nil {
		return fmt.Errorf("store: report: agent names: %w", err)
	}
	for _, u := range users {
		agents[u.ID].Email = u.Email
	}
	for _, a := range agents {
		if a.Email == "" {
			a.Email = fmt.Sprintf("user %d (deleted)", a.UserID)
		}
		rep.Agents = append(rep.Agents, *a)
	}
	sort.Slice(rep.Agents, func(i, j int) bool {
		if rep.Agents[i].Conversations != rep.Agents[j].Conversations {
			return rep.Agents[i].Conversations > rep.Agents[j].Conversations
		}
		return rep.Agents[i].Email < rep.Agents[j].Email
	})
	return nil
}

// reportChannelNames lists every channel of the filter, those with nothing
// to count included, by name.
func (s *Store) reportChannelNames(ctx context.Context, rep *Report, rows map[string]*ChannelReport, f ReportFilter) error {
	var chans []models.Channel
	q := s.r(ctx).Select("id", "name")
	if f.ChannelIDs != nil {
		q = q.Where("id IN ?", f.ChannelIDs)
	}
	if err := q.Order("name").Find(&chans).Error; err != nil {
		return fmt.Errorf("store: report: channel names: %w", err)
	}
	for _, ch := range chans {
		r := rows[ch.ID]
		if r == nil {
			r = &ChannelReport{ChannelID: ch.ID}
		}
		r.Name = ch.Name
		rep.Channels = append(rep.Channels, *r)
	}
	return nil
}

// HealthPeriod is a stretch of time in one poller state.
type HealthPeriod struct {
	From, To time.Time
	State    models.BotState
	Detail   string
}

// HealthBucket is how a bucket's time split between polling, error states
// (token invalid, conflict, error) and the rest (connecting, stopped, no bot).
type HealthBucket struct {
	Start              time.Time
	PollingMS, ErrorMS int64
	OtherMS, UnknownMS int64 // other states; before anything was recorded
}

// PollerHealth returns the channel's poller state periods overlapping
// [from, to) (clipped to now) and their split per bucket.
func (s *Store) PollerHealth(ctx context.Context, channelID string, from, to time.Time, bucket string) ([]HealthPeriod, []HealthBucket, error) {
	now := s.now()
	if to.After(now) {
		to = now
	}
	type change struct {
		At     int64
		State  string
		Detail string
	}
	var before []change
	db := s.r(ctx)
	err := db.Raw("SELECT at, state, detail FROM bot_state_changes WHERE channel_id = ? AND at < ? ORDER BY at DESC, id DESC LIMIT 1",
		channelID, from.UnixMilli()).Scan(&before).Error
	if err != nil {
		return nil, nil, fmt.Errorf("store: poller health: %w", err)
	}
	var changes []change
	err = db.Raw("SELECT at, state, detail FROM bot_state_changes WHERE channel_id = ? AND at >= ? AND at < ? ORDER BY at, id",
		channelID, from.UnixMilli(), to.UnixMilli()).Scan(&changes).Error
	if err != nil {
		return nil, nil, fmt.Errorf("store: poller health: %w", err)
	}
	var periods []HealthPeriod
	cur := HealthPeriod{From: from}
	if len(before) == 1 {
		cur.State, cur.Detail = models.BotState(before[0].State), before[0].Detail
	}
	for _, c := range changes {
		at := time.UnixMilli(c.At).UTC()
		if at.After(cur.From) {
			cur.To = at
			periods = append(periods, cur)
		}
		cur = HealthPeriod{From: at, State: models.BotState(c.State), Detail: c.Detail}
	}
	if to.After(cur.From) {
		cur.To = to
		periods = append(periods, cur)
	}
	var buckets []HealthBucket
	for t := bucketStart(from, bucket); t.Before(to); t = nextBucket(t, bucket) {
		hb := HealthBucket{Start: t}
		end := nextBucket(t, bucket)
		for _, p := range periods {
			lo, hi := maxTime(p.From, t), minTime(p.To, end)
			if !hi.After(lo) {
				continue
			}
			ms := hi.Sub(lo).Milliseconds()
			switch p.State {
			case models.BotPolling:
				hb.PollingMS += ms
			case models.BotError, models.BotConflict, models.BotTokenInvalid:
				hb.ErrorMS += ms
			case "":
				hb.UnknownMS += ms
			default:
				hb.OtherMS += ms
			}
		}
		buckets = append(buckets, hb)
	}
	return periods, buckets, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
