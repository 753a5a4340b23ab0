package callbacks

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// Payloads builds the JSON of the events that the Telegram workers enqueue
// in the outbox. The workers decide when an event happens; this is the one
// place that says what it carries. It is passed to them (telegram.Events)
// so the arrival path never refers back to callbacks.
type Payloads struct{}

// MO is the "mo" event of a stored incoming message (or of its new
// version, after an edit).
func (Payloads) MO(m *models.Message) ([]byte, error) {
	ev := MOEvent{
		MessageID: strconv.FormatInt(m.ID, 10), ChannelID: m.ChannelID, ChatID: m.ChatID, ChatType: m.ChatType,
		MessageType: m.Type, Text: m.Text, BusinessConnectionID: m.BusinessConnectionID,
	}
	if m.MessageThreadID != nil {
		ev.MessageThreadID = *m.MessageThreadID
	}
	if m.FromID != 0 {
		ev.From = &Sender{ID: m.FromID, Username: m.FromUsername, DisplayName: m.FromName}
	}
	if m.TelegramDate != nil {
		ev.Timestamp = Millis(*m.TelegramDate)
	} else {
		ev.Timestamp = Millis(m.CreatedAt)
	}
	if m.UpdateID != nil {
		ev.UpdateID = *m.UpdateID
	}
	if m.EditedAt != nil {
		ev.Edited, ev.EditDate = true, Millis(*m.EditedAt)
	}
	return json.Marshal(ev)
}

// Status is the "status" event of an outgoing message whose outcome o was
// known at at.
func (Payloads) Status(m *models.Message, o store.SendOutcome, at time.Time) ([]byte, error) {
	ev := StatusEvent{
		MessageID: strconv.FormatInt(m.ID, 10), ChannelID: m.ChannelID, ChatID: m.ChatID,
		Status: StatusSent, Timestamp: Millis(at),
	}
	if !o.Sent {
		ev.Status, ev.ErrorCode, ev.ErrorDescription = StatusFailed, o.ErrorCode, o.ErrorDescription
	}
	return json.Marshal(ev)
}

// TokenInvalid is the token_invalid notification of bot, with the reason.
func (p Payloads) TokenInvalid(bot *models.Bot, detail string, at time.Time) ([]byte, error) {
	return p.Notify(NotifyTokenInvalid, bot.ChannelID, bot, detail, at)
}

// Notify is a "notify" event about bot (its channel is channelID).
func (Payloads) Notify(event, channelID string, bot *models.Bot, detail string, at time.Time) ([]byte, error) {
	return json.Marshal(NotifyEvent{Event: event, ChannelID: channelID, BotID: bot.TelegramID,
		BotUsername: bot.Username, Detail: detail, Timestamp: Millis(at)})
}
