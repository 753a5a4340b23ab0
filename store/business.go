package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/botdesk/botdesk/models"
)

// IngestBusinessConnection is a business_connection update: a business
// account connected the bot, changed its rights, or disconnected it.
type IngestBusinessConnection struct {
	ID                 string
	UserID, UserChatID int64
	UserName, Username string
	CanReply           bool
	Rights             string // JSON object of the rights, "" when none
	Enabled            bool
	Date               time.Time
}

// IngestDeletedMessages is a deleted_business_messages update: messages
// deleted in a chat of a business account.
type IngestDeletedMessages struct {
	BusinessConnectionID string
	ChatID               int64
	MessageIDs           []int64
}

// ingestBusinessConnection keeps the connection's row as Telegram last
// described it.
func (s *Store) ingestBusinessConnection(ctx context.Context, channelID string, bot int64, c *IngestBusinessConnection, now time.Time) error {
	row := models.BusinessConnection{ID: c.ID, ChannelID: channelID, BotTelegramID: bot, UserID: c.UserID, UserChatID: c.UserChatID,
		UserName: c.UserName, Username: c.Username, CanReply: c.CanReply, Rights: c.Rights, Enabled: c.Enabled,
		ConnectedAt: orNow(c.Date, now), UpdatedAt: now}
	err := s.w(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"channel_id", "bot_telegram_id", "user_id", "user_chat_id", "user_name",
			"username", "can_reply", "rights", "enabled", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("store: ingest: business connection: %w", err)
	}
	return nil
}

// ingestDeletedMessages marks the stored messages of a business chat as
// deleted (they stay in the history, shown as deleted), one change each.
func (s *Store) ingestDeletedMessages(ctx context.Context, channelID string, d *IngestDeletedMessages, now time.Time) ([]Change, error) {
	if len(d.MessageIDs) == 0 {
		return nil, nil
	}
	db := s.w(ctx)
	var msgs []models.Message
	err := db.Where("channel_id = ? AND chat_id = ? AND business_connection_id = ? AND telegram_message_id IN ? AND deleted_at IS NULL",
		channelID, d.ChatID, d.BusinessConnectionID, d.MessageIDs).Find(&msgs).Error
	if err != nil {
		return nil, fmt.Errorf("store: ingest: find deleted business messages: %w", err)
	}
	var changes []Change
	convs := map[models.ConversationKey]int64{}
	for _, m := range msgs {
		if err := db.Model(&models.Message{}).Where("id = ?", m.ID).Update("deleted_at", now).Error; err != nil {
			return nil, fmt.Errorf("store: ingest: delete business message: %w", err)
		}
		k := m.ConversationKey()
		id, ok := convs[k]
		if !ok {
			where, args := conversationKeyWhere("", channelID, k)
			if err := db.Raw("SELECT id FROM conversations WHERE "+where, args...).Scan(&id).Error; err != nil {
				return nil, fmt.Errorf("store: ingest: deleted business message's conversation: %w", err)
			}
			convs[k] = id
		}
		changes = append(changes, Change{Kind: "message", ChannelID: channelID, ConversationID: id, MessageID: m.ID})
	}
	return changes, nil
}

// BusinessConnections lists the business accounts connected to the
// channel's bot, newest first.
func (s *Store) BusinessConnections(ctx context.Context, channelID string) ([]models.BusinessConnection, error) {
	var out []models.BusinessConnection
	if err := s.r(ctx).Where("channel_id = ?", channelID).Order("connected_at DESC, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("store: business connections: %w", err)
	}
	return out, nil
}
