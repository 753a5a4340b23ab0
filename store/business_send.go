package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/botdesk/botdesk/models"
)

// The one rule for sending on behalf of a business account (workbench
// replies and the sending API alike): the connection is one the channel's
// current bot has, the account has not disconnected it, and it lets the
// bot reply. Telegram would refuse the rest after the message was queued;
// saying so up front tells the sender why, in words.

// CheckBusinessSend applies the rule for a send through connection id of
// the channel's bot: nil when it may be used, a validation error of the
// field business_connection_id otherwise, ErrNoBot without a bot.
func (s *Store) CheckBusinessSend(ctx context.Context, channelID, id string) error {
	bot, err := s.BotByChannel(ctx, channelID)
	if errors.Is(err, ErrNotFound) {
		return ErrNoBot
	}
	if err != nil {
		return err
	}
	return s.checkBusinessSend(ctx, channelID, bot.TelegramID, id)
}

func (s *Store) checkBusinessSend(ctx context.Context, channelID string, botTelegramID int64, id string) error {
	var rows []models.BusinessConnection
	if err := s.w(ctx).Where("id = ? AND channel_id = ? AND bot_telegram_id = ?", id, channelID, botTelegramID).
		Limit(1).Find(&rows).Error; err != nil {
		return fmt.Errorf("store: business connection %q: %w", id, err)
	}
	switch {
	case len(rows) == 0:
		return models.Invalid("business_connection_id", "The channel's bot has no business connection with this id.")
	case !rows[0].Enabled:
		return models.Invalid("business_connection_id", "The business account has disconnected the bot (or paused it), so nothing can be sent in its chats.")
	case !rows[0].CanReply:
		return models.Invalid("business_connection_id", "The business account does not let the bot reply; its owner can allow it in Telegram's business settings (Chatbots).")
	}
	return nil
}
