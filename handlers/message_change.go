package handlers

// Editing and deleting a sent message, from the API (PATCH/DELETE
// /api/v1/channels/{id}/messages/{message_id}) and from the workbench. The
// Bot API call comes first; only what Telegram accepted is recorded,
// together with its "status" callback (edited / deleted) and audit row.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram"
)

// messageChangeTimeout bounds the Bot API call of an edit or delete.
const messageChangeTimeout = 20 * time.Second

// statusPayload builds the "status" callback of an edit or delete.
func statusPayload(status string) func(m *models.Message) ([]byte, error) {
	return func(m *models.Message) ([]byte, error) {
		return json.Marshal(callbacks.StatusEvent{MessageID: strconv.FormatInt(m.ID, 10), ChannelID: m.ChannelID,
			ChatID: m.ChatID, Status: status, Timestamp: callbacks.Millis(time.Now())})
	}
}

// loadChangeable resolves a message an edit or delete may target for the
// caller: sent by the bot, in the channel, and (for agents) in a chat the
// workbench shows them.
func (s *Server) loadChangeable(c echo.Context, channelID string, rawID string) (*models.Message, error) {
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil || id <= 0 {
		return nil, fmt.Errorf("message %q: %w", rawID, store.ErrNotFound)
	}
	m, err := s.Store.ChannelMessage(c.Request().Context(), channelID, id)
	if err != nil {
		return nil, err
	}
	if err := s.agentMaySee(c, m.ChannelID, m.ChatID); err != nil {
		return nil, err
	}
	if err := store.CheckChangeable(m); err != nil {
		return nil, err
	}
	return m, nil
}

// agentMaySee hides chats outside the workbench from agents (not found, as
// loadConversation does).
func (s *Server) agentMaySee(c echo.Context, channelID string, chatID int64) error {
	if currentRole(c).AtLeast(models.RoleOperator) {
		return nil
	}
	in, err := s.Store.ChatInWorkbench(c.Request().Context(), channelID, chatID)
	if err != nil {
		return err
	}
	if !in {
		return fmt.Errorf("chat %d not in workbench: %w", chatID, store.ErrNotFound)
	}
	return nil
}

// botClient is the Bot API client of the bot that sent m.
func (s *Server) botClient(ctx context.Context, m *models.Message) (*telegram.Client, error) {
	bot, err := s.Store.BotByTelegramID(ctx, m.BotTelegramID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && bot.ChannelID != m.ChannelID) {
		return nil, echo.NewHTTPError(http.StatusConflict, "The bot that sent this message was deleted, so it can no longer be changed.")
	}
	if err != nil {
		return nil, err
	}
	c, err := telegram.ClientFromSealed(s.Sealer, bot.TokenEnc, s.Options.TelegramAPI, s.HTTPClient)
	if err != nil {
		return nil, fmt.Errorf("message change: client: %w", err)
	}
	return c, nil
}

// telegramChangeError turns a failed Bot API call into the answer: Telegram's
// refusal in plain words (409), or Telegram being unreachable (502).
func telegramChangeError(err error) error {
	if plain, ok := telegram.Refusal(err); ok {
		return echo.NewHTTPError(http.StatusConflict, plain)
	}
	switch {
	case errors.Is(err, telegram.ErrUnauthorized):
		return echo.NewHTTPError(http.StatusBadGateway, "Telegram rejected the bot's token; an operator can update it on Chatbot Management.")
	case errors.Is(err, telegram.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return echo.NewHTTPError(http.StatusBadGateway, "Telegram is unreachable right now; nothing was changed. Try again in a moment.")
	}
	var ra *telegram.RetryAfterError
	if errors.As(err, &ra) {
		return echo.NewHTTPError(http.StatusTooManyRequests, fmt.Sprintf("Telegram asks the bot to wait %s before changing more messages.", ra.After))
	}
	return fmt.Errorf("message change: %w", err)
}

// editOutgoing edits m's text in Telegram, then records it.
func (s *Server) editOutgoing(c echo.Context, m *models.Message, text string) (*models.Message, error) {
	text, err := store.CheckEditText(m, text)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), messageChangeTimeout)
	defer cancel()
	client, err := s.botClient(ctx, m)
	if err != nil {
		return nil, err
	}
	if _, err := client.EditMessageText(ctx, telegram.TargetOf(m), text); err != nil {
		return nil, telegramChangeError(err)
	}
	// Telegram has the new text: record it even if the caller went away.
	return s.Store.RecordOutgoingEdit(context.WithoutCancel(ctx), m.ID, text,
		store.ChangeRecord{Actor: actor(c), Payload: statusPayload(callbacks.StatusEdited)})
}

// deleteOutgoing deletes m in Telegram, then records it.
func (s *Server) deleteOutgoing(c echo.Context, m *models.Message) (*models.Message, error) {
	ctx, cancel := context.WithTimeout(c.Request().Context(), messageChangeTimeout)
	defer cancel()
	client, err := s.botClient(ctx, m)
	if err != nil {
		return nil, err
	}
	if err := client.DeleteMessage(ctx, telegram.TargetOf(m)); err != nil {
		return nil, telegramChangeError(err)
	}
	return s.Store.RecordOutgoingDelete(context.WithoutCancel(ctx), m.ID,
		store.ChangeRecord{Actor: actor(c), Payload: statusPayload(callbacks.StatusDeleted)})
}

func (s *Server) apiMessageEdit(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	var in struct {
		Text *string `json:"text"`
	}
	if err := json.NewDecoder(c.Request().Body).Decode(&in); err != nil || in.Text == nil {
		return models.Invalid("text", `Send a JSON body like {"text": "Corrected text"}.`)
	}
	m, err := s.loadChangeable(c, ch.ID, c.Param("mid"))
	if err != nil {
		return err
	}
	m, err = s.editOutgoing(c, m, *in.Text)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"message_id": m.ID, "status": callbacks.StatusEdited, "text": m.Text, "edited_at": m.EditedAt})
}

func (s *Server) apiMessageDelete(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	m, err := s.loadChangeable(c, ch.ID, c.Param("mid"))
	if err != nil {
		return err
	}
	if m, err = s.deleteOutgoing(c, m); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"message_id": m.ID, "status": callbacks.StatusDeleted, "deleted_at": m.DeletedAt})
}
