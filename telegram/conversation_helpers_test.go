package telegram

import (
	"context"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// The set-up the conversation tests share (forum topics, Telegram
// Business): poll what was injected, read a chat's conversations and
// their history, and reply into one through the real sender.

// pollAll runs the supervisor until the update last (and every one
// before it) is stored.
func (e *env) pollAll(last int) {
	e.t.Helper()
	e.runSupervisor()
	e.caughtUp(last)
}

// conversationsOf lists the conversations of a chat (its topics, its
// business connections) in the given order.
func (e *env) conversationsOf(chatID int64, order string) []models.Conversation {
	e.t.Helper()
	var convs []models.Conversation
	if err := e.db.Where("chat_id = ?", chatID).Order(order).Find(&convs).Error; err != nil {
		e.t.Fatal(err)
	}
	return convs
}

// history is a conversation's messages, oldest first.
func (e *env) history(c *models.Conversation) []models.MessageRow {
	e.t.Helper()
	rows, _, err := e.st.ConversationMessages(context.Background(), c, 0, store.Latest, 50)
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

// replyInto queues a reply addressed to the conversation, as the
// workbench does (its chat, topic and business connection).
func (e *env) replyInto(c *models.Conversation, text string) int64 {
	e.t.Helper()
	out := store.OutgoingMessage{Text: text}
	out.Into(c)
	m, _, err := e.st.QueueOutgoing(context.Background(), out)
	if err != nil {
		e.t.Fatal(err)
	}
	return m.ID
}

// sendAll runs the sender and returns the queued messages ids once each
// is sent or failed, in the order given.
func (e *env) sendAll(ids ...int64) []models.Message {
	e.t.Helper()
	e.runSender().Wake()
	out := make([]models.Message, 0, len(ids))
	for _, id := range ids {
		out = append(out, e.waitFinal(id))
	}
	return out
}

// invalidField says err is a validation error of that field.
func invalidField(err error, field string) bool {
	v, ok := models.AsValidation(err)
	return ok && v.Field == field
}
