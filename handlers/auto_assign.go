package handlers

// A channel's auto-assignment (store/assign.go): the card on the channel's
// Workbench tab, its form and the JSON API.

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// autoAssignView builds the card: the saved settings (or those a refused
// form carried) and the users who may take conversations.
func (s *Server) autoAssignView(c echo.Context, channelID string, set store.AssignSettings, errs views.FieldErrors) (views.AutoAssignView, error) {
	loads, err := s.Store.AgentLoads(c.Request().Context(), channelID)
	if err != nil {
		return views.AutoAssignView{}, err
	}
	v := views.AutoAssignView{ChannelID: channelID, Mode: set.Mode, Capacity: set.Capacity, Listed: len(set.Agents) > 0, CSRF: csrfToken(c), Errors: errs}
	for _, l := range loads {
		in := l.InRound
		if errs != nil { // a refused form: show what was chosen
			in = containsID(set.Agents, l.User.ID)
		}
		v.Agents = append(v.Agents, views.AgentRow{ID: l.User.ID, Email: l.User.Email, Role: l.User.Role, Online: l.Online, Open: l.Open, InRound: in})
	}
	return v, nil
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// assignInput reads mode, capacity and agents (emails) from a form or a
// JSON body and resolves the emails to users.
func (s *Server) assignInput(ctx context.Context, channelID, mode, capacity string, emails []string) (store.AssignSettings, error) {
	set := store.AssignSettings{Mode: models.AutoAssign(strings.TrimSpace(mode))}
	n, err := strconv.Atoi(strings.TrimSpace(capacity))
	if err != nil {
		return set, models.Invalid("capacity", "Enter the capacity as a whole number.")
	}
	set.Capacity = n
	for _, e := range emails {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		u, err := s.Store.UserByEmail(ctx, e)
		if err != nil || !store.MayTake(u, channelID) {
			return set, models.Invalid("agents", "Choose active users only.")
		}
		set.Agents = append(set.Agents, u.ID)
	}
	return set, set.Validate()
}

// channelAutoAssign saves the card's form (operator).
func (s *Server) channelAutoAssign(c echo.Context) error {
	ch, bot, err := s.loadChannel(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	form, _ := c.FormParams()
	set, err := s.assignInput(ctx, ch.ID, c.FormValue("mode"), c.FormValue("capacity"), form["agents"])
	if err == nil {
		err = s.Store.SetAssignSettings(ctx, actor(c), ch.ID, set)
	}
	if v, ok := models.AsValidation(err); ok {
		build := func(c echo.Context, ch *models.Channel, bot *models.Bot) (templ.Component, error) {
			return s.workbenchTab(c, ch, set, views.FieldErrors{v.Field: v.Message})
		}
		return s.renderChannel(c, http.StatusUnprocessableEntity, ch, bot, "workbench", build)
	}
	if err != nil {
		return err
	}
	setFlash(c, "success", tr(c, "Auto-assignment saved."))
	return c.Redirect(http.StatusSeeOther, "/channels/"+ch.ID+"/workbench")
}

type apiAssignment struct {
	Mode     models.AutoAssign `json:"mode"`
	Capacity int               `json:"capacity"`
	Agents   []string          `json:"agents"`
}

// apiAssignmentOf renders a channel's settings with the round as emails.
func (s *Server) apiAssignmentOf(ctx context.Context, channelID string) (apiAssignment, error) {
	set, err := s.Store.AssignSettingsOf(ctx, channelID)
	if err != nil {
		return apiAssignment{}, err
	}
	out := apiAssignment{Mode: set.Mode, Capacity: set.Capacity, Agents: []string{}}
	loads, err := s.Store.AgentLoads(ctx, channelID)
	if err != nil {
		return out, err
	}
	for _, l := range loads {
		if containsID(set.Agents, l.User.ID) {
			out.Agents = append(out.Agents, l.User.Email)
		}
	}
	return out, nil
}

// apiGetAssignment: GET /api/v1/channels/{id}/assignment (operator).
func (s *Server) apiGetAssignment(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	out, err := s.apiAssignmentOf(c.Request().Context(), ch.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// apiPutAssignment: PUT /api/v1/channels/{id}/assignment (operator).
func (s *Server) apiPutAssignment(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	var in struct {
		Mode     string   `json:"mode"`
		Capacity *int     `json:"capacity"`
		Agents   []string `json:"agents"`
	}
	if err := bindJSON(c, &in, `{"mode": "round_robin", "capacity": 5, "agents": []}`); err != nil {
		return err
	}
	capacity := "10"
	if in.Capacity != nil {
		capacity = strconv.Itoa(*in.Capacity)
	}
	ctx := c.Request().Context()
	set, err := s.assignInput(ctx, ch.ID, in.Mode, capacity, in.Agents)
	if err != nil {
		return err
	}
	if err := s.Store.SetAssignSettings(ctx, actor(c), ch.ID, set); err != nil {
		return err
	}
	out, err := s.apiAssignmentOf(ctx, ch.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
