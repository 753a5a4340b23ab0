package store

import (
	"context"
	"fmt"

	"github.com/botdesk/botdesk/models"
)

// BotByChannel returns the bot connected to a channel, or ErrNotFound.
func (s *Store) BotByChannel(ctx context.Context, channelID string) (*models.Bot, error) {
	var b models.Bot
	if err := s.r(ctx).Take(&b, "channel_id = ?", channelID).Error; err != nil {
		return nil, notFound("bot by channel", err)
	}
	return &b, nil
}

// ListChats returns the groups, supergroups and channels a channel's bot is in.
func (s *Store) ListChats(ctx context.Context, channelID string) ([]models.Chat, error) {
	var cs []models.Chat
	if err := s.r(ctx).Where("channel_id = ?", channelID).Order("added_at DESC, id DESC").Find(&cs).Error; err != nil {
		return nil, fmt.Errorf("store: list chats: %w", err)
	}
	return cs, nil
}
