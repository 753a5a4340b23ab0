package telegram

import (
	"errors"
	"strings"
)

// refusals are Telegram's answers to edits, deletes and reactions, in the
// words agents and integrations get (keyed by a part of the description,
// which is what the Bot API documents and keeps stable).
var refusals = []struct{ match, plain string }{
	{"message to edit not found", "Telegram no longer has this message; it was probably deleted in the chat."},
	{"message to delete not found", "Telegram no longer has this message; it was probably deleted in the chat already."},
	{"message to react not found", "Telegram no longer has this message; it was probably deleted in the chat."},
	{"message is not modified", "The new text is the same as the current one."},
	{"there is no text in the message to edit", "Only text messages can be edited; this one is a photo or file."},
	{"message can't be edited", "Telegram does not allow editing this message (any more)."},
	{"message can't be deleted", "Telegram allows a bot to delete a message only within 48 hours of sending it, so this one stays."},
	{"reaction_invalid", "Telegram does not accept this emoji as a reaction."},
	{"reactions_too_many", "A bot may set only one reaction per message."},
	{"bot was blocked by the user", "The customer has blocked the bot, so Telegram refuses any change."},
	{"chat not found", "Telegram does not know this chat any more (the bot was removed or the chat deleted)."},
	// Business chats: the account's owner decides what the bot may do.
	{"business_connection_invalid", "The business account has disconnected the bot (or paused it), so Telegram refuses changes in its chats."},
	{"bot_business_missing", "The business account does not let the bot reply, so Telegram refuses to edit messages in its chats."},
	{"message_delete_forbidden", "The business account does not let the bot delete messages; its owner can allow it in Telegram's business settings (Chatbots)."},
}

// businessReaction is ErrBusinessReaction in plain words.
const businessReaction = "Telegram does not let bots react to messages in a business account's chats."

// Refusal says in plain words why Telegram refused (or does not offer) a
// change to a message.
// ok is false when err is not a refusal by Telegram (unreachable, token
// rejected, …): those keep their own handling.
func Refusal(err error) (plain string, ok bool) {
	if errors.Is(err, ErrBusinessReaction) {
		return businessReaction, true
	}
	var api *APIError
	if !errors.As(err, &api) {
		return "", false
	}
	d := strings.ToLower(api.Description)
	for _, r := range refusals {
		if strings.Contains(d, r.match) {
			return r.plain, true
		}
	}
	return "Telegram refused: " + RedactString(api.Description), true
}
