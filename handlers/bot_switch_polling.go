package handlers

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/telegram"
)

// pollingSwitcher is the part of the bot runner behind "Switch this bot to
// polling" (telegram.Supervisor implements it). It is asserted rather than
// added to BotRunner so runners that cannot do it (tests, a read-only
// console) need not.
type pollingSwitcher interface {
	SwitchToPolling(ctx context.Context, botTelegramID int64) error
}

func (s *Server) registerPollerRoutes(r router) {
	r.post("/channels/:id/bot/switch-polling", asOperator, s.botSwitchPolling)
}

// botSwitchPolling deletes the bot's webhook and restarts polling, after
// the operator confirmed it in the conflict notice. It is audited: it
// takes the bot away from whatever service set the webhook.
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
	sw, ok := s.Bots.(pollingSwitcher)
	if !ok {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "Polling is not running in this botdesk process.")
	}
	ctx := c.Request().Context()
	err = sw.SwitchToPolling(ctx, bot.TelegramID)
	detail := "@" + bot.Username
	if err != nil {
		detail += ": failed: " + switchFailure(err)
	}
	if aerr := s.Store.Audit(ctx, actor(c), "bot.switch_polling", "channel", ch.ID, detail); aerr != nil {
		return aerr
	}
	if err != nil {
		s.Log.WarnContext(c.Request().Context(), "switch to polling failed", "channel", ch.ID, "bot_id", bot.TelegramID, "err", err)
		setFlash(c, "error", tr(c, "The bot was not switched to polling: %s", tr(c, switchFailure(err))))
		return c.Redirect(http.StatusSeeOther, back)
	}
	setFlash(c, "success", tr(c, "The webhook of @%s was deleted; botdesk is polling it now.", bot.Username))
	return c.Redirect(http.StatusSeeOther, back)
}

// switchFailure says in plain words why deleteWebhook or the restart
// failed. Telegram errors are already token-free; anything else is
// internal and not shown.
func switchFailure(err error) string {
	var op *telegram.OpError
	switch {
	case errors.Is(err, telegram.ErrUnauthorized):
		return "Telegram rejected the bot token. Paste a new one with Update Token."
	case errors.Is(err, telegram.ErrUnavailable):
		return "Telegram could not be reached. Try again in a moment."
	case errors.As(err, &op):
		return telegram.RedactString(op.Err.Error())
	}
	return "an internal error occurred; it has been logged."
}
