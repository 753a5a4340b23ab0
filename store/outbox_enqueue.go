package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/botdesk/botdesk/models"
)

// Outbox kinds, matching the CHECK constraint on outbox.kind.
const (
	OutboxStatus = "status"
	OutboxMO     = "mo"
	OutboxNotify = "notify"
)

// EnqueueEvent adds one pending event to the transactional outbox for the
// channel's callbacks and queues. Call it inside the WithTx that makes the
// change the event describes, so the event exists if and only if the change
// committed. payload must be the JSON of a callbacks event; orderingKey
// groups events that must be delivered in order (e.g. "bot:<id>"). The
// event_id ("evt_" + random) is what receivers deduplicate on.
func (s *Store) EnqueueEvent(ctx context.Context, channelID, kind, orderingKey string, payload []byte) error {
	switch kind {
	case OutboxStatus, OutboxMO, OutboxNotify:
	default:
		return fmt.Errorf("store: enqueue event: unknown kind %q", kind)
	}
	if !json.Valid(payload) {
		return fmt.Errorf("store: enqueue %s event: payload is not JSON", kind)
	}
	id, err := RandomToken(18)
	if err != nil {
		return fmt.Errorf("store: enqueue %s event: %w", kind, err)
	}
	now := s.now()
	ev := &models.OutboxEvent{EventID: "evt_" + id, ChannelID: channelID, Kind: kind, OrderingKey: orderingKey,
		Payload: string(payload), State: "pending", NextAttemptAt: now, CreatedAt: now}
	// The queue copy is written in the same transaction as the outbox row,
	// so with Message Queue Monitoring on an event is in its queue if and
	// only if the change committed, whatever happens to HTTP delivery.
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Create(ev).Error; err != nil {
			return fmt.Errorf("store: enqueue %s event: %w", kind, err)
		}
		var queueOn bool
		if err := s.w(ctx).Model(&models.Channel{}).Select("queue_enabled").Where("id = ?", channelID).Scan(&queueOn).Error; err != nil {
			return fmt.Errorf("store: enqueue %s event: %w", kind, err)
		}
		if !queueOn {
			return nil
		}
		return s.enqueueQueueMessage(ctx, QueueName(channelID, kind), ev.EventID, payload, now)
	})
}
