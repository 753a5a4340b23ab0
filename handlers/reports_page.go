package handlers

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// overviewCharts are the channel Overview's charts: the last 24 hours in
// hours (the current one included), or with rng "30d" the last 30 days.
func (s *Server) overviewCharts(c echo.Context, channelID, rng string) (string, []views.Chart, error) {
	now := time.Now().UTC()
	f := store.ReportFilter{ChannelIDs: []string{channelID}, From: now.Truncate(time.Hour).Add(-23 * time.Hour), To: now, Bucket: store.BucketHour}
	period := tr(c, "hourly over the last 24 hours")
	if rng == "30d" {
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		f.From, f.Bucket, period = today.AddDate(0, 0, -29), store.BucketDay, tr(c, "daily over the last 30 days")
	} else {
		rng = "24h"
	}
	ctx := c.Request().Context()
	rep, err := s.Store.Report(ctx, f)
	if err != nil {
		return "", nil, err
	}
	_, health, err := s.Store.PollerHealth(ctx, channelID, rep.From, rep.To, rep.Bucket)
	if err != nil {
		return "", nil, err
	}
	return rng, views.ReportCharts(ctx, "ov-"+rng, period, rep, health), nil
}

// reportsPage is the Reports page: a date range (whole UTC days, the end
// day included), one channel or all, in days or hours.
func (s *Server) reportsPage(c echo.Context) error {
	ctx := c.Request().Context()
	channels, err := s.Store.ChannelChoices(ctx)
	if err != nil {
		return err
	}
	today := time.Now().UTC().Format("2006-01-02")
	v := views.ReportsView{ChannelID: c.QueryParam("channel_id"), Channels: channels, From: c.QueryParam("from"), To: c.QueryParam("to"), Bucket: c.QueryParam("bucket")}
	if v.To == "" {
		v.To = today
	}
	if v.From == "" {
		t, _ := time.Parse("2006-01-02", v.To)
		if t.IsZero() {
			t, _ = time.Parse("2006-01-02", today)
		}
		v.From = t.AddDate(0, 0, -6).Format("2006-01-02")
	}
	if v.Bucket != store.BucketHour {
		v.Bucket = store.BucketDay
	}
	q := url.Values{"from": {v.From}, "to": {v.To}, "bucket": {v.Bucket}}
	if v.ChannelID != "" {
		q.Set("channel_id", v.ChannelID)
	}
	v.Query = q.Encode()
	status := http.StatusOK
	rq, err := s.parseReportQueryValues(q, time.Now())
	if err == nil {
		v.Report, err = s.loadReport(c, rq)
	}
	if val, ok := models.AsValidation(err); ok {
		status, v.Error, v.Field, err = http.StatusUnprocessableEntity, val.Message, val.Field, nil
	}
	if err != nil {
		return err
	}
	if v.Report != nil {
		var health []store.HealthBucket
		if v.ChannelID != "" {
			if _, health, err = s.Store.PollerHealth(ctx, v.ChannelID, v.Report.From, v.Report.To, v.Report.Bucket); err != nil {
				return err
			}
		}
		v.Charts = views.ReportCharts(ctx, "rep", reportPeriod(c, v.Report), v.Report, health)
	}
	p := s.page(c, "Reports", "reports", views.Crumb{Label: "Reports"})
	if isHTMX(c) {
		return s.render(c, status, views.ReportsBody(v))
	}
	return s.render(c, status, views.ReportsPage(p, v))
}

// reportPeriod names a report's window for the charts' text summaries.
func reportPeriod(c echo.Context, r *store.Report) string {
	ctx := c.Request().Context()
	if r.Bucket == store.BucketHour {
		return tr(c, "hourly from %s to %s", views.WhenIn(ctx, r.From), views.WhenIn(ctx, r.To))
	}
	return tr(c, "daily from %s to %s", views.WhenIn(ctx, r.From), views.WhenIn(ctx, r.To))
}
