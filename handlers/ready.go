package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// readyz is the load balancer's health check: 200 when this instance can
// do its share (the database answers, its migrations are all applied, the
// bot lease loop heartbeats, and on PostgreSQL the change feed listens),
// else 503 with the first reason. /healthz only says the process is alive.
func (s *Server) readyz(c echo.Context) error {
	ctx := c.Request().Context()
	notReady := func(reason string, err error) error {
		if err != nil {
			s.Log.WarnContext(ctx, "readyz", "reason", reason, "err", err)
		}
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": reason})
	}
	pending, err := s.Store.PendingMigrations(ctx)
	if err != nil {
		return notReady("database unreachable", err)
	}
	if len(pending) > 0 {
		return notReady("migrations not applied: "+strings.Join(pending, ", "), nil)
	}
	if s.LeaseLoop == nil {
		return notReady("lease loop not running", nil)
	}
	if err := s.LeaseLoop.LeaseLoopReady(time.Now()); err != nil {
		return notReady(err.Error(), nil)
	}
	if f := s.Store.FeedStats(); f.Enabled && !f.Listening {
		return notReady("change feed not listening", nil)
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
