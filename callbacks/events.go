package callbacks

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// EventType is the value of the "type" field that every payload carries, so
// a receiver that points all three callback URLs at one endpoint can still
// tell the events apart.
type EventType string

// The three event types; each has its own callback URL and queue.
const (
	TypeStatus EventType = "status"
	TypeMO     EventType = "mo"
	TypeNotify EventType = "notify"
)

// Delivery status values of a [StatusEvent].
const (
	StatusSent   = "sent"
	StatusFailed = "failed"
	// StatusEdited and StatusDeleted follow an edit or delete of a sent
	// message (PATCH / DELETE /channels/{id}/messages/{message_id}).
	StatusEdited  = "edited"
	StatusDeleted = "deleted"
)

// Notification kinds of a [NotifyEvent].
const (
	NotifyBotConnected    = "bot_connected"
	NotifyBotDisconnected = "bot_disconnected"
	NotifyTokenInvalid    = "token_invalid"
	NotifyTokenUpdated    = "token_updated"
	NotifyBotDeleted      = "bot_deleted"
	NotifyWebhookDisabled = "webhook_disabled"
)

// Event is implemented by the three payload types so the dispatcher can pick
// the callback URL and queue of an event without a type switch.
type Event interface {
	EventType() EventType
}

// StatusEvent reports the outcome of sending a message through the bot
// (POST /api/v1/channels/{id}/messages or the workbench). Its URL is the
// Status Report Callback URL.
type StatusEvent struct {
	// Type is always "status"; it is filled in on marshalling. The JSON
	// name is "kind" because the contract (docs/callbacks.md) gives "type" to the MO message type.
	Type EventType `json:"kind"`
	// MessageID is botdesk's id of the outgoing message, as returned by
	// POST /channels/{id}/messages.
	MessageID string `json:"message_id"`
	ChannelID string `json:"channel_id"`
	ChatID    int64  `json:"chat_id"`
	// Status is StatusSent, StatusFailed, StatusEdited or StatusDeleted.
	Status string `json:"status"`
	// ErrorCode and ErrorDescription are Telegram's error_code and
	// description when Status is "failed"; omitted otherwise.
	ErrorCode        int    `json:"error_code,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
	// Timestamp is Unix time in milliseconds when the outcome was known.
	Timestamp int64 `json:"timestamp"`
}

// Sender identifies the Telegram user who wrote an incoming message.
type Sender struct {
	ID       int64  `json:"id"`
	Username string `json:"username,omitempty"`
	// DisplayName is first and last name joined by a space.
	DisplayName string `json:"display_name"`
}

// MOEvent ("mobile originated") carries a message a Telegram user or chat
// sent to the bot. Its URL is the MO Message Callback URL.
type MOEvent struct {
	// Type is always "mo"; it is filled in on marshalling (JSON "kind").
	Type EventType `json:"kind"`
	// MessageID is botdesk's id of the stored message, the same id
	// GET /channels/{id}/messages lists.
	MessageID string `json:"message_id"`
	ChannelID string `json:"channel_id"`
	ChatID    int64  `json:"chat_id"`
	// ChatType is Telegram's chat type: private, group, supergroup, channel.
	ChatType string `json:"chat_type"`
	// From is absent for channel posts, which have no sending user.
	From *Sender `json:"from,omitempty"`
	// MessageType is one of the models.Message* constants: JSON "type", as
	// the callback contract in docs/callbacks.md names it.
	MessageType string `json:"type"`
	// Text is the message text, or the caption of a media message.
	Text string `json:"text,omitempty"`
	// Timestamp is Unix time in milliseconds of the Telegram message date.
	Timestamp int64 `json:"timestamp"`
	// UpdateID is Telegram's update_id; with the bot it identifies the
	// update uniquely, so receivers can use it to drop duplicates.
	UpdateID int64 `json:"update_id"`
	// Edited marks a new version of a message already delivered (same
	// message_id, new text); EditDate is when it was edited (ms).
	Edited   bool  `json:"edited,omitempty"`
	EditDate int64 `json:"edit_date,omitempty"`
	// MessageThreadID is the forum topic, BusinessConnectionID the
	// connected business account the message came through; both absent
	// otherwise.
	MessageThreadID      int64  `json:"message_thread_id,omitempty"`
	BusinessConnectionID string `json:"business_connection_id,omitempty"`
}

// NotifyEvent tells the business about a change of the bot's connection.
// Its URL is the Notification Callback URL.
type NotifyEvent struct {
	// Type is always "notify"; it is filled in on marshalling (JSON "kind").
	Type EventType `json:"kind"`
	// Event is one of the Notify* constants.
	Event       string `json:"event"`
	ChannelID   string `json:"channel_id"`
	BotID       int64  `json:"bot_id"`
	BotUsername string `json:"bot_username"`
	// Detail is a human-readable reason, e.g. why the token became invalid.
	// It never contains the token.
	Detail string `json:"detail,omitempty"`
	// Timestamp is Unix time in milliseconds when the change happened.
	Timestamp int64 `json:"timestamp"`
}

// EventType implements [Event].
func (StatusEvent) EventType() EventType { return TypeStatus }

// EventType implements [Event].
func (MOEvent) EventType() EventType { return TypeMO }

// EventType implements [Event].
func (NotifyEvent) EventType() EventType { return TypeNotify }

// MarshalJSON sets "kind" so that a caller cannot send a payload a receiver
// would not be able to route.
func (e StatusEvent) MarshalJSON() ([]byte, error) {
	type plain StatusEvent
	e.Type = TypeStatus
	return json.Marshal(plain(e))
}

// MarshalJSON sets "kind"; see [StatusEvent.MarshalJSON].
func (e MOEvent) MarshalJSON() ([]byte, error) {
	type plain MOEvent
	e.Type = TypeMO
	return json.Marshal(plain(e))
}

// MarshalJSON sets "kind"; see [StatusEvent.MarshalJSON].
func (e NotifyEvent) MarshalJSON() ([]byte, error) {
	type plain NotifyEvent
	e.Type = TypeNotify
	return json.Marshal(plain(e))
}

// Millis converts t to the millisecond timestamps used in payloads.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// QueueName returns the name of a channel's queue for one event type,
// "botdesk-<channel>-status", "-mo" or "-notify", as shown read-only on the
// Configure Webhook page.
func QueueName(channelID string, t EventType) string {
	return "botdesk-" + channelID + "-" + string(t)
}

// ParseQueueName is the inverse of [QueueName]; it lets the queue API map
// /queues/{name} back to a channel and event type.
func ParseQueueName(name string) (channelID string, t EventType, err error) {
	rest, ok := strings.CutPrefix(name, "botdesk-")
	if ok {
		for _, et := range []EventType{TypeStatus, TypeMO, TypeNotify} {
			if ch, found := strings.CutSuffix(rest, "-"+string(et)); found && ch != "" {
				return ch, et, nil
			}
		}
	}
	return "", "", fmt.Errorf("callbacks: %q is not a botdesk queue name", name)
}
