package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"

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
// event_id ("evt_" + a ULID, see newEventIDs) is what receivers
// deduplicate on.
func (s *Store) EnqueueEvent(ctx context.Context, channelID, kind, orderingKey string, payload []byte) error {
	if err := checkEvent(kind, payload); err != nil {
		return err
	}
	ids, err := newEventIDs(1)
	if err != nil {
		return fmt.Errorf("store: enqueue %s event: %w", kind, err)
	}
	now := s.now()
	ev := &models.OutboxEvent{EventID: ids[0], ChannelID: channelID, Kind: kind, OrderingKey: orderingKey,
		Payload: string(payload), State: "pending", NextAttemptAt: now, CreatedAt: now}
	// The queue copy is written in the same transaction as the outbox row,
	// so with Message Queue Monitoring on an event is in its queue if and
	// only if the change committed, whatever happens to HTTP delivery.
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Create(ev).Error; err != nil {
			return fmt.Errorf("store: enqueue %s event: %w", kind, err)
		}
		if err := rollupEnqueued(ctx, gormExec{s.w(ctx)}, channelID, 1, now); err != nil {
			return err
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

// checkEvent refuses an event the outbox cannot hold: a kind outside
// outbox.kind's CHECK constraint, or a payload that is not JSON.
func checkEvent(kind string, payload []byte) error {
	switch kind {
	case OutboxStatus, OutboxMO, OutboxNotify:
	default:
		return fmt.Errorf("store: enqueue event: unknown kind %q", kind)
	}
	if !json.Valid(payload) {
		return fmt.Errorf("store: enqueue %s event: payload is not JSON", kind)
	}
	return nil
}

// outboxRow is one event for enqueueEvents.
type outboxRow struct {
	kind, orderingKey string
	payload           []byte
}

// outboxCols and queueCols are the bound columns per row of the multi-row
// inserts in enqueueEvents.
const (
	outboxCols = 7
	queueCols  = 5
)

// enqueueEvents is EnqueueEvent for many events of one channel at once,
// for the ingest's transaction: the same rows (and queue copies when
// queueOn, the channel's queue_enabled as read in that transaction), written
// with multi-row INSERTs on conn, the transaction's connection. Rows are
// inserted in the order of evs, so outbox ids keep that order.
func (s *Store) enqueueEvents(ctx context.Context, conn *ingestConn, channelID string, queueOn bool, evs []outboxRow, now time.Time) error {
	if len(evs) == 0 {
		return nil
	}
	ids, err := newEventIDs(len(evs))
	if err != nil {
		return fmt.Errorf("store: enqueue events: %w", err)
	}
	for _, ev := range evs {
		if err := checkEvent(ev.kind, ev.payload); err != nil {
			return err
		}
	}
	step := rowsPerChunk(outboxCols)
	for lo := 0; lo < len(evs); lo += step {
		hi := min(lo+step, len(evs))
		args := make([]any, 0, outboxCols*(hi-lo))
		for i := lo; i < hi; i++ {
			args = append(args, ids[i], channelID, evs[i].kind, evs[i].orderingKey, string(evs[i].payload), now, now)
		}
		_, err := conn.ExecContext(ctx, `INSERT INTO outbox (event_id, channel_id, kind, ordering_key, payload, next_attempt_at, created_at)
			VALUES `+valuesList(hi-lo, outboxCols), args...)
		if err != nil {
			return fmt.Errorf("store: enqueue events: %w", err)
		}
	}
	if err := rollupEnqueued(ctx, conn, channelID, len(evs), now); err != nil {
		return err
	}
	if !queueOn {
		return nil
	}
	// The queue copies are written in the same transaction as the outbox
	// rows, as EnqueueEvent does.
	at := now.UTC()
	step = rowsPerChunk(queueCols)
	for lo := 0; lo < len(evs); lo += step {
		hi := min(lo+step, len(evs))
		args := make([]any, 0, queueCols*(hi-lo))
		for i := lo; i < hi; i++ {
			args = append(args, QueueName(channelID, evs[i].kind), ids[i], string(evs[i].payload), at, at)
		}
		_, err := conn.ExecContext(ctx, `INSERT INTO queue_messages (queue, event_id, payload, created_at, visible_at)
			VALUES `+valuesList(hi-lo, queueCols)+` ON CONFLICT DO NOTHING`, args...)
		if err != nil {
			return fmt.Errorf("store: enqueue events: queue copies: %w", err)
		}
	}
	return nil
}

// newEventIDs returns n event ids: "evt_" and a ULID (26 Crockford base32
// characters: the time in milliseconds, then 80 random bits), from one read
// of the random source. Ids made later sort after earlier ones, so the
// event_id index (outbox's UNIQUE, and queue_messages') grows at its right
// edge: with random ids every insert landed on its own page of the index,
// and a batch of 100 events rewrote ~70 of them at each commit (a third of
// the ingest's WAL frames, see bench/tuning.md "Ingest pass 2"). Receivers
// only ever compare event ids; 80 random bits per millisecond keep them
// unique, and the UNIQUE constraint still guards it.
func newEventIDs(n int) ([]string, error) {
	const size = 10 // random bytes per id
	raw := make([]byte, n*size)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("random event ids: %w", err)
	}
	ms := uint64(time.Now().UnixMilli())
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "evt_" + ulid(ms, raw[i*size:(i+1)*size])
	}
	return ids, nil
}

// crockford is the ULID alphabet: base32 without I, L, O and U.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ulid encodes a 48-bit millisecond time and 10 random bytes as a ULID.
func ulid(ms uint64, rnd []byte) string {
	var out [26]byte
	for i := 9; i >= 0; i-- {
		out[i] = crockford[ms&31]
		ms >>= 5
	}
	// 80 random bits, 5 at a time, most significant first.
	var acc uint64
	bits, j := 0, 10
	for _, b := range rnd {
		acc = acc<<8 | uint64(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out[j] = crockford[(acc>>uint(bits))&31]
			j++
		}
	}
	return string(out[:])
}
