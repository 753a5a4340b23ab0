package store

import (
	"context"
	"fmt"

	"github.com/botdesk/botdesk/models"
)

// PendingOutgoing returns the next message to send in each chat: for every
// (bot, chat) with pending outgoing messages, the oldest one, ordered oldest
// first, at most limit rows. Returning only chat heads keeps a long backlog
// in one slow group from hiding every other chat, and lets the sender keep
// per-chat order by sending a chat's next message only after the previous
// one has a result.
//
// Nothing is marked in the database: a message stays "pending" until
// FinishOutgoing records its outcome, so a message whose send was cut short
// by a crash is simply picked up again after the restart.
//
// With owned set, only the bots whose lease this instance holds are
// looked at: only a bot's owner sends through it (store/leases.go).
func (s *Store) PendingOutgoing(ctx context.Context, limit int, owned bool) ([]models.Message, error) {
	if limit <= 0 {
		limit = 100
	}
	var msgs []models.Message
	mine, args := "", []any{}
	if owned {
		mine = " AND bot_telegram_id IN (SELECT bot_telegram_id FROM bot_leases WHERE owner_id = ?)"
		args = append(args, s.instance)
	}
	err := s.r(ctx).Raw(`SELECT * FROM messages WHERE id IN (
			SELECT MIN(id) FROM messages WHERE status = 'pending' AND direction = 'out'`+mine+`
			GROUP BY bot_telegram_id, chat_id)
		ORDER BY id LIMIT ?`, append(args, limit)...).Scan(&msgs).Error
	if err != nil {
		return nil, fmt.Errorf("store: pending outgoing: %w", err)
	}
	return msgs, nil
}

// OutgoingPending reports whether an outgoing message is still waiting for
// its outcome. The sender checks it right before sending: its list of chat
// heads may have been read just before another send of the same message
// committed, and sending from that stale list would deliver it twice.
func (s *Store) OutgoingPending(ctx context.Context, id int64) (bool, error) {
	var n int64
	err := s.r(ctx).Raw("SELECT COUNT(*) FROM messages WHERE id = ? AND direction = 'out' AND status = 'pending'", id).Scan(&n).Error
	if err != nil {
		return false, fmt.Errorf("store: outgoing %d pending: %w", id, err)
	}
	return n == 1, nil
}

// SendOutcome is the result of one send attempt that is final: Sent with
// Telegram's message id, or failed with Telegram's error code (0 when
// Telegram never answered) and a token-free description.
type SendOutcome struct {
	Sent              bool
	TelegramMessageID int64
	ErrorCode         int
	ErrorDescription  string
	// Media is Telegram's description of a sent photo or document (file
	// ids), replacing the upload's name and size; "" keeps what is stored.
	Media string
}

// FinishOutgoing records the outcome of a pending outgoing message and
// returns the updated row. Run it in the WithTx that also enqueues the
// "status" event. A message that is gone (its channel was deleted) or no
// longer pending is ErrNotFound, so an outcome is recorded at most once.
func (s *Store) FinishOutgoing(ctx context.Context, id int64, o SendOutcome) (*models.Message, error) {
	var msg models.Message
	err := s.WithTx(ctx, func(ctx context.Context) error {
		fields := map[string]any{"status": "failed", "error_code": o.ErrorCode, "error_description": o.ErrorDescription}
		if o.Sent {
			fields = map[string]any{"status": "sent", "telegram_message_id": o.TelegramMessageID, "error_code": 0, "error_description": ""}
			if o.Media != "" {
				fields["media"] = o.Media
			}
		}
		res := s.w(ctx).Model(&models.Message{}).Where("id = ? AND direction = 'out' AND status = 'pending'", id).Updates(fields)
		if res.Error != nil {
			return fmt.Errorf("store: finish outgoing %d: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("store: finish outgoing %d: %w", id, ErrNotFound)
		}
		if err := s.w(ctx).Take(&msg, "id = ?", id).Error; err != nil {
			return notFound("finish outgoing", err)
		}
		// The upload was kept only until its outcome: Telegram holds a sent
		// file now, and a failed one is not retried.
		if err := s.w(ctx).Exec("DELETE FROM outgoing_files WHERE message_id = ?", id).Error; err != nil {
			return fmt.Errorf("store: finish outgoing %d: drop file: %w", id, err)
		}
		if err := s.w(ctx).Exec("DELETE FROM send_claims WHERE message_id = ?", id).Error; err != nil {
			return fmt.Errorf("store: finish outgoing %d: drop claim: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &msg, nil
}
