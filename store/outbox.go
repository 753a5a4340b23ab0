package store

import (
	"context"
	"fmt"
	"time"

	"github.com/botdesk/botdesk/models"
)

// States of an outbox row. A row is "pending" until delivered; a pending row
// with attempts > 0 is a retry waiting for next_attempt_at ("retrying" in
// the delivery log). "delivering" is a lease held by the dispatcher, whose
// expiry is next_attempt_at, so a row claimed by a process that crashed
// becomes due again by itself.
const (
	OutboxStatePending    = "pending"
	OutboxStateDelivering = "delivering"
	OutboxStateDelivered  = "delivered"
	OutboxStateFailed     = "failed"
	OutboxStateSkipped    = "skipped"
)

// OutboxStates lists every state, for filters.
var OutboxStates = []string{OutboxStatePending, OutboxStateDelivering, OutboxStateDelivered, OutboxStateFailed, OutboxStateSkipped}

// OutboxKinds lists the event kinds, for filters.
var OutboxKinds = []string{"status", "mo", "notify"}

// ReclaimDeliveries makes due again the rows left "delivering" by this
// instance id in an earlier life or by instances that are gone (no
// heartbeat since liveSince). It is called when the dispatcher starts; a
// live instance's leases are never taken, they expire by themselves if it
// stalls. The receiver may or may not have got a reclaimed event (the same
// webhook-id lets it drop the duplicate).
func (s *Store) ReclaimDeliveries(ctx context.Context, now, liveSince time.Time) (int64, error) {
	res := s.w(ctx).Model(&models.OutboxEvent{}).Where("state = ?", OutboxStateDelivering).
		Where("claimed_by = ? OR claimed_by NOT IN (SELECT id FROM instances WHERE heartbeat_at >= ?)", s.instance, liveSince.UnixMilli()).
		Updates(map[string]any{"state": OutboxStatePending, "next_attempt_at": now.UTC(), "claimed_by": ""})
	if res.Error != nil {
		return 0, fmt.Errorf("store: reclaim deliveries: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// ReleaseDeliveries hands back the rows this instance leased but never
// started (a stop came first), so another instance delivers them now
// rather than when the lease expires. Call it once nothing is in flight.
func (s *Store) ReleaseDeliveries(ctx context.Context, now time.Time) (int64, error) {
	res := s.w(ctx).Model(&models.OutboxEvent{}).Where("state = ? AND claimed_by = ?", OutboxStateDelivering, s.instance).
		Updates(map[string]any{"state": OutboxStatePending, "next_attempt_at": now.UTC(), "claimed_by": ""})
	if res.Error != nil {
		return 0, fmt.Errorf("store: release deliveries: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// ReleaseDelivery hands back one row this instance leased but did not
// attempt, due again at at.
func (s *Store) ReleaseDelivery(ctx context.Context, id int64, at time.Time) (bool, error) {
	res := s.w(ctx).Model(&models.OutboxEvent{}).Where("id = ? AND state = ? AND claimed_by = ?", id, OutboxStateDelivering, s.instance).
		Updates(map[string]any{"state": OutboxStatePending, "next_attempt_at": at.UTC(), "claimed_by": ""})
	if res.Error != nil {
		return false, fmt.Errorf("store: release delivery %d: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ClaimDueOutbox leases up to limit due rows for delivery: pending rows
// whose next_attempt_at has come, and rows whose "delivering" lease expired.
// Rows listed in exclude (deliveries still in flight in this process) are
// never returned. An mo row is held back while an older mo row of the same
// channel and ordering key (the chat) is still pending or delivering, so a
// receiver sees each chat's messages in order even across retries. The
// leased rows get state "delivering" and next_attempt_at = now + lease.
// It is one short write transaction with no network I/O inside.
func (s *Store) ClaimDueOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int, exclude []int64) ([]models.OutboxEvent, error) {
	now = now.UTC()
	var rows []models.OutboxEvent
	err := s.WithTx(ctx, func(ctx context.Context) error {
		q := s.w(ctx).Table("outbox AS o").
			Where("o.state IN ? AND o.next_attempt_at <= ?", []string{OutboxStatePending, OutboxStateDelivering}, now).
			Where(`NOT (o.kind = 'mo' AND o.ordering_key <> '' AND EXISTS (
				SELECT 1 FROM outbox p WHERE p.channel_id = o.channel_id AND p.kind = 'mo'
				AND p.ordering_key = o.ordering_key AND p.id < o.id AND p.state IN ?))`,
				[]string{OutboxStatePending, OutboxStateDelivering})
		if len(exclude) > 0 {
			q = q.Where("o.id NOT IN ?", exclude)
		}
		if err := s.skipLocked(q, "o").Select("o.*").Order("o.id").Limit(limit).Find(&rows).Error; err != nil {
			return fmt.Errorf("store: claim outbox: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]int64, len(rows))
		for i := range rows {
			ids[i] = rows[i].ID
			rows[i].State = OutboxStateDelivering
			rows[i].NextAttemptAt = now.Add(lease)
		}
		err := s.w(ctx).Model(&models.OutboxEvent{}).Where("id IN ?", ids).
			Updates(map[string]any{"state": OutboxStateDelivering, "next_attempt_at": now.Add(lease), "claimed_by": s.instance}).Error
		if err != nil {
			return fmt.Errorf("store: lease outbox: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// OutboxResult is the new state of a row after an attempt.
type OutboxResult struct {
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	DeliveredAt   *time.Time
}

// FinishAttempt records one delivery attempt and the row's new state in one
// transaction. It only changes a row the caller still leases (state
// "delivering"); a row deleted meanwhile (its channel was deleted) is
// ignored. Extra runs inside the same transaction, for the 410 case that
// also disables the channel and enqueues a notification.
func (s *Store) FinishAttempt(ctx context.Context, id int64, a models.DeliveryAttempt, r OutboxResult, extra func(ctx context.Context) error) error {
	return s.FinishAttempts(ctx, []AttemptRecord{{OutboxID: id, Attempt: a, Result: r, Extra: extra}})
}

// AttemptRecord is one finished attempt for [Store.FinishAttempts].
type AttemptRecord struct {
	OutboxID int64
	Attempt  models.DeliveryAttempt
	Result   OutboxResult
	// Extra, if set, runs in the same transaction after the row changed
	// (the 410 case); it is skipped for a row no longer leased.
	Extra func(ctx context.Context) error
}

// FinishAttempts records several attempts, each exactly as FinishAttempt
// would, in one transaction (or the caller's): the dispatcher groups the
// attempts that end at about the same time with its next claim, so the
// commit (an fsync under synchronous=FULL) is paid once per group instead
// of once per delivery. All or none are recorded; on error every row stays
// leased and is retried after its lease.
func (s *Store) FinishAttempts(ctx context.Context, recs []AttemptRecord) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		outs := make([]attemptOutcome, 0, len(recs))
		for _, rec := range recs {
			out, err := s.finishAttempt(ctx, rec)
			if err != nil {
				return err
			}
			if out.channelID != "" {
				outs = append(outs, out)
			}
		}
		return rollupAttempts(ctx, gormExec{s.w(ctx)}, outs)
	})
}

// finishAttempt is one record's two statements; the caller holds the tx.
// The conditional UPDATE both checks the lease and moves the row, and the
// attempt is logged only for a row that was still leased. It returns the
// attempt for the report rollup (channelID "" when nothing was recorded).
func (s *Store) finishAttempt(ctx context.Context, rec AttemptRecord) (attemptOutcome, error) {
	r := rec.Result
	var delivered any
	if r.DeliveredAt != nil {
		delivered = r.DeliveredAt.UTC()
	}
	var channelID string
	err := s.w(ctx).Raw(`UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?,
		delivered_at = COALESCE(?, delivered_at) WHERE id = ? AND state = ? RETURNING channel_id`,
		r.State, r.Attempts, r.NextAttemptAt.UTC(), r.LastError, delivered, rec.OutboxID, OutboxStateDelivering).Scan(&channelID).Error
	if err != nil {
		return attemptOutcome{}, fmt.Errorf("store: update outbox: %w", err)
	}
	if channelID == "" {
		return attemptOutcome{}, nil // no longer leased by us, or deleted with its channel
	}
	a := rec.Attempt
	err = s.w(ctx).Exec(`INSERT INTO delivery_attempts (outbox_id, at, url, status_code, latency_ms, outcome, error)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, rec.OutboxID, a.At.UTC(), a.URL, a.StatusCode, a.LatencyMS, a.Outcome, a.Error).Error
	if err != nil {
		return attemptOutcome{}, fmt.Errorf("store: record attempt: %w", err)
	}
	out := attemptOutcome{channelID: channelID, at: a.At, state: r.State, attempted: true, latencyMS: a.LatencyMS}
	if rec.Extra != nil {
		return out, rec.Extra(ctx)
	}
	return out, nil
}

// OutboxSkip is a leased row with nowhere to POST it, and why.
type OutboxSkip struct {
	ID     int64
	Reason string
}

// SkipOutbox marks leased rows "skipped": HTTP Protocol is off (or the
// URL for their kind is empty), so there is nowhere to POST them. The
// events are kept and can be resent; queues are fed at enqueue time,
// independently. The dispatcher skips the rows it claims in the claiming
// transaction itself, so an event nobody receives costs no commit of its
// own.
func (s *Store) SkipOutbox(ctx context.Context, skips []OutboxSkip) error {
	if len(skips) == 0 {
		return nil
	}
	return s.WithTx(ctx, func(ctx context.Context) error {
		outs := make([]attemptOutcome, 0, len(skips))
		for _, sk := range skips {
			var channelID string
			err := s.w(ctx).Raw("UPDATE outbox SET state = ?, last_error = ? WHERE id = ? AND state = ? RETURNING channel_id",
				OutboxStateSkipped, sk.Reason, sk.ID, OutboxStateDelivering).Scan(&channelID).Error
			if err != nil {
				return fmt.Errorf("store: skip outbox: %w", err)
			}
			if channelID != "" {
				outs = append(outs, attemptOutcome{channelID: channelID, at: s.now(), state: OutboxStateSkipped})
			}
		}
		return rollupAttempts(ctx, gormExec{s.w(ctx)}, outs)
	})
}

// ResendOutbox puts a channel's event back to pending with a fresh retry
// schedule (attempts 0, due now). Earlier attempts stay in the log. A row
// being delivered right now is refused with a validation error.
func (s *Store) ResendOutbox(ctx context.Context, channelID, eventID string) (*models.OutboxEvent, error) {
	var ev models.OutboxEvent
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Take(&ev, "channel_id = ? AND event_id = ?", channelID, eventID).Error; err != nil {
			return notFound("resend event", err)
		}
		if ev.State == OutboxStateDelivering {
			return models.Invalid("event_id", "This event is being delivered right now; wait for the attempt to finish.")
		}
		left := ev.State != OutboxStatePending // delivered, failed or skipped: back in the queue
		ev.State, ev.Attempts, ev.NextAttemptAt, ev.LastError = OutboxStatePending, 0, s.now(), ""
		err := s.w(ctx).Model(&models.OutboxEvent{}).Where("id = ?", ev.ID).
			Updates(map[string]any{"state": ev.State, "attempts": 0, "next_attempt_at": ev.NextAttemptAt, "last_error": "", "delivered_at": nil}).Error
		if err != nil || !left {
			return err
		}
		return rollupEnqueued(ctx, gormExec{s.w(ctx)}, channelID, 1, ev.NextAttemptAt)
	})
	if err != nil {
		return nil, err
	}
	return &ev, nil
}

// DeliveryFilter narrows the delivery log.
type DeliveryFilter struct {
	Kind   string // "" = all
	State  string // "" = all; "retrying" = pending with attempts > 0
	Before int64  // outbox id cursor, 0 = newest
	Limit  int
}

// DeliveryEntry is one event with its attempts, oldest attempt first.
type DeliveryEntry struct {
	Event    models.OutboxEvent
	Attempts []models.DeliveryAttempt
}

// DeliveryPage is one page of a channel's delivery log, newest first.
type DeliveryPage struct {
	Entries []DeliveryEntry
	// Before is the cursor of the next (older) page; 0 when none.
	Before int64
}

// ListDeliveries returns a channel's events, newest first, with every
// attempt of each.
func (s *Store) ListDeliveries(ctx context.Context, channelID string, f DeliveryFilter) (DeliveryPage, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	q := s.r(ctx).Where("channel_id = ?", channelID).Order("id DESC").Limit(f.Limit + 1)
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	switch f.State {
	case "":
	case "retrying":
		q = q.Where("state = ? AND attempts > 0", OutboxStatePending)
	default:
		q = q.Where("state = ?", f.State)
	}
	var evs []models.OutboxEvent
	if err := q.Find(&evs).Error; err != nil {
		return DeliveryPage{}, fmt.Errorf("store: list deliveries: %w", err)
	}
	var p DeliveryPage
	if len(evs) > f.Limit {
		evs = evs[:f.Limit]
		p.Before = evs[f.Limit-1].ID
	}
	if len(evs) == 0 {
		return p, nil
	}
	ids := make([]int64, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	var atts []models.DeliveryAttempt
	if err := s.r(ctx).Where("outbox_id IN ?", ids).Order("id").Find(&atts).Error; err != nil {
		return DeliveryPage{}, fmt.Errorf("store: list attempts: %w", err)
	}
	byID := map[int64][]models.DeliveryAttempt{}
	for _, a := range atts {
		byID[a.OutboxID] = append(byID[a.OutboxID], a)
	}
	for _, e := range evs {
		p.Entries = append(p.Entries, DeliveryEntry{Event: e, Attempts: byID[e.ID]})
	}
	return p, nil
}

// LastDisable returns the most recent attempt of a channel that answered
// 410 Gone (and so turned HTTP Protocol off), or ErrNotFound.
func (s *Store) LastDisable(ctx context.Context, channelID string) (*models.DeliveryAttempt, error) {
	var a models.DeliveryAttempt
	err := s.r(ctx).Table("delivery_attempts AS a").Select("a.*").
		Joins("JOIN outbox o ON o.id = a.outbox_id").
		Where("o.channel_id = ? AND a.outcome = ?", channelID, "disable").
		Order("a.id DESC").Limit(1).Take(&a).Error
	if err != nil {
		return nil, notFound("last disable", err)
	}
	return &a, nil
}

// OutboxBacklog counts rows not yet finished (pending or delivering), for
// /metrics.
func (s *Store) OutboxBacklog(ctx context.Context) (int64, error) {
	var n int64
	err := s.r(ctx).Model(&models.OutboxEvent{}).Where("state IN ?", []string{OutboxStatePending, OutboxStateDelivering}).Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("store: outbox backlog: %w", err)
	}
	return n, nil
}
