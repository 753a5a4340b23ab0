package handlers

// The workbench's Edit and Delete of a sent message: the form or the
// confirmation (htmx partial, or a full page on a direct load), and the
// actions, which answer htmx with the updated bubble and otherwise
// redirect back to the conversation.

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// wbMessage resolves :cid and :mid to a conversation the workbench shows
// and a message of its chat.
func (s *Server) wbMessage(c echo.Context) (*models.ConversationRow, *models.MessageRow, error) {
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return nil, nil, err
	}
	id, err := strconv.ParseInt(c.Param("mid"), 10, 64)
	if err != nil || id <= 0 {
		return nil, nil, store.ErrNotFound
	}
	row, err := s.Store.MessageRowByID(c.Request().Context(), id)
	if err != nil {
		return nil, nil, err
	}
	if row.ChannelID != conv.ChannelID || row.ConversationKey() != conv.Key() {
		return nil, nil, store.ErrNotFound
	}
	return conv, row, nil
}

func (s *Server) changeView(c echo.Context, conv *models.ConversationRow, row *models.MessageRow) views.MessageChangeView {
	return views.MessageChangeView{ConvID: conv.ID, Msg: *row, CSRF: csrfToken(c), Filter: workbenchFilter(c), Text: row.Text}
}

// bubble renders one message as the conversation shows it.
func (s *Server) bubble(c echo.Context, conv *models.ConversationRow, id int64) error {
	ctx := c.Request().Context()
	row, err := s.Store.MessageRowByID(ctx, id)
	if err != nil {
		return err
	}
	kw, err := s.highlightFor(ctx, conv.ChannelID)
	if err != nil {
		return err
	}
	mvs, err := s.messageViews(ctx, &conv.Conversation, []models.MessageRow{*row}, kw)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Message(mvs[0]))
}

func (s *Server) workbenchMessage(c echo.Context) error {
	conv, row, err := s.wbMessage(c)
	if err != nil {
		return err
	}
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, s.conversationURL(c, conv))
	}
	return s.bubble(c, conv, row.ID)
}

func (s *Server) workbenchEditForm(c echo.Context) error { return s.messageChangeForm(c, true) }

func (s *Server) workbenchDeleteForm(c echo.Context) error { return s.messageChangeForm(c, false) }

// messageChangeForm shows the edit form (edit) or the delete confirmation
// of a sent message: the fragment for htmx, a whole page for a direct load.
func (s *Server) messageChangeForm(c echo.Context, edit bool) error {
	conv, row, err := s.wbMessage(c)
	if err != nil {
		return err
	}
	if err := store.CheckChangeable(&row.Message); err != nil {
		return err
	}
	v := s.changeView(c, conv, row)
	title, fragment := "Delete message", views.DeleteMessageDialog(v)
	if edit {
		title, fragment = "Edit message", views.EditMessageForm(v)
	}
	if isHTMX(c) {
		return s.render(c, http.StatusOK, fragment)
	}
	return s.render(c, http.StatusOK, views.MessageChangePage(s.page(c, title, "workbench", workbenchCrumb), v, edit))
}

// changeFailed shows a refused change: the form again with the reason
// (htmx) or a flash on the conversation.
func (s *Server) changeFailed(c echo.Context, conv *models.ConversationRow, v views.MessageChangeView, err error, edit bool) error {
	msg := ""
	var he *echo.HTTPError
	if val, ok := models.AsValidation(err); ok {
		msg = val.Message
	} else if errors.As(err, &he) && (he.Code < 500 || he.Code == http.StatusBadGateway) {
		msg, _ = he.Message.(string)
	}
	if msg == "" {
		return err
	}
	if !isHTMX(c) {
		setFlash(c, "error", msg)
		return c.Redirect(http.StatusSeeOther, s.conversationURL(c, conv))
	}
	v.Error = msg
	if edit {
		return s.render(c, http.StatusUnprocessableEntity, views.EditMessageForm(v))
	}
	// The dialog stays open (it closes on success only) and says why; the
	// bubble is unchanged.
	c.Response().Header().Set("HX-Retarget", "#msg-delete-feedback")
	c.Response().Header().Set("HX-Reswap", "innerHTML")
	return s.render(c, http.StatusUnprocessableEntity, views.ChangeError(msg))
}

func (s *Server) workbenchEdit(c echo.Context) error {
	conv, row, err := s.wbMessage(c)
	if err != nil {
		return err
	}
	v := s.changeView(c, conv, row)
	v.Text = c.FormValue("text")
	if err := store.CheckChangeable(&row.Message); err != nil {
		return s.changeFailed(c, conv, v, err, true)
	}
	if _, err := s.editOutgoing(c, &row.Message, v.Text); err != nil {
		return s.changeFailed(c, conv, v, err, true)
	}
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, s.conversationURL(c, conv))
	}
	return s.bubble(c, conv, row.ID)
}

func (s *Server) workbenchDelete(c echo.Context) error {
	conv, row, err := s.wbMessage(c)
	if err != nil {
		return err
	}
	v := s.changeView(c, conv, row)
	if err := store.CheckChangeable(&row.Message); err != nil {
		return s.changeFailed(c, conv, v, err, false)
	}
	if _, err := s.deleteOutgoing(c, &row.Message); err != nil {
		return s.changeFailed(c, conv, v, err, false)
	}
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, s.conversationURL(c, conv))
	}
	return s.bubble(c, conv, row.ID)
}
