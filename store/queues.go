package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/botdesk/botdesk/models"
)

// QueueName is the name of a channel's queue for one event kind,
// "botdesk-<channel>-<kind>". It must equal callbacks.QueueName, which the
// store cannot import (the callbacks dispatcher imports the store); a test
// in package callbacks keeps the two in step.
func QueueName(channelID, kind string) string {
	return "botdesk-" + channelID + "-" + kind
}

// MaxQueueReceive bounds how many messages one receive call may lease.
const MaxQueueReceive = 100

// enqueueQueueMessage appends an event to a queue, visible at once. The
// (queue, event_id) pair is unique, so enqueueing the same event twice is a
// no-op rather than a duplicate delivery.
func (s *Store) enqueueQueueMessage(ctx context.Context, queue, eventID string, payload []byte, now time.Time) error {
	m := models.QueueMessage{Queue: queue, EventID: eventID, Payload: string(payload), CreatedAt: now.UTC(), VisibleAt: now.UTC()}
	if err := s.w(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&m).Error; err != nil {
		return fmt.Errorf("store: enqueue %s: %w", queue, err)
	}
	return nil
}

// ReceiveQueue leases up to max visible messages of a queue, oldest first:
// each gets a new random receipt, becomes invisible until now+visibility
// and has its receive_count increased. Selecting and leasing happen in one
// write transaction, serialised on SQLite's one writer and under FOR UPDATE
// SKIP LOCKED on PostgreSQL, so two consumers never lease the same message
// at the same time. A message whose
// lease expired without an ack is visible again and leased anew under a
// new receipt, which invalidates the old one.
func (s *Store) ReceiveQueue(ctx context.Context, queue string, now time.Time, visibility time.Duration, max int) ([]models.QueueMessage, error) {
	if max <= 0 {
		max = 1
	}
	if max > MaxQueueReceive {
		max = MaxQueueReceive
	}
	now = now.UTC()
	var msgs []models.QueueMessage
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.skipLocked(s.w(ctx), "").Where("queue = ? AND visible_at <= ?", queue, now).Order("id").Limit(max).Find(&msgs).Error; err != nil {
			return fmt.Errorf("store: receive %s: %w", queue, err)
		}
		for i := range msgs {
			rcpt, err := RandomToken(24)
			if err != nil {
				return err
			}
			rcpt = "rcpt_" + rcpt
			m := &msgs[i]
			m.Receipt, m.VisibleAt, m.ReceiveCount = &rcpt, now.Add(visibility), m.ReceiveCount+1
			err = s.w(ctx).Model(&models.QueueMessage{}).Where("id = ?", m.ID).
				Updates(map[string]any{"receipt": rcpt, "visible_at": m.VisibleAt, "receive_count": m.ReceiveCount}).Error
			if err != nil {
				return fmt.Errorf("store: lease %s: %w", queue, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return msgs, nil
}

// AckQueue deletes the message leased under receipt. A receipt whose lease
// has expired (the message may already be leased again by someone else) or
// that never existed is ErrNotFound.
func (s *Store) AckQueue(ctx context.Context, queue, receipt string, now time.Time) error {
	res := s.w(ctx).Where("queue = ? AND receipt = ? AND visible_at > ?", queue, receipt, now.UTC()).Delete(&models.QueueMessage{})
	if res.Error != nil {
		return fmt.Errorf("store: ack %s: %w", queue, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: ack %s: receipt unknown or expired: %w", queue, ErrNotFound)
	}
	return nil
}

// QueueStat describes one queue for the Webhook tab and /metrics.
type QueueStat struct {
	Queue string
	// Depth counts every message not yet acknowledged, leased or not.
	Depth int64
	// InFlight counts messages currently leased (invisible).
	InFlight int64
	// Oldest is the creation time of the oldest message; nil when empty.
	Oldest *time.Time
}

// QueueStats returns the stats of every non-empty queue, or of the queues
// of one channel when channelID is set, by name.
func (s *Store) QueueStats(ctx context.Context, channelID string, now time.Time) ([]QueueStat, error) {
	type row struct {
		Queue    string
		Depth    int64
		InFlight int64
		Oldest   string
	}
	q := s.r(ctx).Model(&models.QueueMessage{}).
		Select("queue, COUNT(*) AS depth, SUM(CASE WHEN visible_at > ? THEN 1 ELSE 0 END) AS in_flight, MIN(created_at) AS oldest", now.UTC()).
		Group("queue").Order("queue")
	if channelID != "" {
		q = q.Where("queue IN ?", []string{QueueName(channelID, "status"), QueueName(channelID, "mo"), QueueName(channelID, "notify")})
	}
	var rows []row
	if err := q.Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: queue stats: %w", err)
	}
	out := make([]QueueStat, 0, len(rows))
	for _, r := range rows {
		st := QueueStat{Queue: r.Queue, Depth: r.Depth, InFlight: r.InFlight}
		if t, ok := parseDBTime(r.Oldest); ok {
			st.Oldest = &t
		}
		out = append(out, st)
	}
	return out, nil
}

// parseDBTime reads a DATETIME as the SQLite driver writes it; aggregate
// results (MIN) come back as text, not time.Time.
func parseDBTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02T15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
