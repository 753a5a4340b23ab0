package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
)

// healthz answers 200 when the database answers.
func (s *Server) healthz(c echo.Context) error {
	if err := s.Store.Ping(c.Request().Context()); err != nil {
		s.Log.ErrorContext(c.Request().Context(), "healthz", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// metrics writes Prometheus text: store gauges plus every subsystem's writer.
func (s *Server) metrics(c echo.Context) error {
	ctx := c.Request().Context()
	var buf bytes.Buffer
	s.storeMetrics(ctx, &buf)
	s.opsMetrics(ctx, &buf)
	s.feedMetrics(&buf)
	for _, m := range s.Metrics {
		m(ctx, &buf)
	}
	return c.Blob(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", buf.Bytes())
}

func (s *Server) storeMetrics(ctx context.Context, w io.Writer) {
	g, err := s.Store.Gauges(ctx)
	if err != nil {
		s.Log.ErrorContext(ctx, "metrics", "err", err)
		return
	}
	fmt.Fprintf(w, "# HELP botdesk_channels Channels configured.\n# TYPE botdesk_channels gauge\nbotdesk_channels %d\n", g.Channels)
	fmt.Fprintf(w, "# HELP botdesk_messages_total Messages stored.\n# TYPE botdesk_messages_total gauge\nbotdesk_messages_total %d\n", g.Messages)
	fmt.Fprintf(w, "# HELP botdesk_bots Bots by connection state.\n# TYPE botdesk_bots gauge\n")
	for state, n := range g.BotsByState {
		fmt.Fprintf(w, "botdesk_bots{state=%q} %d\n", state, n)
	}
	fmt.Fprintf(w, "# HELP botdesk_outbox Callback events by delivery state.\n# TYPE botdesk_outbox gauge\n")
	for state, n := range g.OutboxByState {
		fmt.Fprintf(w, "botdesk_outbox{state=%q} %d\n", state, n)
	}
}
