package store

// The contact panel beside a conversation: the Telegram user behind it, as
// far as this channel's bot has seen them, and where else they wrote.
// Every query starts from an index: messages_from (channel_id, from_id, id)
// for the user's messages, the conversations' UNIQUE (channel_id, chat_id)
// for their chats.

import (
	"context"
	"fmt"
	"time"

	"github.com/botdesk/botdesk/models"
)

// maxContactChats bounds the other conversations a panel lists.
const maxContactChats = 20

// Contact is a Telegram user as the contact panel shows them.
type Contact struct {
	TelegramID int64
	// Name, Username and Language are from their latest message here.
	Name, Username, Language string
	FirstSeen                time.Time
	Messages                 int64
	// Conversations are their other private chats the workbench shows
	// (with this channel's bot when the panel is a group's, with the
	// other channels' bots).
	Conversations []ContactConversation
	// Groups are the groups of this channel they wrote in, newest first;
	// for agents only those the workbench shows.
	Groups []ContactConversation
}

// ContactConversation is one chat of the contact's.
type ContactConversation struct {
	ID          int64
	ChannelName string
	ChatType    string
	Title       string
	Status      string
	InWorkbench bool
	// Messages counts the contact's own messages in a group.
	Messages int64
}

// ContactOf answers the panel for conv: the user of a private chat, or
// the latest sender of a group. nil when nobody has written (a channel
// post has no user). allChats is set for operators, who may see groups the
// workbench does not show; agents get only workbench conversations.
func (s *Store) ContactOf(ctx context.Context, conv *models.Conversation, allChats bool) (*Contact, error) {
	db := s.r(ctx)
	var who struct {
		FromID                               int64
		FromName, FromUsername, FromLanguage string
	}
	q := db.Table("messages").Select("from_id, from_name, from_username, from_language").Order("id DESC").Limit(1)
	if conv.ChatType == "private" {
		q = q.Where("channel_id = ? AND from_id = ?", conv.ChannelID, conv.ChatID)
	} else {
		where, args := messageKeyWhere("", conv.ChannelID, conv.Key())
		q = q.Where(where+" AND direction = 'in' AND from_id <> 0", args...)
	}
	if res := q.Scan(&who); res.Error != nil {
		return nil, fmt.Errorf("store: contact: %w", res.Error)
	} else if res.RowsAffected == 0 || who.FromID == 0 {
		return nil, nil
	}
	ct := &Contact{TelegramID: who.FromID, Name: who.FromName, Username: who.FromUsername, Language: who.FromLanguage}
	var stats struct {
		N     int64
		First int64
	}
	if err := db.Table("messages").Select("COUNT(*) AS n, MIN(id) AS first").
		Where("channel_id = ? AND from_id = ?", conv.ChannelID, ct.TelegramID).Scan(&stats).Error; err != nil {
		return nil, fmt.Errorf("store: contact stats: %w", err)
	}
	ct.Messages = stats.N
	var first struct{ CreatedAt time.Time }
	if err := db.Table("messages").Select("created_at").Where("id = ?", stats.First).Scan(&first).Error; err != nil {
		return nil, fmt.Errorf("store: contact first seen: %w", err)
	}
	ct.FirstSeen = first.CreatedAt

	// The groups of this channel they wrote in, with their message counts.
	var groups []ContactConversation
	gq := db.Table("messages m").
		Select("c.id, ch.name AS channel_name, c.chat_type, c.title, c.status, c.in_workbench, COUNT(*) AS messages").
		Joins("JOIN conversations c ON "+sameConversationSQL).
		Joins("JOIN channels ch ON ch.id = c.channel_id").
		Where("m.channel_id = ? AND m.from_id = ? AND c.chat_type <> 'private' AND c.id <> ?", conv.ChannelID, ct.TelegramID, conv.ID).
		Group("c.id, ch.name, c.chat_type, c.title, c.status, c.in_workbench").
		Order("MAX(m.id) DESC").Limit(maxContactChats)
	if !allChats {
		gq = gq.Where("c.in_workbench = ?", true)
	}
	if err := gq.Scan(&groups).Error; err != nil {
		return nil, fmt.Errorf("store: contact groups: %w", err)
	}
	ct.Groups = groups

	// Their private chats with the other channels' bots: a private chat's
	// id is the user's id, so the unique (channel_id, chat_id) finds them
	// channel by channel.
	var private []ContactConversation
	if err := db.Table("channels ch").
		Select("c.id, ch.name AS channel_name, c.chat_type, c.title, c.status, c.in_workbench").
		Joins("JOIN conversations c ON c.channel_id = ch.id AND c.chat_id = ?", ct.TelegramID).
		Where("c.chat_type = 'private' AND c.id <> ? AND c.in_workbench = ?", conv.ID, true).
		Order("c.last_message_at DESC").Limit(maxContactChats).Scan(&private).Error; err != nil {
		return nil, fmt.Errorf("store: contact chats: %w", err)
	}
	ct.Conversations = private
	return ct, nil
}
