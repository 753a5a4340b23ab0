package handlers

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
)

// channelDelete removes a channel after the admin typed its name.
func (s *Server) channelDelete(c echo.Context) error {
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	if c.FormValue("confirm") != ch.Name {
		setFlash(c, "error", tr(c, "The channel was not deleted: type its name exactly to confirm."))
		return c.Redirect(http.StatusSeeOther, "/channels/"+ch.ID+"/overview")
	}
	if err := s.deleteChannel(c, ch, bot); err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "Channel %s deleted.", ch.Name))
	return c.Redirect(http.StatusSeeOther, "/channels")
}

// deleteChannel stops the bot (if any), deletes the channel with all its
// rows in one transaction, and audits it. Shared by the console and the API.
func (s *Server) deleteChannel(c echo.Context, ch *models.Channel, bot *models.Bot) error {
	ctx := c.Request().Context()
	if bot != nil {
		s.BotService.Stop(bot)
	}
	return s.Store.WithTx(ctx, func(ctx2 context.Context) error {
		if err := s.Store.DeleteChannel(ctx2, ch.ID); err != nil {
			return err
		}
		return s.Store.Audit(ctx2, actor(c), "channel.delete", "channel", ch.ID, ch.Name)
	})
}
