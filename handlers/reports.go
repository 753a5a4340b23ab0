package handlers

// Reports (docs/reports.md): GET /api/v1/reports (JSON or CSV), the Reports
// page and its CSV downloads. Reports hold every figure of a channel, so
// like the channel pages they are for operators and admins; a channel_id
// that does not exist is 404.

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// reportQuery is a parsed report request.
type reportQuery struct {
	ChannelID string // "" = every channel
	From, To  time.Time
	Bucket    string
	Format    string // "json" or "csv"
	Table     string // CSV: buckets, agents or channels
}

// parseReportQuery reads channel_id, from, to (RFC 3339), bucket, format
// and table. Without from/to the report is the last 24 hours in hours, or
// with bucket=day the last 30 days; a range over two days defaults to days.
func (s *Server) parseReportQuery(c echo.Context, now time.Time) (reportQuery, error) {
	return s.parseReportQueryValues(c.QueryParams(), now)
}

func (s *Server) parseReportQueryValues(vals url.Values, now time.Time) (reportQuery, error) {
	q := reportQuery{ChannelID: vals.Get("channel_id"), Bucket: vals.Get("bucket"), Format: vals.Get("format"), Table: vals.Get("table")}
	parse := func(field string) (time.Time, error) {
		v := strings.TrimSpace(vals.Get(field))
		if v == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.UTC(), nil
		}
		// The Reports page's date inputs send a plain date (UTC midnight).
		if t, err := time.Parse("2006-01-02", v); err == nil {
			if field == "to" {
				t = t.AddDate(0, 0, 1) // the end date is included
			}
			return t, nil
		}
		return time.Time{}, models.Invalid(field, "Give a time like 2026-12-01T00:00:00Z or a date like 2026-12-01.")
	}
	var err error
	if q.From, err = parse("from"); err != nil {
		return q, err
	}
	if q.To, err = parse("to"); err != nil {
		return q, err
	}
	if q.To.IsZero() {
		q.To = now
	}
	switch q.Bucket {
	case "":
		q.Bucket = store.BucketHour
		if !q.From.IsZero() && q.To.Sub(q.From) > 48*time.Hour {
			q.Bucket = store.BucketDay
		}
	case store.BucketHour, store.BucketDay:
	default:
		return q, models.Invalid("bucket", "Choose hour or day.")
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-24 * time.Hour)
		if q.Bucket == store.BucketDay {
			q.From = q.To.AddDate(0, 0, -30)
		}
	}
	switch q.Format {
	case "", "json":
		q.Format = "json"
	case "csv":
	default:
		return q, models.Invalid("format", "Choose json or csv.")
	}
	switch q.Table {
	case "":
		q.Table = "buckets"
	case "buckets", "agents", "channels":
	default:
		return q, models.Invalid("table", "Choose buckets, agents or channels.")
	}
	return q, nil
}

// loadReport runs the query: the object check (the channel exists) and
// the store's report.
func (s *Server) loadReport(c echo.Context, q reportQuery) (*store.Report, error) {
	f := store.ReportFilter{From: q.From, To: q.To, Bucket: q.Bucket}
	if q.ChannelID != "" {
		if !models.ValidChannelID(q.ChannelID) {
			return nil, fmt.Errorf("channel %q: %w", q.ChannelID, store.ErrNotFound)
		}
		ch, err := s.Store.Channel(c.Request().Context(), q.ChannelID)
		if err != nil {
			return nil, err
		}
		f.ChannelIDs = []string{ch.ID}
	}
	return s.Store.Report(c.Request().Context(), f)
}

func (s *Server) apiReports(c echo.Context) error {
	q, err := s.parseReportQuery(c, time.Now())
	if err != nil {
		return err
	}
	rep, err := s.loadReport(c, q)
	if err != nil {
		return err
	}
	if q.Format == "csv" {
		return writereportCSV(c, rep, q.Table)
	}
	return c.JSON(http.StatusOK, toAPIReport(rep))
}

func (s *Server) reportsExport(c echo.Context) error {
	q, err := s.parseReportQuery(c, time.Now())
	if err != nil {
		return err
	}
	rep, err := s.loadReport(c, q)
	if err != nil {
		return err
	}
	return writereportCSV(c, rep, q.Table)
}

// apiPercentiles is {p50, p90} in milliseconds, null without a sample.
type apiPercentiles struct {
	P50 *int64 `json:"p50"`
	P90 *int64 `json:"p90"`
}

type apiReportBucket struct {
	Start                 time.Time            `json:"start"`
	MessagesIn            int64                `json:"messages_in"`
	MessagesOut           int64                `json:"messages_out"`
	ConversationsOpened   int64                `json:"conversations_opened"`
	ConversationsResolved int64                `json:"conversations_resolved"`
	Callbacks             store.CallbackTotals `json:"callbacks"`
	CallbackLatencyMSAvg  int64                `json:"callback_latency_ms_avg"`
	QueueDepth            int64                `json:"queue_depth"`
	FirstResponseMS       apiPercentiles       `json:"first_response_ms"`
	ResolutionMS          apiPercentiles       `json:"resolution_ms"`
}

type apiReportAgent struct {
	User               string `json:"user"`
	Conversations      int64  `json:"conversations"`
	Replies            int64  `json:"replies"`
	FirstResponseMSP50 *int64 `json:"first_response_ms_p50"`
	ResolutionMSP50    *int64 `json:"resolution_ms_p50"`
}

type apiReportChannel struct {
	ChannelID             string               `json:"channel_id"`
	Name                  string               `json:"name"`
	MessagesIn            int64                `json:"messages_in"`
	MessagesOut           int64                `json:"messages_out"`
	ConversationsOpened   int64                `json:"conversations_opened"`
	ConversationsResolved int64                `json:"conversations_resolved"`
	Callbacks             store.CallbackTotals `json:"callbacks"`
	FirstResponseMSP50    *int64               `json:"first_response_ms_p50"`
	ResolutionMSP50       *int64               `json:"resolution_ms_p50"`
}

// apiReport is the JSON of GET /api/v1/reports: DESIGN.md's fields, plus
// from/to/bucket, per-bucket callbacks, latency, queue depth and
// percentiles, agents' median resolution and the per-channel table.
type apiReport struct {
	From            time.Time            `json:"from"`
	To              time.Time            `json:"to"`
	Bucket          string               `json:"bucket"`
	Buckets         []apiReportBucket    `json:"buckets"`
	FirstResponseMS apiPercentiles       `json:"first_response_ms"`
	ResolutionMS    apiPercentiles       `json:"resolution_ms"`
	Callbacks       store.CallbackTotals `json:"callbacks"`
	Agents          []apiReportAgent     `json:"agents"`
	Channels        []apiReportChannel   `json:"channels"`
}

func toAPIPercentiles(p store.Percentiles) apiPercentiles {
	return apiPercentiles{P50: p.P50, P90: p.P90}
}

func toAPIReport(r *store.Report) apiReport {
	out := apiReport{From: r.From, To: r.To, Bucket: r.Bucket, FirstResponseMS: toAPIPercentiles(r.FirstResponse),
		ResolutionMS: toAPIPercentiles(r.Resolution), Callbacks: r.Callbacks,
		Buckets: make([]apiReportBucket, 0, len(r.Buckets)), Agents: make([]apiReportAgent, 0, len(r.Agents)), Channels: make([]apiReportChannel, 0, len(r.Channels))}
	for _, b := range r.Buckets {
		out.Buckets = append(out.Buckets, apiReportBucket{Start: b.Start, MessagesIn: b.MessagesIn, MessagesOut: b.MessagesOut,
			ConversationsOpened: b.ConversationsOpened, ConversationsResolved: b.ConversationsResolved,
			Callbacks:            store.CallbackTotals{Delivered: b.CallbacksDelivered, Retrying: b.CallbacksRetrying, Failed: b.CallbacksFailed},
			CallbackLatencyMSAvg: b.CallbackLatencyAvg(), QueueDepth: b.QueueDepth,
			FirstResponseMS: toAPIPercentiles(b.FirstResponse), ResolutionMS: toAPIPercentiles(b.Resolution)})
	}
	for _, a := range r.Agents {
		out.Agents = append(out.Agents, apiReportAgent{User: a.Email, Conversations: a.Conversations, Replies: a.Replies,
			FirstResponseMSP50: a.FirstResponse.P50, ResolutionMSP50: a.Resolution.P50})
	}
	for _, ch := range r.Channels {
		out.Channels = append(out.Channels, apiReportChannel{ChannelID: ch.ChannelID, Name: ch.Name, MessagesIn: ch.MessagesIn,
			MessagesOut: ch.MessagesOut, ConversationsOpened: ch.ConversationsOpened, ConversationsResolved: ch.ConversationsResolved,
			Callbacks: ch.Callbacks, FirstResponseMSP50: ch.FirstResponse.P50, ResolutionMSP50: ch.Resolution.P50})
	}
	return out
}

// csvCell keeps a spreadsheet from reading a name as a formula.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func optInt(p *int64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(*p, 10)
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }

// reportCSV returns a report table as CSV rows, header first.
func reportCSV(r *store.Report, table string) [][]string {
	var rows [][]string
	switch table {
	case "agents":
		rows = append(rows, []string{"user", "conversations", "replies", "first_response_ms_p50", "resolution_ms_p50"})
		for _, a := range r.Agents {
			rows = append(rows, []string{csvCell(a.Email), itoa64(a.Conversations), itoa64(a.Replies), optInt(a.FirstResponse.P50), optInt(a.Resolution.P50)})
		}
	case "channels":
		rows = append(rows, []string{"channel_id", "name", "messages_in", "messages_out", "conversations_opened", "conversations_resolved",
			"callbacks_delivered", "callbacks_retrying", "callbacks_failed", "first_response_ms_p50", "resolution_ms_p50"})
		for _, ch := range r.Channels {
			rows = append(rows, []string{ch.ChannelID, csvCell(ch.Name), itoa64(ch.MessagesIn), itoa64(ch.MessagesOut), itoa64(ch.ConversationsOpened),
				itoa64(ch.ConversationsResolved), itoa64(ch.Callbacks.Delivered), itoa64(ch.Callbacks.Retrying), itoa64(ch.Callbacks.Failed),
				optInt(ch.FirstResponse.P50), optInt(ch.Resolution.P50)})
		}
	default:
		rows = append(rows, []string{"start", "messages_in", "messages_out", "conversations_opened", "conversations_resolved",
			"callbacks_delivered", "callbacks_retrying", "callbacks_failed", "callback_latency_ms_avg", "queue_depth",
			"first_response_ms_p50", "first_response_ms_p90", "resolution_ms_p50", "resolution_ms_p90"})
		for _, b := range r.Buckets {
			rows = append(rows, []string{b.Start.Format(time.RFC3339), itoa64(b.MessagesIn), itoa64(b.MessagesOut), itoa64(b.ConversationsOpened),
				itoa64(b.ConversationsResolved), itoa64(b.CallbacksDelivered), itoa64(b.CallbacksRetrying), itoa64(b.CallbacksFailed),
				itoa64(b.CallbackLatencyAvg()), itoa64(b.QueueDepth), optInt(b.FirstResponse.P50), optInt(b.FirstResponse.P90),
				optInt(b.Resolution.P50), optInt(b.Resolution.P90)})
		}
	}
	return rows
}

func writereportCSV(c echo.Context, r *store.Report, table string) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	name := fmt.Sprintf("botdesk-report-%s-%s-%s.csv", table, r.From.Format("20060102T1504Z"), r.To.Format("20060102T1504Z"))
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	if err := w.WriteAll(reportCSV(r, table)); err != nil {
		return fmt.Errorf("reports: write csv: %w", err)
	}
	return nil
}
