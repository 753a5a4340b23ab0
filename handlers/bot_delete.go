package handlers

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
)

// errConfirmUsername: the typed confirmation did not match.
func errConfirmUsername(bot *models.Bot) error {
	return models.Invalid("confirm", "The bot was not deleted: type @"+bot.Username+" exactly to confirm.")
}

// confirmsBot accepts the username typed with or without @, in any case
// (Telegram usernames are case-insensitive).
func confirmsBot(typed string, bot *models.Bot) bool {
	typed = strings.TrimPrefix(strings.TrimSpace(typed), "@")
	return typed != "" && strings.EqualFold(typed, bot.Username)
}

// botDelete is the OK button of the Delete dialog (admins only).
func (s *Server) botDelete(c echo.Context) error {
	ch, bot, err := s.requireBot(c)
	if err != nil {
		if ch != nil && isNoBot(err) {
			return s.botFormDone(c, ch, "delete-bot", err, "")
		}
		return err
	}
	if !confirmsBot(c.FormValue("confirm"), bot) {
		return s.botFormDone(c, ch, "delete-bot", errConfirmUsername(bot), "")
	}
	n, err := s.BotService.Delete(c.Request().Context(), actor(c), ch, bot)
	if err != nil {
		return s.botFormDone(c, ch, "delete-bot", err, "")
	}
	return s.botFormDone(c, ch, "delete-bot", nil, tr(c, "Bot @%s deleted; %d synced groups/channels removed. Message history stays readable.", bot.Username, n))
}
