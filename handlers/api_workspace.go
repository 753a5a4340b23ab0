package handlers

// The workspace JSON API (DESIGN.md "Workspace"): canned responses and
// private notes, with the same roles and object rules as the console.

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

type apiCanned struct {
	ID        int64   `json:"id"`
	Shortcut  string  `json:"shortcut"`
	Text      string  `json:"text"`
	ChannelID *string `json:"channel_id"`
}

func toAPICanned(r *models.CannedResponse) apiCanned {
	return apiCanned{ID: r.ID, Shortcut: r.Shortcut, Text: r.Text, ChannelID: r.ChannelID}
}

type apiCannedBody struct {
	Shortcut  string  `json:"shortcut"`
	Text      string  `json:"text"`
	ChannelID *string `json:"channel_id"`
}

const cannedExample = `{"shortcut": "thanks", "text": "Thank you, {first_name}!", "channel_id": null}`

func (s *Server) apiCannedList(c echo.Context) error {
	ctx := c.Request().Context()
	chID := c.QueryParam("channel_id")
	if chID != "" {
		if _, err := s.Store.Channel(ctx, chID); err != nil {
			return err
		}
	}
	list, err := s.Store.ListCanned(ctx, chID)
	if err != nil {
		return err
	}
	out := make([]apiCanned, 0, len(list))
	for i := range list {
		out = append(out, toAPICanned(&list[i]))
	}
	return c.JSON(http.StatusOK, map[string]any{"canned_responses": out})
}

func (s *Server) apiCannedCreate(c echo.Context) error {
	var in apiCannedBody
	if err := bindJSON(c, &in, cannedExample); err != nil {
		return err
	}
	r, err := s.Store.CreateCanned(c.Request().Context(), actor(c), store.CannedInput(in))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toAPICanned(r))
}

func (s *Server) apiCannedUpdate(c echo.Context) error {
	id, err := cannedID(c)
	if err != nil {
		return err
	}
	var in apiCannedBody
	if err := bindJSON(c, &in, cannedExample); err != nil {
		return err
	}
	r, err := s.Store.UpdateCanned(c.Request().Context(), actor(c), id, store.CannedInput(in))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPICanned(r))
}

func (s *Server) apiCannedDelete(c echo.Context) error {
	id, err := cannedID(c)
	if err != nil {
		return err
	}
	if err := s.Store.DeleteCanned(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type apiNote struct {
	ID        int64     `json:"id"`
	Text      string    `json:"text"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
}

func toAPINote(n *models.ConversationNote) apiNote {
	return apiNote{ID: n.ID, Text: n.Text, Author: n.Author, CreatedAt: n.CreatedAt}
}

func (s *Server) apiNoteList(c echo.Context) error {
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	notes, err := s.Store.ListNotes(c.Request().Context(), conv.ID)
	if err != nil {
		return err
	}
	out := make([]apiNote, 0, len(notes))
	for i := range notes {
		out = append(out, toAPINote(&notes[i]))
	}
	return c.JSON(http.StatusOK, map[string]any{"notes": out})
}

func (s *Server) apiNoteCreate(c echo.Context) error {
	conv, err := s.loadConversation(c, c.Param("cid"))
	if err != nil {
		return err
	}
	var in struct {
		Text string `json:"text"`
	}
	if err := bindJSON(c, &in, `{"text": "Customer called, refund approved"}`); err != nil {
		return err
	}
	n, err := s.Store.AddNote(c.Request().Context(), actor(c), conv.ID, in.Text)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/conversations/"+strconv.FormatInt(conv.ID, 10)+"/notes")
	return c.JSON(http.StatusCreated, toAPINote(n))
}
