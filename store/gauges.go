package store

import (
	"context"
	"fmt"
)

// Gauges are the counts /metrics exposes.
type Gauges struct {
	Channels      int64
	Messages      int64
	BotsByState   map[string]int64
	OutboxByState map[string]int64
}

// Gauges counts rows for /metrics. Messages uses MAX(id), which is O(1),
// rather than COUNT(*) over a large table.
func (s *Store) Gauges(ctx context.Context) (Gauges, error) {
	g := Gauges{BotsByState: map[string]int64{}, OutboxByState: map[string]int64{}}
	db := s.r(ctx)
	if err := db.Raw("SELECT COUNT(*) FROM channels").Scan(&g.Channels).Error; err != nil {
		return g, fmt.Errorf("store: gauges: %w", err)
	}
	if err := db.Raw("SELECT COALESCE(MAX(id), 0) FROM messages").Scan(&g.Messages).Error; err != nil {
		return g, fmt.Errorf("store: gauges: %w", err)
	}
	type kv struct {
		K string
		N int64
	}
	var rows []kv
	if err := db.Raw("SELECT state AS k, COUNT(*) AS n FROM bots GROUP BY state").Scan(&rows).Error; err != nil {
		return g, fmt.Errorf("store: gauges: %w", err)
	}
	for _, r := range rows {
		g.BotsByState[r.K] = r.N
	}
	rows = nil
	if err := db.Raw("SELECT state AS k, COUNT(*) AS n FROM outbox GROUP BY state").Scan(&rows).Error; err != nil {
		return g, fmt.Errorf("store: gauges: %w", err)
	}
	for _, r := range rows {
		g.OutboxByState[r.K] = r.N
	}
	return g, nil
}
