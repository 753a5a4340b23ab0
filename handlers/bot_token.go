package handlers

import (
	"github.com/labstack/echo/v4"
)

// botToken is the OK button of the Update Token dialog.
func (s *Server) botToken(c echo.Context) error {
	ch, bot, err := s.requireBot(c)
	if err != nil {
		if ch != nil && isNoBot(err) {
			return s.botFormDone(c, ch, "update-token", err, "")
		}
		return err
	}
	bot, err = s.BotService.UpdateToken(c.Request().Context(), actor(c), ch, bot, c.FormValue("token"))
	if err != nil {
		return s.botFormDone(c, ch, "update-token", err, "")
	}
	return s.botFormDone(c, ch, "update-token", nil, tr(c, "Token of @%s updated; polling restarted.", bot.Username))
}
