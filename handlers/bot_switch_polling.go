package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/bots"
)

// botSwitchPolling deletes the bot's webhook and restarts polling, after
// the operator confirmed it in the conflict notice.
func (s *Server) botSwitchPolling(c echo.Context) error {
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	back := "/channels/" + ch.ID + "/chatbot"
	if bot == nil {
		setFlash(c, "error", tr(c, "This channel has no bot to switch to polling."))
		return c.Redirect(http.StatusSeeOther, back)
	}
	err = s.BotService.SwitchToPolling(c.Request().Context(), actor(c), ch, bot)
	var be *bots.Error
	if errors.As(err, &be) && be.Code == bots.CodeSwitchFailed {
		setFlash(c, "error", tr(c, "The bot was not switched to polling: %s", tr(c, be.Message)))
		return c.Redirect(http.StatusSeeOther, back)
	}
	if err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "The webhook of @%s was deleted; botdesk is polling it now.", bot.Username))
	return c.Redirect(http.StatusSeeOther, back)
}
