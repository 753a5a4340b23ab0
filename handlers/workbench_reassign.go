package handlers

// Reassigning a conversation to another agent: the side panel's form and
// PUT /api/v1/conversations/{id}/assignee. Both, and "Assign to me"
// (workbench_actions.go), go through store.AssignTo, the one rule of who
// may take a conversation.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// assigneeByEmail resolves the form's or the body's assignee; whether that
// user may take the conversation is store.AssignTo's decision.
func (s *Server) assigneeByEmail(ctx context.Context, email string) (int64, error) {
	if email = strings.TrimSpace(email); email == "" {
		return 0, models.Invalid("assignee", "Choose an agent.")
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return 0, models.Invalid("assignee", "Choose an active agent, operator or admin.")
	}
	if err != nil {
		return 0, fmt.Errorf("assignee: %w", err)
	}
	return u.ID, nil
}

// assignByEmail gives the conversation to the user with that email.
func (s *Server) assignByEmail(c echo.Context, conv *models.ConversationRow, email string) (*models.User, error) {
	ctx := c.Request().Context()
	id, err := s.assigneeByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	return s.Store.AssignTo(ctx, actor(c), conv.ID, id)
}

// workbenchReassign: POST /workbench/c/{cid}/reassign (agent+).
func (s *Server) workbenchReassign(c echo.Context) error {
	ctx := c.Request().Context()
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	_, err = s.assignByEmail(c, conv, c.FormValue("assignee"))
	invalid, isInvalid := models.AsValidation(err)
	if err != nil && !isInvalid {
		return err
	}
	if !isHTMX(c) {
		if isInvalid {
			setFlash(c, "error", tr(c, invalid.Message))
		} else {
			setFlash(c, "success", tr(c, "Conversation reassigned."))
		}
		return c.Redirect(http.StatusSeeOther, s.conversationURL(c, conv))
	}
	if conv, err = s.Store.Conversation(ctx, conv.ID); err != nil {
		return err
	}
	cv, err := s.assignView(c, conv)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if isInvalid {
		cv.AssignError, status = invalid.Message, http.StatusUnprocessableEntity
	}
	head := cv
	head.HeadOOB = true
	return s.render(c, status, templ.Join(views.AssignPanel(cv), views.ConversationHead(head)))
}

// assignView is what the assignment panel and the header need.
func (s *Server) assignView(c echo.Context, conv *models.ConversationRow) (views.ConversationView, error) {
	cv := views.ConversationView{Conv: *conv, Filter: workbenchFilter(c), CSRF: csrfToken(c), Me: userID(c)}
	var err error
	cv.Assignees, err = s.Store.Assignees(c.Request().Context(), conv.ChannelID)
	return cv, err
}

// apiConversationAssignee: PUT /api/v1/conversations/{id}/assignee
// {"assignee": email} (agent+; the conversation must be one the
// workbench shows).
func (s *Server) apiConversationAssignee(c echo.Context) error {
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	var in struct {
		Assignee string `json:"assignee"`
	}
	if err := bindJSON(c, &in, `{"assignee": "agent@example.com"}`); err != nil {
		return err
	}
	u, err := s.assignByEmail(c, conv, in.Assignee)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"id": conv.ID, "assignee": u.Email})
}
