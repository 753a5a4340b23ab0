package handlers

import (
	"context"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/botdesk/botdesk/metrics"
)

// opsMetrics writes the per-bot and per-channel gauges read from the
// database: how long ago each bot last received an update, and the sender
// and callback backlogs per channel.
func (s *Server) opsMetrics(ctx context.Context, w io.Writer) {
	g, err := s.Store.OpsGauges(ctx)
	if err != nil {
		s.Log.ErrorContext(ctx, "metrics", "err", err)
		return
	}
	now := time.Now()
	metrics.Header(w, "botdesk_bot_last_update_age_seconds", "gauge", "Seconds since the bot last received a Telegram update (absent until its first).")
	for _, b := range g.Bots {
		if b.LastUpdateAt != nil {
			metrics.Sample(w, "botdesk_bot_last_update_age_seconds", max(0, now.Sub(*b.LastUpdateAt).Seconds()),
				"bot_id", strconv.FormatInt(b.TelegramID, 10), "channel", b.ChannelID)
		}
	}
	metrics.Header(w, "botdesk_sender_backlog", "gauge", "Outgoing messages waiting to be sent to Telegram, per channel.")
	for _, ch := range sortedKeys(g.SenderBacklog) {
		metrics.Sample(w, "botdesk_sender_backlog", float64(g.SenderBacklog[ch]), "channel", ch)
	}
	metrics.Header(w, "botdesk_callback_backlog", "gauge", "Callback events not yet delivered, failed or skipped, per channel.")
	for _, ch := range sortedKeys(g.CallbackBacklog) {
		metrics.Sample(w, "botdesk_callback_backlog", float64(g.CallbackBacklog[ch]), "channel", ch)
	}
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
