package handlers

import (
	"github.com/labstack/echo/v4"
)

// botConnect is the Connect button of Create Bot and Connect Existing Bot.
func (s *Server) botConnect(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	form := "connect"
	if c.FormValue("via") == "create" {
		form = "create"
	}
	bot, _, err := s.BotService.Connect(c.Request().Context(), actor(c), ch, c.FormValue("token"))
	if err != nil {
		return s.botFormDone(c, ch, form, err, "")
	}
	return s.botFormDone(c, ch, form, nil, tr(c, "Bot @%s connected. Polling for updates starts now.", bot.Username))
}
