package models

import (
	"encoding/json"
	"sort"
	"time"
)

// BusinessConnection is a Telegram Business account connected to a
// channel's bot: its chats with customers become conversations of the
// channel, and replies go out on the account's behalf when it lets the bot
// reply.
type BusinessConnection struct {
	ID            string `gorm:"primaryKey"`
	ChannelID     string
	BotTelegramID int64
	UserID        int64
	UserChatID    int64
	UserName      string // the account owner's name
	Username      string
	CanReply      bool
	// Rights is the JSON object of the rights Telegram lists
	// (business_bot_rights), "" when it sent none.
	Rights      string
	Enabled     bool
	ConnectedAt time.Time
	UpdatedAt   time.Time
}

// TableName maps BusinessConnection to its table.
func (BusinessConnection) TableName() string { return "business_connections" }

// GrantedRights are the rights the account gave the bot, by Telegram's
// names (can_reply, can_read_messages, …), sorted.
func (b *BusinessConnection) GrantedRights() []string {
	var rights map[string]bool
	if b.Rights == "" || json.Unmarshal([]byte(b.Rights), &rights) != nil {
		return nil
	}
	var out []string
	for k, v := range rights {
		if v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
