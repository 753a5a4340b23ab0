package handlers

// Temporary panels for tabs whose features land with later issues; each is
// replaced by its feature's handler file.

import (
	"context"

	"github.com/botdesk/botdesk/models"
)

// stopBot stops a bot's poller before its rows go away.
func (s *Server) stopBot(ctx context.Context, bot *models.Bot) {
	if s.Bots != nil {
		s.Bots.Stop(bot.TelegramID)
	}
}
