// Package models holds botdesk's data types as stored by GORM and the
// product rules that apply to them (roles, channel names, workbench modes).
// It has no dependencies on the database or the web layer.
package models

import "time"

// User is a console account.
type User struct {
	ID           int64 `gorm:"primaryKey"`
	Email        string
	PasswordHash string `json:"-"`
	Role         Role
	Active       bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastLoginAt  *time.Time
	// OIDCIssuer and OIDCSubject link the account to a single sign-on
	// identity (both "" for local-only accounts).
	OIDCIssuer  string `gorm:"column:oidc_issuer"`
	OIDCSubject string `gorm:"column:oidc_subject"`
	// PasswordLogin is false when the account may only sign in through
	// single sign-on (accounts created by it have no local password).
	PasswordLogin bool `gorm:"column:password_login;default:true"`
	// TOTPEnabled is true once the user confirmed a two-factor enrolment;
	// TOTPSecretEnc is the sealed secret (pending while not enabled) and
	// TOTPLastStep the last time step a code was accepted for (a code
	// works once). docs/guide.md "Two-factor".
	TOTPEnabled   bool   `gorm:"column:totp_enabled"`
	TOTPSecretEnc []byte `gorm:"column:totp_secret_enc" json:"-"`
	TOTPLastStep  int64  `gorm:"column:totp_last_step" json:"-"`
	// Language is the console language the user chose (i18n.Lang); empty
	// follows the browser.
	Language string
	// NotifyMessages turns on the browser notification and sound for new
	// messages in conversations assigned to the user or to nobody.
	NotifyMessages bool `gorm:"column:notify_messages"`
	// Away is the user's own "Away" switch; SeenAt the last heartbeat of
	// one of their open workbench streams (store/presence.go).
	Away   bool
	SeenAt *time.Time
}

// Session is a server-side login session; ID is the hash of the cookie.
type Session struct {
	ID         string `gorm:"primaryKey"`
	UserID     int64
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	IP         string
	UserAgent  string
}

// APIKey is a bearer credential for /api/v1; only its hash is kept.
type APIKey struct {
	ID         int64 `gorm:"primaryKey"`
	Name       string
	Prefix     string
	KeyHash    string `json:"-"`
	Role       Role
	CreatedBy  *int64
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// AuditEntry records who did what to which object, when and from where.
type AuditEntry struct {
	ID         int64 `gorm:"primaryKey"`
	At         time.Time
	ActorID    *int64
	Actor      string
	Action     string
	ObjectType string
	ObjectID   string
	IP         string `gorm:"column:ip"`
	Detail     string
}

// TableName maps AuditEntry to its table.
func (AuditEntry) TableName() string { return "audit_log" }

// Channel is a Telegram channel of the workspace; it holds at most one bot.
type Channel struct {
	ID               string `gorm:"primaryKey"`
	Name             string
	CreatedBy        *int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
	WorkbenchMode    WorkbenchMode
	Keywords         Keywords `gorm:"serializer:json"`
	HTTPEnabled      bool     `gorm:"column:http_enabled"`
	StatusURL        string   `gorm:"column:status_url"`
	MOURL            string   `gorm:"column:mo_url"`
	NotifyURL        string   `gorm:"column:notify_url"`
	QueueEnabled     bool
	SigningSecretEnc []byte `json:"-"`
	// RetentionDays keeps messages this many days; 0 = forever.
	RetentionDays int
	// AutoAssign is off or round_robin; AssignCapacity the open
	// conversations an agent holds at most before the round skips them;
	// AssignLastUserID where the round stopped (store/assign.go).
	AutoAssign       AutoAssign `gorm:"default:off"`
	AssignCapacity   int        `gorm:"default:10"`
	AssignLastUserID *int64
}

// AutoAssign is a channel's auto-assignment mode.
type AutoAssign string

// Auto-assignment modes.
const (
	AutoAssignOff        AutoAssign = "off"
	AutoAssignRoundRobin AutoAssign = "round_robin"
)

// MaxAssignCapacity bounds a channel's capacity per agent.
const MaxAssignCapacity = 1000

// BotState is the connection state of a bot's poller.
type BotState string

// Bot connection states shown on the Chatbot Management tab.
const (
	BotConnecting   BotState = "connecting"
	BotPolling      BotState = "polling"
	BotTokenInvalid BotState = "token_invalid"
	BotConflict     BotState = "conflict"
	BotError        BotState = "error"
	BotStopped      BotState = "stopped"
)

// Label is the plain-language name of a state.
func (s BotState) Label() string {
	switch s {
	case BotConnecting:
		return "Connecting"
	case BotPolling:
		return "Polling"
	case BotTokenInvalid:
		return "Token invalid"
	case BotConflict:
		return "Conflict"
	case BotError:
		return "Error"
	case BotStopped:
		return "Stopped"
	}
	return string(s)
}

// Bot is a Telegram bot connected to one channel.
type Bot struct {
	ID                      int64 `gorm:"primaryKey"`
	ChannelID               string
	TelegramID              int64
	Username                string
	FirstName               string
	CanJoinGroups           bool
	CanReadAllGroupMessages bool
	SupportsInlineQueries   bool
	TokenEnc                []byte `json:"-"`
	TokenHint               string
	State                   BotState
	StateDetail             string
	UpdateOffset            int64
	LastUpdateAt            *time.Time
	ConnectedAt             time.Time
	UpdatedAt               time.Time
}

// Chat is a group, supergroup or channel the bot is in.
type Chat struct {
	ID            int64 `gorm:"primaryKey"`
	ChannelID     string
	ChatID        int64
	Type          string
	Title         string
	Username      string
	MemberStatus  string
	AddedAt       time.Time
	MessageCount  int64
	LastMessageAt *time.Time
}

// Conversation is one Telegram chat as the workbench sees it.
type Conversation struct {
	ID              int64 `gorm:"primaryKey"`
	ChannelID       string
	ChatID          int64
	ChatType        string
	Title           string
	Status          string
	InWorkbench     bool
	AssignedTo      *int64
	Unread          int64
	LastMessageAt   time.Time
	LastMessageText string
	// ThreadID is the forum topic the conversation is (0: the whole chat,
	// or a forum's General topic).
	ThreadID int64
	// BusinessConnectionID is set for a chat of a connected business
	// account ("" for the bot's own chats).
	BusinessConnectionID string
}

// Key is what the conversation is found by within its channel.
func (c *Conversation) Key() ConversationKey {
	return ConversationKey{ChatID: c.ChatID, ThreadID: c.ThreadID, BusinessConnectionID: c.BusinessConnectionID}
}

// ConversationKey identifies a conversation within a channel: the chat,
// the forum topic (0 for none) and the business connection ("" for none).
// It is the one rule mapping a message to its conversation.
type ConversationKey struct {
	ChatID               int64
	ThreadID             int64
	BusinessConnectionID string
}

// KeyOf is the conversation key of a message in the chat, in the forum
// topic thread (nil outside one), through the business connection bc.
func KeyOf(chatID int64, thread *int64, bc string) ConversationKey {
	k := ConversationKey{ChatID: chatID, BusinessConnectionID: bc}
	if thread != nil {
		k.ThreadID = *thread
	}
	return k
}

// Message is one stored Telegram message, incoming or outgoing.
type Message struct {
	ID                int64 `gorm:"primaryKey"`
	ChannelID         string
	BotTelegramID     int64
	UpdateID          *int64
	ChatID            int64
	ChatType          string
	TelegramMessageID *int64
	Direction         string
	FromID            int64
	FromUsername      string
	FromName          string
	FromLanguage      string // the sender's Telegram language_code (the contact panel)
	Type              string
	Text              string
	Entities          string
	Media             string
	ReplyToMessageID  *int64
	Status            string
	ErrorCode         int
	ErrorDescription  string
	SentBy            *int64
	IdempotencyKey    *string
	TelegramDate      *time.Time
	EditedAt          *time.Time
	CreatedAt         time.Time
	// MessageThreadID is the forum topic of the message (nil outside one).
	MessageThreadID *int64
	// DeletedAt is set once a sent message was deleted in Telegram.
	DeletedAt *time.Time
	// BusinessConnectionID is the business connection the message came
	// through or is sent through ("" for the bot's own chats).
	BusinessConnectionID string
}

// ConversationKey is the key of the conversation the message belongs to.
func (m *Message) ConversationKey() ConversationKey {
	return KeyOf(m.ChatID, m.MessageThreadID, m.BusinessConnectionID)
}

// MessageEdit keeps the earlier text of an edited message.
type MessageEdit struct {
	ID        int64 `gorm:"primaryKey"`
	MessageID int64
	Text      string
	EditedAt  time.Time
}

// OutboxEvent is one event waiting for, or done with, delivery.
type OutboxEvent struct {
	ID            int64 `gorm:"primaryKey"`
	EventID       string
	ChannelID     string
	Kind          string
	OrderingKey   string
	Payload       string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   *time.Time
}

// TableName maps OutboxEvent to its table.
func (OutboxEvent) TableName() string { return "outbox" }

// DeliveryAttempt is one HTTP attempt to deliver an outbox event.
type DeliveryAttempt struct {
	ID         int64 `gorm:"primaryKey"`
	OutboxID   int64
	At         time.Time
	URL        string `gorm:"column:url"`
	StatusCode int
	LatencyMS  int64 `gorm:"column:latency_ms"`
	Outcome    string
	Error      string
}

// QueueMessage is an event on a durable pull queue.
type QueueMessage struct {
	ID           int64 `gorm:"primaryKey"`
	Queue        string
	EventID      string
	Payload      string
	CreatedAt    time.Time
	VisibleAt    time.Time
	Receipt      *string
	ReceiveCount int
}
