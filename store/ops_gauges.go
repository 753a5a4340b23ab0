package store

import (
	"context"
	"fmt"
	"time"
)

// BotPollGauge is one bot's row for /metrics.
type BotPollGauge struct {
	TelegramID   int64
	ChannelID    string
	State        string
	LastUpdateAt *time.Time
}

// OpsGauges are the per-bot and per-channel backlogs /metrics exposes.
type OpsGauges struct {
	Bots []BotPollGauge
	// SenderBacklog counts outgoing messages still pending, per channel.
	SenderBacklog map[string]int64
	// CallbackBacklog counts outbox events not yet delivered, failed or
	// skipped, per channel.
	CallbackBacklog map[string]int64
}

// OpsGauges reads them. The backlog counts go through the partial index on
// pending messages and the outbox (state, next_attempt_at) index, so a
// scrape stays cheap however large the history is.
func (s *Store) OpsGauges(ctx context.Context) (OpsGauges, error) {
	g := OpsGauges{SenderBacklog: map[string]int64{}, CallbackBacklog: map[string]int64{}}
	db := s.r(ctx)
	if err := db.Raw("SELECT telegram_id, channel_id, state, last_update_at FROM bots ORDER BY telegram_id").Scan(&g.Bots).Error; err != nil {
		return g, fmt.Errorf("store: ops gauges: bots: %w", err)
	}
	type kv struct {
		K string
		N int64
	}
	var rows []kv
	if err := db.Raw("SELECT channel_id AS k, COUNT(*) AS n FROM messages WHERE status = ? GROUP BY channel_id", "pending").Scan(&rows).Error; err != nil {
		return g, fmt.Errorf("store: ops gauges: sender backlog: %w", err)
	}
	for _, r := range rows {
		g.SenderBacklog[r.K] = r.N
	}
	rows = nil
	if err := db.Raw("SELECT channel_id AS k, COUNT(*) AS n FROM outbox WHERE state IN ? GROUP BY channel_id",
		[]string{OutboxStatePending, OutboxStateDelivering}).Scan(&rows).Error; err != nil {
		return g, fmt.Errorf("store: ops gauges: callback backlog: %w", err)
	}
	for _, r := range rows {
		g.CallbackBacklog[r.K] = r.N
	}
	return g, nil
}
