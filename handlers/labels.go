package handlers

// Labels: the Labels page (operator+ create and delete), the labels of a
// conversation (agent+, console side panel) and their JSON API.

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

func (s *Server) labelsPage(c echo.Context, status int, v views.LabelsView) error {
	var err error
	if v.Labels, err = s.Store.ListLabels(c.Request().Context()); err != nil {
		return err
	}
	return s.render(c, status, views.LabelsPage(s.page(c, "Labels", "labels", views.Crumb{Label: "Labels"}), v))
}

func (s *Server) labelList(c echo.Context) error {
	return s.labelsPage(c, http.StatusOK, views.LabelsView{})
}

func (s *Server) labelCreate(c echo.Context) error {
	name, color := c.FormValue("name"), c.FormValue("color")
	l, err := s.Store.CreateLabel(c.Request().Context(), actor(c), name, color)
	if v, ok := models.AsValidation(err); ok {
		return s.labelsPage(c, http.StatusUnprocessableEntity, views.LabelsView{NewName: name, NewColor: color, Errors: views.FieldErrors{v.Field: v.Message}})
	}
	if err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "Label %s created.", l.Name))
	return c.Redirect(http.StatusSeeOther, "/labels")
}

func (s *Server) labelDelete(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("lid"), 10, 64)
	if err != nil || id <= 0 {
		return store.ErrNotFound
	}
	if err := s.Store.DeleteLabel(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "Label deleted."))
	return c.Redirect(http.StatusSeeOther, "/labels")
}

// conversationLabels sets the open conversation's labels from the form's
// checked boxes.
func (s *Server) conversationLabels(c echo.Context) error {
	ctx := c.Request().Context()
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	if _, err := s.Store.SetConversationLabels(ctx, actor(c), conv.ID, form["labels"]); err != nil {
		return err
	}
	if !isHTMX(c) {
		return c.Redirect(http.StatusSeeOther, s.conversationURL(c, conv))
	}
	if conv, err = s.Store.Conversation(ctx, conv.ID); err != nil {
		return err
	}
	all, err := s.Store.ListLabels(ctx)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.LabelsPanel(views.ConversationView{Conv: *conv, Filter: workbenchFilter(c), CSRF: csrfToken(c), AllLabels: all}))
}

type apiLabel struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
}

func toAPILabels(ls []models.Label) []apiLabel {
	out := make([]apiLabel, 0, len(ls))
	for _, l := range ls {
		out = append(out, apiLabel{ID: l.ID, Name: l.Name, Color: l.Color})
	}
	return out
}

func (s *Server) apiLabelList(c echo.Context) error {
	ls, err := s.Store.ListLabels(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"labels": toAPILabels(ls)})
}

func (s *Server) apiLabelCreate(c echo.Context) error {
	var in struct {
		Name  string `json:"name"`
		Color string `json:"color"`
	}
	if err := bindJSON(c, &in, `{"name": "VIP", "color": "purple"}`); err != nil {
		return err
	}
	l, err := s.Store.CreateLabel(c.Request().Context(), actor(c), in.Name, in.Color)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, apiLabel{ID: l.ID, Name: l.Name, Color: l.Color})
}

func (s *Server) apiConversationLabels(c echo.Context) error {
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	var in struct {
		Labels []string `json:"labels"`
	}
	if err := bindJSON(c, &in, `{"labels": ["VIP", "refund"]}`); err != nil {
		return err
	}
	ls, err := s.Store.SetConversationLabels(c.Request().Context(), actor(c), conv.ID, in.Labels)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"labels": labelNames(ls)})
}

func labelNames(ls []models.Label) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

type apiConversation struct {
	ID            int64    `json:"id"`
	ChannelID     string   `json:"channel_id"`
	ChatID        int64    `json:"chat_id"`
	Title         string   `json:"title"`
	Status        string   `json:"status"`
	Assignee      *string  `json:"assignee"`
	Labels        []string `json:"labels"`
	Unread        int64    `json:"unread"`
	LastMessageAt string   `json:"last_message_at"`
	// The forum topic and the business connection of the conversation,
	// absent for a plain chat of the bot.
	MessageThreadID      int64  `json:"message_thread_id,omitempty"`
	BusinessConnectionID string `json:"business_connection_id,omitempty"`
}

// apiConversationList: GET /api/v1/conversations, the workbench list.
func (s *Server) apiConversationList(c echo.Context) error {
	f := store.ConversationFilter{ChannelID: c.QueryParam("channel_id"), Status: c.QueryParam("status"),
		Label: strings.TrimSpace(c.QueryParam("label")), Before: c.QueryParam("after"), Limit: 50, Reader: userID(c)}
	if f.ChannelID != "" {
		if _, err := s.Store.Channel(c.Request().Context(), f.ChannelID); err != nil {
			return err
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxConversationPage {
			return models.Invalid("limit", "limit must be between 1 and 200.")
		}
		f.Limit = n
	}
	switch a := c.QueryParam("assignee"); a {
	case "":
	case "none":
		f.Unassigned = true
	default:
		f.AssigneeEmail = strings.ToLower(a)
	}
	page, err := s.Store.ListConversations(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]apiConversation, 0, len(page.Rows))
	for _, r := range page.Rows {
		out = append(out, apiConversation{ID: r.ID, ChannelID: r.ChannelID, ChatID: r.ChatID, Title: r.Title, Status: r.Status,
			Assignee: r.AssignedEmail, Labels: labelNames(r.Labels), Unread: r.Unread, LastMessageAt: r.LastMessageAt.UTC().Format("2006-01-02T15:04:05Z07:00"),
			MessageThreadID: r.ThreadID, BusinessConnectionID: r.BusinessConnectionID})
	}
	var next *string
	if page.Next != "" {
		next = &page.Next
	}
	return c.JSON(http.StatusOK, map[string]any{"conversations": out, "next_cursor": next})
}
