package telegram

import (
	"bytes"
	"context"
	"errors"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/models"
)

// SendOptions are the optional parts of a send: the quoted message, the
// forum topic (0 = none) and the business connection to send on behalf of
// ("" = the bot itself).
type SendOptions struct {
	ReplyTo              int64
	ThreadID             int64
	BusinessConnectionID string
}

func (o SendOptions) reply() *telego.ReplyParameters {
	if o.ReplyTo == 0 {
		return nil
	}
	return &telego.ReplyParameters{MessageID: int(o.ReplyTo)}
}

// SendText is SendMessage with a quote and a topic.
func (c *Client) SendText(ctx context.Context, chatID int64, text string, o SendOptions) (telego.Message, error) {
	m, err := c.bot.SendMessage(ctx, &telego.SendMessageParams{ChatID: telego.ChatID{ID: chatID}, Text: text,
		ReplyParameters: o.reply(), MessageThreadID: int(o.ThreadID), BusinessConnectionID: o.BusinessConnectionID})
	if err != nil {
		return telego.Message{}, c.fail(ctx, "sendMessage", err)
	}
	return *m, nil
}

// namedBytes is an upload for telego's multipart encoder.
type namedBytes struct {
	*bytes.Reader
	name string
}

func (n namedBytes) Name() string { return n.name }

// SendPhoto uploads data as a photo with an optional caption (plain text).
func (c *Client) SendPhoto(ctx context.Context, chatID int64, name string, data []byte, caption string, o SendOptions) (telego.Message, error) {
	m, err := c.bot.SendPhoto(ctx, &telego.SendPhotoParams{ChatID: telego.ChatID{ID: chatID},
		Photo: telego.InputFile{File: namedBytes{bytes.NewReader(data), name}}, Caption: caption,
		ReplyParameters: o.reply(), MessageThreadID: int(o.ThreadID), BusinessConnectionID: o.BusinessConnectionID})
	if err != nil {
		return telego.Message{}, c.fail(ctx, "sendPhoto", err)
	}
	return *m, nil
}

// SendDocument uploads data as a file with an optional caption.
func (c *Client) SendDocument(ctx context.Context, chatID int64, name string, data []byte, caption string, o SendOptions) (telego.Message, error) {
	m, err := c.bot.SendDocument(ctx, &telego.SendDocumentParams{ChatID: telego.ChatID{ID: chatID},
		Document: telego.InputFile{File: namedBytes{bytes.NewReader(data), name}}, Caption: caption,
		ReplyParameters: o.reply(), MessageThreadID: int(o.ThreadID), BusinessConnectionID: o.BusinessConnectionID})
	if err != nil {
		return telego.Message{}, c.fail(ctx, "sendDocument", err)
	}
	return *m, nil
}

// Target names a message to change: its chat, its Telegram id and, for
// a chat of a business account, the connection it went through.
type Target struct {
	ChatID               int64
	MessageID            int64
	BusinessConnectionID string
}

// TargetOf is the Telegram address of a stored message.
func TargetOf(m *models.Message) Target {
	t := Target{ChatID: m.ChatID, BusinessConnectionID: m.BusinessConnectionID}
	if m.TelegramMessageID != nil {
		t.MessageID = *m.TelegramMessageID
	}
	return t
}

// ErrBusinessReaction means a reaction was asked for in a business
// account's chat: setMessageReaction takes no business_connection_id, so
// Telegram offers bots no way to react there.
var ErrBusinessReaction = errors.New("telegram: bots cannot react in business chats")

// EditMessageText replaces the text of a message the bot sent (on behalf
// of the business account, through its connection, in a business chat).
func (c *Client) EditMessageText(ctx context.Context, t Target, text string) (telego.Message, error) {
	m, err := c.bot.EditMessageText(ctx, &telego.EditMessageTextParams{ChatID: telego.ChatID{ID: t.ChatID},
		MessageID: int(t.MessageID), Text: text, BusinessConnectionID: t.BusinessConnectionID})
	if err != nil {
		return telego.Message{}, c.fail(ctx, "editMessageText", err)
	}
	if m == nil {
		return telego.Message{}, nil
	}
	return *m, nil
}

// DeleteMessage deletes a message for everyone. deleteMessage does not
// reach a business account's chats: those go through
// deleteBusinessMessages, which needs the connection's right to delete.
func (c *Client) DeleteMessage(ctx context.Context, t Target) error {
	if t.BusinessConnectionID != "" {
		if err := c.bot.DeleteBusinessMessages(ctx, &telego.DeleteBusinessMessagesParams{
			BusinessConnectionID: t.BusinessConnectionID, MessageIDs: []int{int(t.MessageID)}}); err != nil {
			return c.fail(ctx, "deleteBusinessMessages", err)
		}
		return nil
	}
	if err := c.bot.DeleteMessage(ctx, &telego.DeleteMessageParams{ChatID: telego.ChatID{ID: t.ChatID}, MessageID: int(t.MessageID)}); err != nil {
		return c.fail(ctx, "deleteMessage", err)
	}
	return nil
}

// SetMessageReaction sets the bot's reaction on a message; no emoji
// removes it. In a business chat it is ErrBusinessReaction, without a
// call.
func (c *Client) SetMessageReaction(ctx context.Context, t Target, emoji string) error {
	if t.BusinessConnectionID != "" {
		return ErrBusinessReaction
	}
	p := &telego.SetMessageReactionParams{ChatID: telego.ChatID{ID: t.ChatID}, MessageID: int(t.MessageID)}
	if emoji != "" {
		p.Reaction = []telego.ReactionType{&telego.ReactionTypeEmoji{Type: telego.ReactionEmoji, Emoji: emoji}}
	}
	if err := c.bot.SetMessageReaction(ctx, p); err != nil {
		return c.fail(ctx, "setMessageReaction", err)
	}
	return nil
}

// SendTyping shows "typing…" in the chat (its topic, its business chat)
// for about 5 seconds.
func (c *Client) SendTyping(ctx context.Context, chatID int64, o SendOptions) error {
	if err := c.bot.SendChatAction(ctx, &telego.SendChatActionParams{ChatID: telego.ChatID{ID: chatID},
		Action: telego.ChatActionTyping, MessageThreadID: int(o.ThreadID), BusinessConnectionID: o.BusinessConnectionID}); err != nil {
		return c.fail(ctx, "sendChatAction", err)
	}
	return nil
}
