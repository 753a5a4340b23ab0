package handlers

// The Canned responses page (operator+) and the reply box's "/" list
// (agent+), whose texts are filled in for the open conversation.

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

func (s *Server) cannedPage(c echo.Context, status int, form views.CannedForm, errs views.FieldErrors) error {
	ctx := c.Request().Context()
	list, err := s.Store.ListCanned(ctx, "")
	if err != nil {
		return err
	}
	channels, err := s.Store.ChannelChoices(ctx)
	if err != nil {
		return err
	}
	v := views.CannedView{Responses: list, Channels: channels, New: form, Errors: errs}
	return s.render(c, status, views.CannedPage(s.page(c, "Canned responses", "canned", views.Crumb{Label: "Canned responses"}), v))
}

func (s *Server) cannedList(c echo.Context) error {
	return s.cannedPage(c, http.StatusOK, views.CannedForm{}, nil)
}

// cannedFormInput reads the console form; an empty channel is global.
func cannedFormInput(c echo.Context) (views.CannedForm, store.CannedInput) {
	f := views.CannedForm{Shortcut: c.FormValue("shortcut"), Text: c.FormValue("text"), ChannelID: strings.TrimSpace(c.FormValue("channel_id"))}
	in := store.CannedInput{Shortcut: f.Shortcut, Text: f.Text}
	if f.ChannelID != "" {
		in.ChannelID = &f.ChannelID
	}
	return f, in
}

func (s *Server) cannedCreate(c echo.Context) error {
	f, in := cannedFormInput(c)
	r, err := s.Store.CreateCanned(c.Request().Context(), actor(c), in)
	if v, ok := models.AsValidation(err); ok {
		return s.cannedPage(c, http.StatusUnprocessableEntity, f, views.FieldErrors{v.Field: v.Message})
	}
	if err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "Canned response /%s created.", r.Shortcut))
	return c.Redirect(http.StatusSeeOther, "/canned-responses")
}

func cannedID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("rid"), 10, 64)
	if err != nil || id <= 0 {
		return 0, store.ErrNotFound
	}
	return id, nil
}

func (s *Server) cannedUpdate(c echo.Context) error {
	id, err := cannedID(c)
	if err != nil {
		return err
	}
	_, in := cannedFormInput(c)
	r, err := s.Store.UpdateCanned(c.Request().Context(), actor(c), id, in)
	if v, ok := models.AsValidation(err); ok {
		setFlash(c, "error", tr(c, "Not saved: %s", tr(c, v.Message)))
		return c.Redirect(http.StatusSeeOther, "/canned-responses")
	}
	if err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "Canned response /%s saved.", r.Shortcut))
	return c.Redirect(http.StatusSeeOther, "/canned-responses")
}

func (s *Server) cannedDelete(c echo.Context) error {
	id, err := cannedID(c)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteCanned(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "Canned response deleted."))
	return c.Redirect(http.StatusSeeOther, "/canned-responses")
}

// cannedVars are the variable values for a conversation: the customer is
// the sender of the chat's latest incoming message.
func (s *Server) cannedVars(c echo.Context, conv *models.ConversationRow) (models.CannedVars, error) {
	var v models.CannedVars
	if u := currentUser(c); u != nil {
		v.AgentName = models.AgentName(u.Email)
	}
	from, err := s.Store.LatestSender(c.Request().Context(), &conv.Conversation)
	if err != nil {
		return v, err
	}
	v.FirstName, v.Username = models.FirstName(from.FromName), from.FromUsername
	return v, nil
}

// cannedPicker answers the reply box's "/" with the options of the
// conversation's channel, filled in.
func (s *Server) cannedPicker(c echo.Context) error {
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	list, err := s.Store.ListCanned(c.Request().Context(), conv.ChannelID)
	if err != nil {
		return err
	}
	vars, err := s.cannedVars(c, conv)
	if err != nil {
		return err
	}
	opts := make([]views.CannedOption, 0, len(list))
	for _, r := range list {
		opts = append(opts, views.CannedOption{Shortcut: r.Shortcut, Text: vars.Fill(r.Text)})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, http.StatusOK, views.CannedOptions(opts))
}
