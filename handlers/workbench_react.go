package handlers

// POST /workbench/c/:cid/m/:mid/react: an agent reacts to a message
// through the bot (setMessageReaction); an empty emoji removes the bot's
// reaction. Answers htmx with the updated bubble.

import (
	"context"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram"
	"github.com/botdesk/botdesk/views"
)

func (s *Server) workbenchReact(c echo.Context) error {
	conv, row, err := s.wbMessage(c)
	if err != nil {
		return err
	}
	emoji := c.FormValue("emoji")
	if emoji != "" && !slices.Contains(views.ReactionChoices, emoji) {
		return models.Invalid("emoji", "Choose one of the offered reactions.")
	}
	if row.TelegramMessageID == nil || row.DeletedAt != nil {
		return models.Invalid("emoji", "This message is not in Telegram, so it cannot get a reaction.")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), messageChangeTimeout)
	defer cancel()
	client, err := s.botClient(ctx, &row.Message)
	if err != nil {
		return err
	}
	if err := client.SetMessageReaction(ctx, telegram.TargetOf(&row.Message), emoji); err != nil {
		err = telegramChangeError(err)
		if !isHTMX(c) {
			if he, ok := err.(*echo.HTTPError); ok {
				msg, _ := he.Message.(string)
				setFlash(c, "error", msg)
				return c.Redirect(http.StatusSeeOther, s.conversationURL(c, conv))
			}
		}
		return err
	}
	if err := s.Store.SetBotReaction(context.WithoutCancel(ctx), &row.Message, emoji, actor(c)); err != nil {
		return err
	}
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, s.conversationURL(c, conv))
	}
	return s.bubble(c, conv, row.ID)
}
