package handlers

// Full-text search (console page and GET /api/v1/search): message texts
// and captions of the conversations the workbench shows, newest first.

import (
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// searchParams reads q, channel_id and limit; a channel must exist.
func (s *Server) searchParams(c echo.Context) (store.SearchFilter, error) {
	f := store.SearchFilter{Query: strings.TrimSpace(c.QueryParam("q")), ChannelID: c.QueryParam("channel_id"), Limit: 20}
	if r := []rune(f.Query); len(r) > 200 {
		f.Query = string(r[:200])
	}
	if f.ChannelID != "" {
		if _, err := s.Store.Channel(c.Request().Context(), f.ChannelID); err != nil {
			return f, err
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxSearchResults {
			return f, models.Invalid("limit", "limit must be between 1 and 50.")
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Server) searchPage(c echo.Context) error {
	ctx := c.Request().Context()
	f, err := s.searchParams(c)
	if err != nil {
		return err
	}
	v := views.SearchView{Query: f.Query, ChannelID: f.ChannelID}
	if v.Channels, err = s.Store.ChannelChoices(ctx); err != nil {
		return err
	}
	if f.Query != "" {
		if v.Hits, err = s.Store.Search(ctx, f); err != nil {
			return err
		}
		v.Searched = true
	}
	return s.render(c, http.StatusOK, views.SearchPage(s.page(c, "Search", "search", views.Crumb{Label: "Search"}), v))
}

type apiSearchHit struct {
	MessageID      int64     `json:"message_id"`
	ConversationID int64     `json:"conversation_id"`
	ChannelID      string    `json:"channel_id"`
	Snippet        string    `json:"snippet"`
	CreatedAt      time.Time `json:"created_at"`
}

// snippetHTML is the API's snippet: HTML-escaped text with the matched
// terms in <mark>, safe to insert as HTML.
func snippetHTML(h store.SearchHit) string {
	var b strings.Builder
	for _, p := range h.Parts() {
		if p.Hit {
			b.WriteString("<mark>" + html.EscapeString(p.Text) + "</mark>")
		} else {
			b.WriteString(html.EscapeString(p.Text))
		}
	}
	return b.String()
}

func (s *Server) apiSearch(c echo.Context) error {
	f, err := s.searchParams(c)
	if err != nil {
		return err
	}
	if f.Query == "" {
		return models.Invalid("q", "Give the words to search for in q.")
	}
	hits, err := s.Store.Search(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := make([]apiSearchHit, 0, len(hits))
	for _, h := range hits {
		out = append(out, apiSearchHit{MessageID: h.MessageID, ConversationID: h.ConversationID, ChannelID: h.ChannelID, Snippet: snippetHTML(h), CreatedAt: h.CreatedAt})
	}
	return c.JSON(http.StatusOK, map[string]any{"results": out})
}
