package store

import (
	"github.com/botdesk/botdesk/models"
)

// The SQL side of models.ConversationKey: a conversation is a chat, a
// forum topic of it and a business connection. Every query that finds a
// conversation, or the messages of one, goes through these two.

// conversationKeyWhere selects the conversation of key k in the channel
// (columns of conversations, prefixed by alias: "c." or "").
func conversationKeyWhere(alias, channelID string, k models.ConversationKey) (string, []any) {
	return alias + "channel_id = ? AND " + alias + "chat_id = ? AND " + alias + "thread_id = ? AND " + alias + "business_connection_id = ?",
		[]any{channelID, k.ChatID, k.ThreadID, k.BusinessConnectionID}
}

// messageKeyWhere selects the messages of the conversation of key k in the
// channel (columns of messages, prefixed by alias). Messages outside a
// topic have no message_thread_id: they are thread 0, as in the key.
func messageKeyWhere(alias, channelID string, k models.ConversationKey) (string, []any) {
	return alias + "channel_id = ? AND " + alias + "chat_id = ? AND COALESCE(" + alias + "message_thread_id, 0) = ? AND " +
			alias + "business_connection_id = ?",
		[]any{channelID, k.ChatID, k.ThreadID, k.BusinessConnectionID}
}

// sameConversationSQL joins messages m to their conversation c.
const sameConversationSQL = `m.channel_id = c.channel_id AND m.chat_id = c.chat_id AND COALESCE(m.message_thread_id, 0) = c.thread_id
	AND m.business_connection_id = c.business_connection_id`
