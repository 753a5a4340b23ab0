package handlers

// Agent actions on a conversation: reply, resolve, reopen, assign to me
// (reassigning to another agent: workbench_reassign.go).
// htmx gets the re-rendered part back; without JS each action redirects to
// the conversation (post/redirect/get). Live views learn of every change
// from the hub, so nothing here pushes to other agents itself.

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

func (s *Server) conversationURL(c echo.Context, conv *models.ConversationRow) string {
	return workbenchFilter(c).With("/workbench/c/" + views.Itoa(conv.ID))
}

func (s *Server) workbenchReply(c echo.Context) error {
	ctx := c.Request().Context()
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	u := currentUser(c)
	if u == nil {
		return store.ErrForbidden
	}
	text := c.FormValue("text")
	out, err := readReply(c)
	if err == nil {
		out.Into(&conv.Conversation)
		out.Text, out.SentBy = text, &u.ID
		var msg *models.Message
		if msg, _, err = s.Store.QueueOutgoing(ctx, out); err == nil {
			s.noteReply(c, conv, msg)
		}
	}
	if err != nil {
		msgText := ""
		if v, ok := models.AsValidation(err); ok {
			msgText = v.Message
		} else if errors.Is(err, store.ErrNoBot) {
			msgText = "This channel has no connected bot, so nothing can be sent. An operator can connect one on Chatbot Management."
		} else {
			return err
		}
		if !isHTMX(c) {
			setFlash(c, "error", msgText)
			return c.Redirect(http.StatusSeeOther, s.conversationURL(c, conv))
		}
		cv := views.ConversationView{Conv: *conv, Filter: workbenchFilter(c), CSRF: csrfToken(c), Reply: text, ReplyError: msgText,
			ReplyTo: out.ReplyToMessageID}
		return s.render(c, http.StatusUnprocessableEntity, views.ReplyForm(cv))
	}
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, s.conversationURL(c, conv))
	}
	// The bubble itself arrives through the live stream, in order.
	return s.render(c, http.StatusOK, views.ReplyForm(views.ConversationView{Conv: *conv, Filter: workbenchFilter(c), CSRF: csrfToken(c)}))
}

// conversationAction runs one state change and answers with the updated
// header (htmx) or a redirect.
func (s *Server) conversationAction(c echo.Context, audit string, do func(ctx context.Context, conv *models.ConversationRow) error) error {
	ctx := c.Request().Context()
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	err = s.Store.WithTx(ctx, func(ctx context.Context) error {
		if err := do(ctx, conv); err != nil {
			return err
		}
		return s.Store.Audit(ctx, actor(c), audit, "conversation", views.Itoa(conv.ID), views.ConvTitle(conv.Conversation))
	})
	if err != nil {
		return err
	}
	return s.headAnswer(c, conv)
}

// headAnswer is an action's answer: the updated header (htmx) or a
// redirect to the conversation.
func (s *Server) headAnswer(c echo.Context, conv *models.ConversationRow) error {
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, s.conversationURL(c, conv))
	}
	conv, err := s.Store.Conversation(c.Request().Context(), conv.ID)
	if err != nil {
		return err
	}
	cv := views.ConversationView{Conv: *conv, Filter: workbenchFilter(c), CSRF: csrfToken(c), Me: userID(c)}
	return s.render(c, http.StatusOK, views.ConversationHead(cv))
}

func (s *Server) workbenchResolve(c echo.Context) error {
	return s.conversationAction(c, "conversation.resolve", func(ctx context.Context, conv *models.ConversationRow) error {
		return s.Store.SetConversationStatus(ctx, conv.ID, store.ConversationResolved)
	})
}

func (s *Server) workbenchReopen(c echo.Context) error {
	return s.conversationAction(c, "conversation.reopen", func(ctx context.Context, conv *models.ConversationRow) error {
		return s.Store.SetConversationStatus(ctx, conv.ID, store.ConversationOpen)
	})
}

// workbenchAssign is "Assign to me", through the one assignment rule
// (store.AssignTo, audited there).
func (s *Server) workbenchAssign(c echo.Context) error {
	u := currentUser(c)
	if u == nil {
		return store.ErrForbidden
	}
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	if _, err := s.Store.AssignTo(c.Request().Context(), actor(c), conv.ID, u.ID); err != nil {
		return err
	}
	return s.headAnswer(c, conv)
}
