package handlers

// GET/POST /api/v1/channels/{id}/messages: read a channel's messages in
// order from a cursor, and queue an outgoing message (agent+).

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// Messages API limits.
const (
	apiMessagesDefault = 100
	apiMessagesMax     = 500
	maxIdempotencyKey  = 255
)

// apiMessage is the JSON shape of a stored message. entities and media are
// Telegram's own JSON, passed through (null when absent).
type apiMessage struct {
	ID                int64           `json:"message_id"`
	ChannelID         string          `json:"channel_id"`
	ChatID            int64           `json:"chat_id"`
	ChatType          string          `json:"chat_type"`
	Direction         string          `json:"direction"`
	TelegramMessageID *int64          `json:"telegram_message_id"`
	From              *apiFrom        `json:"from,omitempty"`
	Type              string          `json:"type"`
	Text              string          `json:"text"`
	Entities          json.RawMessage `json:"entities"`
	Media             json.RawMessage `json:"media"`
	ReplyToMessageID  *int64          `json:"reply_to_message_id"`
	Status            string          `json:"status"`
	ErrorCode         int             `json:"error_code,omitempty"`
	ErrorDescription  string          `json:"error_description,omitempty"`
	EditedAt          *time.Time      `json:"edited_at"`
	MessageThreadID   *int64          `json:"message_thread_id,omitempty"`
	DeletedAt         *time.Time      `json:"deleted_at,omitempty"`
	// BusinessConnectionID: the message came or went through a connected
	// business account; absent otherwise.
	BusinessConnectionID string    `json:"business_connection_id,omitempty"`
	CreatedAt            time.Time `json:"created_at"`
	Timestamp            int64     `json:"timestamp"` // ms, Telegram's date for incoming
}

type apiFrom struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

// rawJSON passes stored JSON through only when it is valid, so one bad row
// cannot break the whole response.
func rawJSON(s string) json.RawMessage {
	if s = strings.TrimSpace(s); s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}

func (s *Server) apiMessageList(c echo.Context) error {
	ctx := c.Request().Context()
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	after, limit := int64(0), apiMessagesDefault
	if v := c.QueryParam("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return models.Invalid("after", "after must be a message id (a non-negative integer) from next_cursor.")
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > apiMessagesMax {
			return models.Invalid("limit", "limit must be between 1 and 500.")
		}
	}
	msgs, err := s.Store.ChannelMessagesAfter(ctx, ch.ID, after, limit)
	if err != nil {
		return err
	}
	out := make([]apiMessage, 0, len(msgs))
	next := after
	for _, m := range msgs {
		am := apiMessage{ID: m.ID, ChannelID: m.ChannelID, ChatID: m.ChatID, ChatType: m.ChatType, Direction: m.Direction,
			TelegramMessageID: m.TelegramMessageID, Type: m.Type, Text: m.Text, Entities: rawJSON(m.Entities), Media: rawJSON(m.Media),
			ReplyToMessageID: m.ReplyToMessageID, Status: m.Status, ErrorCode: m.ErrorCode, ErrorDescription: m.ErrorDescription,
			EditedAt: m.EditedAt, CreatedAt: m.CreatedAt, Timestamp: m.CreatedAt.UnixMilli(),
			MessageThreadID: m.MessageThreadID, DeletedAt: m.DeletedAt, BusinessConnectionID: m.BusinessConnectionID}
		if m.TelegramDate != nil {
			am.Timestamp = m.TelegramDate.UnixMilli()
		}
		if m.Direction == "in" {
			am.From = &apiFrom{ID: m.FromID, Username: m.FromUsername, DisplayName: m.FromName}
		}
		out = append(out, am)
		next = m.ID
	}
	// next_cursor is always usable: with no new messages it repeats after.
	return c.JSON(http.StatusOK, map[string]any{"messages": out, "next_cursor": next})
}

func (s *Server) apiMessageSend(c echo.Context) error {
	ctx := c.Request().Context()
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	out, err := readSendRequest(c)
	if err != nil {
		return err
	}
	out.ChannelID = ch.ID
	if out.BusinessConnectionID != "" {
		// The connection first: an unusable one is the clearer answer.
		if err := s.Store.CheckBusinessSend(ctx, ch.ID, out.BusinessConnectionID); err != nil && !errors.Is(err, store.ErrNoBot) {
			return err
		}
	}
	if err := s.checkSendAccess(c, ch.ID, out.ChatID, out.BusinessConnectionID); err != nil {
		return err
	}
	key := strings.TrimSpace(c.Request().Header.Get("Idempotency-Key"))
	if len(key) > maxIdempotencyKey {
		return models.Invalid("Idempotency-Key", "Idempotency-Key is at most 255 characters.")
	}
	out.IdempotencyKey = key
	msg, created, err := s.Store.QueueOutgoing(ctx, out)
	if errors.Is(err, store.ErrNoBot) {
		return c.JSON(http.StatusConflict, apiError{Error: apiErrorBody{Code: "no_bot", Message: "This channel has no connected bot to send through."}})
	}
	if err != nil {
		return err // ValidationError → 422 "invalid"
	}
	if created {
		if err := s.Store.NoteOutgoing(ctx, msg); err != nil {
			s.Log.WarnContext(ctx, "api: note outgoing", "message", msg.ID, "err", err)
		}
	}
	return c.JSON(http.StatusAccepted, map[string]any{"message_id": msg.ID, "status": msg.Status})
}

// checkSendAccess applies the send rules: a chat the bot never saw is 404
// for everyone (the key would otherwise send as the bot to any id), and an
// agent sends only into conversations the workbench shows them, like the
// console's reply box; for an agent the others do not exist either.
func (s *Server) checkSendAccess(c echo.Context, channelID string, chatID int64, bc string) error {
	acc, err := s.Store.ChatAccessOf(c.Request().Context(), channelID, chatID, bc)
	if err != nil {
		return err
	}
	if !acc.Known || (!acc.InWorkbench && !currentRole(c).AtLeast(models.RoleOperator)) {
		if bc != "" {
			return echo.NewHTTPError(http.StatusNotFound, "No customer with that chat_id wrote to this business account that you may send to.")
		}
		return echo.NewHTTPError(http.StatusNotFound, "This bot has no conversation with that chat_id that you may send to.")
	}
	return nil
}
