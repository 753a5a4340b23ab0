package models

// The row types below are what the list and workbench pages render: a
// stored row with what the page shows beside it, read by one query.

// ChannelRow is a channel with its bot summary for the list page.
type ChannelRow struct {
	Channel
	BotUsername *string
	BotState    *BotState
}

// ConversationRow is a conversation with what the list shows beside it.
type ConversationRow struct {
	Conversation
	ChannelName   string
	AssignedEmail *string
	// SortKey is last_message_at exactly as stored, so the keyset cursor
	// compares against the stored text and not a reformatted time.
	SortKey string
	// Labels are the conversation's labels by name (store/labels.go).
	Labels []Label
	// BusinessName is the business account's owner for a chat of a
	// connected business account ("" otherwise).
	BusinessName string
}

// MessageRow is a message with what its bubble shows beside it.
type MessageRow struct {
	Message
	SentByEmail *string
	EditCount   int64
}
