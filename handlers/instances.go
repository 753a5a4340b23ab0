package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/views"
)

// instances reads the instances as of now; live means a heartbeat within
// a lease lifetime, the rule the lease loop counts live instances by.
func (s *Server) instances(c echo.Context) ([]store.Instance, error) {
	return s.Store.Instances(c.Request().Context(), time.Now(), store.DefaultLeaseTTL)
}

// instancesPage is the admin's Instances page.
func (s *Server) instancesPage(c echo.Context) error {
	list, err := s.instances(c)
	if err != nil {
		return err
	}
	p := s.page(c, "Instances", "instances", views.Crumb{Label: "Instances"})
	return s.render(c, http.StatusOK, views.InstancesPage(p, views.InstancesView{Instances: list, This: s.Store.InstanceID()}))
}

// apiInstance is one instance in GET /api/v1/instances.
type apiInstance struct {
	ID          string    `json:"id"`
	Version     string    `json:"version"`
	StartedAt   time.Time `json:"started_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
	Live        bool      `json:"live"`
	This        bool      `json:"this"`
	Bots        int64     `json:"bots"`
	BotNames    []string  `json:"bot_usernames"`
}

// apiInstances is GET /api/v1/instances (admin).
func (s *Server) apiInstances(c echo.Context) error {
	list, err := s.instances(c)
	if err != nil {
		return err
	}
	out := make([]apiInstance, 0, len(list))
	for _, in := range list {
		names := in.BotNames
		if names == nil {
			names = []string{}
		}
		out = append(out, apiInstance{ID: in.ID, Version: in.Version, StartedAt: in.StartedAt, HeartbeatAt: in.HeartbeatAt,
			Live: in.Live, This: in.ID == s.Store.InstanceID(), Bots: in.Bots, BotNames: names})
	}
	return c.JSON(http.StatusOK, map[string]any{"instances": out})
}
