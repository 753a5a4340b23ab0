package store

import (
	"context"
	"fmt"
)

// SendClaim is what ClaimSend found before taking the message.
type SendClaim struct {
	// Taken is false when the message is no longer pending (its outcome
	// is recorded) or is gone: there is nothing to send.
	Taken bool
	// Reclaimed is true when an earlier claim of another instance or
	// epoch was left without an outcome: that sender died (or lost the
	// bot) after claiming, and may or may not have reached Telegram. This
	// send is then the one that can deliver a message twice.
	Reclaimed bool
	// PrevInstance is the holder of that earlier claim.
	PrevInstance string
}

// ClaimSend claims a pending outgoing message for the holder of lease l
// before Telegram is called, in one transaction: the lease is checked
// (ErrFenced when it moved), the message must still be pending, and the
// claim row records instance and epoch. FinishOutgoing removes the claim
// with the outcome.
func (s *Store) ClaimSend(ctx context.Context, messageID int64, l Lease) (SendClaim, error) {
	var c SendClaim
	err := s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.fence(ctx, &l); err != nil {
			return err
		}
		db := s.w(ctx)
		var n int64
		if err := db.Raw("SELECT COUNT(*) FROM messages WHERE id = ? AND direction = 'out' AND status = 'pending' AND bot_telegram_id = ?",
			messageID, l.BotTelegramID).Scan(&n).Error; err != nil {
			return fmt.Errorf("store: claim send %d: %w", messageID, err)
		}
		if n == 0 {
			return nil
		}
		var prev []struct {
			InstanceID string
			Epoch      int64
		}
		if err := db.Raw("SELECT instance_id, epoch FROM send_claims WHERE message_id = ?", messageID).Scan(&prev).Error; err != nil {
			return fmt.Errorf("store: claim send %d: %w", messageID, err)
		}
		if len(prev) > 0 && (prev[0].InstanceID != l.Owner || prev[0].Epoch != l.Epoch) {
			c.Reclaimed, c.PrevInstance = true, prev[0].InstanceID
		}
		err := db.Exec(`INSERT INTO send_claims (message_id, instance_id, epoch, claimed_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (message_id) DO UPDATE SET instance_id = excluded.instance_id, epoch = excluded.epoch,
				claimed_at = excluded.claimed_at`, messageID, l.Owner, l.Epoch, s.now().UnixMilli()).Error
		if err != nil {
			return fmt.Errorf("store: claim send %d: %w", messageID, err)
		}
		c.Taken = true
		return nil
	})
	if err != nil {
		return SendClaim{}, err
	}
	return c, nil
}
