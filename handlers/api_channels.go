package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
)

// apiChannel is the JSON shape of a channel.
type apiChannel struct {
	ID            string               `json:"id"`
	Name          string               `json:"name"`
	CreatedAt     time.Time            `json:"created_at"`
	WorkbenchMode models.WorkbenchMode `json:"workbench_mode"`
	Keywords      []string             `json:"keywords"`
	RetentionDays int                  `json:"retention_days"`
	Bot           *apiBot              `json:"bot"`
}

// apiBot is the JSON shape of a connected bot; the token is only ever the
// masked hint.
type apiBot struct {
	ID                      int64           `json:"id"`
	Username                string          `json:"username"`
	FirstName               string          `json:"first_name"`
	CanJoinGroups           bool            `json:"can_join_groups"`
	CanReadAllGroupMessages bool            `json:"can_read_all_group_messages"`
	SupportsInlineQueries   bool            `json:"supports_inline_queries"`
	Token                   string          `json:"token"`
	State                   models.BotState `json:"state"`
	StateDetail             string          `json:"state_detail,omitempty"`
	LastUpdateAt            *time.Time      `json:"last_update_at"`
	ConnectedAt             time.Time       `json:"connected_at"`
}

func toAPIBot(b *models.Bot) *apiBot {
	if b == nil {
		return nil
	}
	return &apiBot{ID: b.TelegramID, Username: b.Username, FirstName: b.FirstName, CanJoinGroups: b.CanJoinGroups,
		CanReadAllGroupMessages: b.CanReadAllGroupMessages, SupportsInlineQueries: b.SupportsInlineQueries,
		Token: b.TokenHint, State: b.State, StateDetail: b.StateDetail, LastUpdateAt: b.LastUpdateAt, ConnectedAt: b.ConnectedAt}
}

func toAPIChannel(ch *models.Channel, bot *models.Bot) apiChannel {
	kw := []string(ch.Keywords)
	if kw == nil {
		kw = []string{}
	}
	return apiChannel{ID: ch.ID, Name: ch.Name, CreatedAt: ch.CreatedAt, WorkbenchMode: ch.WorkbenchMode, Keywords: kw, RetentionDays: ch.RetentionDays, Bot: toAPIBot(bot)}
}

func (s *Server) apiChannelList(c echo.Context) error {
	page, _ := strconv.Atoi(c.QueryParam("page"))
	list, err := s.Store.ListChannels(c.Request().Context(), c.QueryParam("q"), page, 100)
	if err != nil {
		return err
	}
	out := make([]apiChannel, 0, len(list.Rows))
	for _, r := range list.Rows {
		out = append(out, toAPIChannel(&r.Channel, nil))
	}
	return c.JSON(http.StatusOK, map[string]any{"channels": out, "total": list.Total, "page": list.Page, "pages": list.Pages})
}

func (s *Server) apiChannelCreate(c echo.Context) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := bindJSON(c, &in, `{"name": "Support"}`); err != nil {
		return err
	}
	ch, err := s.createChannel(c, in.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toAPIChannel(ch, nil))
}

func (s *Server) apiChannelGet(c echo.Context) error {
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPIChannel(ch, bot))
}

func (s *Server) apiChannelDelete(c echo.Context) error {
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	if err := s.deleteChannel(c, ch, bot); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
