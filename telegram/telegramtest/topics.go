package telegramtest

// Forum topics and Telegram Business: the updates a forum supergroup and a
// connected business account produce, and the checks Telegram makes when
// a bot sends into a topic or on behalf of a business account.

import (
	"net/http"
	"net/url"
	"time"

	"github.com/mymmrac/telego"
)

// Error texts of the real Bot API for topics and business sends.
const (
	DescThreadNotFound = "Bad Request: message thread not found"
	// DescBusinessInvalid answers a send through a business connection
	// the bot does not have (or that was disabled).
	DescBusinessInvalid = "Bad Request: BUSINESS_CONNECTION_INVALID"
	// DescBusinessNoReply answers a send through a connection whose
	// rights do not include replying.
	DescBusinessNoReply = "Forbidden: BOT_BUSINESS_MISSING"
	// DescBusinessNoDelete answers deleteBusinessMessages without the
	// connection's right to delete those messages.
	DescBusinessNoDelete = "Forbidden: MESSAGE_DELETE_FORBIDDEN"
)

type topicKey struct {
	chat   int64
	thread int
}

// nextID gives the next message id of a chat; s.mu must be held. A
// business account is a user account, whose messages are numbered across
// all its chats: with bc set the id is the connection's next one, which
// is why deleteBusinessMessages needs no chat_id.
func (b *fakeBot) nextID(bc string, chat int64) int {
	if bc == "" {
		b.nextMsgID[chat]++
		return b.nextMsgID[chat]
	}
	k := msgKey{bc: bc}
	b.nextBizMsgID[k]++
	return b.nextBizMsgID[k]
}

// seenID keeps the numbering above an id a test chose itself.
func (b *fakeBot) seenID(bc string, chat int64, id int) {
	if bc == "" {
		b.nextMsgID[chat] = max(b.nextMsgID[chat], id)
		return
	}
	k := msgKey{bc: bc}
	b.nextBizMsgID[k] = max(b.nextBizMsgID[k], id)
}

// injectTopic makes a topic creation what Telegram makes it: the topic's
// id is its creation message's id, and the message is in the topic.
func (b *fakeBot) injectTopic(m *telego.Message) {
	if m.ForumTopicCreated == nil {
		return
	}
	m.MessageThreadID, m.IsTopicMessage = m.MessageID, true
	b.topics[topicKey{m.Chat.ID, m.MessageID}] = true
}

// businessSend checks business_connection_id of a send and marks msg as
// sent on the account's behalf; it answers Telegram's error itself and
// returns false when the bot may not send through that connection.
func (b *fakeBot) businessSend(w http.ResponseWriter, p url.Values, msg *telego.Message) bool {
	id := p.Get("business_connection_id")
	if id == "" {
		return true
	}
	bc, ok := b.businessConnection(w, id)
	if !ok {
		return false
	}
	if bc.Rights == nil || !bc.Rights.CanReply {
		writeError(w, http.StatusForbidden, DescBusinessNoReply, nil)
		return false
	}
	owner, bot := bc.User, b.user()
	msg.From, msg.SenderBusinessBot, msg.BusinessConnectionID = &owner, &bot, id
	return true
}

// businessConnection is the enabled connection id; it answers Telegram's
// error itself when the bot has no such connection (or it was disabled).
func (b *fakeBot) businessConnection(w http.ResponseWriter, id string) (telego.BusinessConnection, bool) {
	bc, ok := b.business[id]
	if !ok || !bc.IsEnabled {
		writeError(w, http.StatusBadRequest, DescBusinessInvalid, nil)
		return telego.BusinessConnection{}, false
	}
	return bc, true
}

// Forum builds a supergroup with topics enabled.
func Forum(id int64, title string) telego.Chat {
	c := Supergroup(id, title)
	c.IsForum = true
	return c
}

// TopicCreated is the service message that creates a forum topic; the
// topic's id (its message_thread_id) is the id Inject gives the message.
func TopicCreated(forum telego.Chat, from telego.User, name string) telego.Update {
	m := message(forum, &from)
	m.ForumTopicCreated = &telego.ForumTopicCreated{Name: name, IconColor: 7322096}
	return telego.Update{Message: m}
}

// TopicRenamed is the service message of a topic renamed to name.
func TopicRenamed(created telego.Message, from telego.User, name string) telego.Update {
	u := TopicText(created, from, "")
	u.Message.ForumTopicEdited = &telego.ForumTopicEdited{Name: name}
	return u
}

// TopicText is a text message in the topic that created (the topic's
// creation message, as Inject returned it) started. Like Telegram, a
// message in a topic that quotes nothing else replies to the creation.
func TopicText(created telego.Message, from telego.User, text string) telego.Update {
	m := message(created.Chat, &from)
	m.Text = text
	m.MessageThreadID, m.IsTopicMessage = created.MessageThreadID, true
	r := created
	r.ReplyToMessage = nil
	m.ReplyToMessage = &r
	return telego.Update{Message: m}
}

// GeneralText is a text message in a forum's General topic, which has no
// message_thread_id.
func GeneralText(forum telego.Chat, from telego.User, text string) telego.Update {
	return TextMessage(forum, from, text)
}

// BusinessConnected is the business_connection update of owner connecting
// the bot to their business account (enabled false: disconnecting it),
// with or without the right to reply.
func BusinessConnected(id string, owner telego.User, canReply, enabled bool) telego.Update {
	return BusinessConnectedWith(id, owner, telego.BusinessBotRights{CanReply: canReply, CanReadMessages: true}, enabled)
}

// BusinessConnectedWith is BusinessConnected with the given rights (to
// delete messages, say).
func BusinessConnectedWith(id string, owner telego.User, rights telego.BusinessBotRights, enabled bool) telego.Update {
	return telego.Update{BusinessConnection: &telego.BusinessConnection{
		ID: id, User: owner, UserChatID: owner.ID, Date: time.Now().Unix(), IsEnabled: enabled, Rights: &rights,
	}}
}

// BusinessText is a business_message: customer wrote to the business
// account of connection id, in their private chat with it.
func BusinessText(id string, customer telego.User, text string) telego.Update {
	m := message(PrivateChat(customer), &customer)
	m.Text, m.BusinessConnectionID = text, id
	return telego.Update{BusinessMessage: m}
}

// BusinessEdited is the edited_business_message of orig (as Inject
// returned it) with new text.
func BusinessEdited(orig telego.Message, newText string) telego.Update {
	m := orig
	m.Text, m.Entities, m.EditDate = newText, nil, time.Now().Unix()
	return telego.Update{EditedBusinessMessage: &m}
}

// BusinessDeleted is the deleted_business_messages update of messages of
// a business chat.
func BusinessDeleted(id string, chat telego.Chat, messageIDs ...int) telego.Update {
	return telego.Update{DeletedBusinessMessages: &telego.BusinessMessagesDeleted{
		BusinessConnectionID: id, Chat: chat, MessageIDs: messageIDs,
	}}
}
