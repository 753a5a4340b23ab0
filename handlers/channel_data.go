package handlers

// Retention and erasure of a channel's data (docs/operations.md): the
// retention_days setting (operator+) and the erasure of one Telegram
// user's data (admin), in the console and the API.

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
)

// eraseConfirmWord is what the admin types to confirm an erasure.
const eraseConfirmWord = "ERASE"

// retentionSave is the console form of the Overview tab.
func (s *Server) retentionSave(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	days, err := strconv.Atoi(strings.TrimSpace(c.FormValue("retention_days")))
	if err != nil {
		return models.Invalid("retention_days", "Retention is a whole number of days; 0 keeps messages forever.")
	}
	if _, err := s.Store.SetRetention(c.Request().Context(), actor(c), ch.ID, days); err != nil {
		return err
	}
	msg := tr(c, "Messages are kept forever.")
	if days > 0 {
		msg = tr(c, "Messages and media older than %d days will be deleted.", days)
	}
	setFlash(c, "success", msg)
	return c.Redirect(http.StatusSeeOther, "/channels/"+ch.ID+"/overview")
}

// contactErase is the console form: the admin enters the Telegram user id
// and types ERASE.
func (s *Server) contactErase(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	uid, err := strconv.ParseInt(strings.TrimSpace(c.FormValue("telegram_user_id")), 10, 64)
	if err != nil || uid <= 0 {
		return models.Invalid("telegram_user_id", "Enter the Telegram user id (a positive number, the from.id of their messages).")
	}
	if strings.TrimSpace(c.FormValue("confirm")) != eraseConfirmWord {
		return models.Invalid("confirm", "Type "+eraseConfirmWord+" to confirm the erasure.")
	}
	e, err := s.Store.EraseContact(c.Request().Context(), actor(c), ch.ID, uid)
	if err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "Erased Telegram user %d: %d messages, %d media files, %d conversations, %d callback events.",
		uid, e.Messages, e.MediaFiles, e.Conversations, e.QueuedEvents))
	return c.Redirect(http.StatusSeeOther, "/channels/"+ch.ID+"/overview")
}

// apiChannelUpdate is PUT /api/v1/channels/{id} {retention_days}.
func (s *Server) apiChannelUpdate(c echo.Context) error {
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	var in struct {
		RetentionDays *int `json:"retention_days"`
	}
	if err := bindJSON(c, &in, `{"retention_days": 30}`); err != nil {
		return err
	}
	if in.RetentionDays == nil {
		return models.Invalid("retention_days", "retention_days is required (0 keeps messages forever).")
	}
	if ch, err = s.Store.SetRetention(c.Request().Context(), actor(c), ch.ID, *in.RetentionDays); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPIChannel(ch, bot))
}

// apiContactErase is DELETE /api/v1/channels/{id}/contacts/{telegram_user_id}.
func (s *Server) apiContactErase(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	uid, err := strconv.ParseInt(c.Param("uid"), 10, 64)
	if err != nil || uid <= 0 {
		return models.Invalid("telegram_user_id", "The Telegram user id is a positive number.")
	}
	e, err := s.Store.EraseContact(c.Request().Context(), actor(c), ch.ID, uid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, e)
}
