package handlers

// Private notes on a conversation (console). A note is stored and
// announced to live views; nothing here touches the sender or the outbox.

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/views"
)

func (s *Server) noteCreate(c echo.Context) error {
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	text := c.FormValue("text")
	_, err = s.Store.AddNote(c.Request().Context(), actor(c), conv.ID, text)
	cv := views.ConversationView{Conv: *conv, Filter: workbenchFilter(c), CSRF: csrfToken(c)}
	if v, ok := models.AsValidation(err); ok {
		if !isHTMX(c) {
			setFlash(c, "error", tr(c, v.Message))
			return c.Redirect(http.StatusSeeOther, s.conversationURL(c, conv))
		}
		return s.render(c, http.StatusUnprocessableEntity, views.NoteFormBox(cv, views.NoteForm{Text: text, Error: v.Message}))
	}
	if err != nil {
		return err
	}
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, s.conversationURL(c, conv))
	}
	// The note itself arrives through the live stream.
	return s.render(c, http.StatusOK, views.NoteFormBox(cv, views.NoteForm{}))
}
