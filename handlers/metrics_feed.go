package handlers

import (
	"io"

	"github.com/botdesk/botdesk/metrics"
)

// feedMetrics writes the change feed's state (store/feed.go); nothing on
// SQLite, which has no feed.
func (s *Server) feedMetrics(w io.Writer) {
	f := s.Store.FeedStats()
	if !f.Enabled {
		return
	}
	listening := 0.0
	if f.Listening {
		listening = 1
	}
	metrics.Header(w, "botdesk_change_feed_listening", "gauge", "1 while this instance's change feed connection LISTENs for the other instances' changes.")
	metrics.Sample(w, "botdesk_change_feed_listening", listening)
	metrics.Header(w, "botdesk_change_feed_received_total", "counter", "Changes received from the other instances.")
	metrics.Sample(w, "botdesk_change_feed_received_total", float64(f.Received))
	metrics.Header(w, "botdesk_change_feed_reconnects_total", "counter", "Times the change feed connection was lost and made again (live views then resync).")
	metrics.Sample(w, "botdesk_change_feed_reconnects_total", float64(f.Reconnects))
	metrics.Header(w, "botdesk_change_feed_notify_errors_total", "counter", "Committed changes that could not be sent to the other instances.")
	metrics.Sample(w, "botdesk_change_feed_notify_errors_total", float64(f.NotifyErrors))
}
