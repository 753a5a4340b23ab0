package handlers

// Temporary panels for tabs whose features land with later issues; each is
// replaced by its feature's handler file.

import (
	"context"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/views"
)

func (s *Server) webhookPanel(c echo.Context, ch *models.Channel, bot *models.Bot) (templ.Component, error) {
	return views.PendingPanel("Webhook", "Configure Webhook arrives with the callbacks feature."), nil
}

// stopBot stops a bot's poller before its rows go away.
func (s *Server) stopBot(ctx context.Context, bot *models.Bot) {
	if s.Bots != nil {
		s.Bots.Stop(bot.TelegramID)
	}
}
