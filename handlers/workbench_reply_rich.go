package handlers

// The rich parts of a workbench reply: an attached photo or document (the
// textarea is then its caption) and the quoted message.

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// readReply reads the reply form's file and quote; the caller fills the
// conversation, the text and the sender.
func readReply(c echo.Context) (store.OutgoingMessage, error) {
	var out store.OutgoingMessage
	var err error
	if out.ReplyToMessageID, err = optionalID(c.FormValue("reply_to_message_id"), "reply_to_message_id"); err != nil {
		return out, err
	}
	if !isUploadRoute(c) {
		return out, nil
	}
	form, err := readUpload(c)
	if err != nil {
		return out, err
	}
	out.File = form.file
	return out, nil
}

// noteReply moves the conversation up the list after a queued reply.
func (s *Server) noteReply(c echo.Context, conv *models.ConversationRow, msg *models.Message) {
	if err := s.Store.NoteOutgoing(c.Request().Context(), msg); err != nil {
		// The reply is queued; a stale list preview is not worth an error page.
		s.Log.WarnContext(c.Request().Context(), "workbench: note outgoing", "conversation", conv.ID, "err", err)
	}
}

// workbenchReplyForm answers the Quote and Cancel quote links (htmx) with
// the reply box, quoting ?reply_to= when given.
func (s *Server) workbenchReplyForm(c echo.Context) error {
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	cv := views.ConversationView{Conv: *conv, Filter: workbenchFilter(c), CSRF: csrfToken(c)}
	if err := s.withQuote(c, &cv); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.ReplyForm(cv))
}

// withQuote fills the reply box's quote from ?reply_to= (a Telegram
// message id of the conversation's chat); an unknown id is ignored.
func (s *Server) withQuote(c echo.Context, cv *views.ConversationView) error {
	id, err := strconv.ParseInt(c.QueryParam("reply_to"), 10, 64)
	if err != nil || id <= 0 {
		return nil
	}
	qs, err := s.Store.QuotedMessages(c.Request().Context(), cv.Conv.ChannelID, cv.Conv.ChatID, []int64{id})
	if err != nil {
		return err
	}
	if q, ok := qs[id]; ok && q.DeletedAt == nil {
		cv.ReplyTo, cv.ReplyQuote = &id, &q
	}
	return nil
}
