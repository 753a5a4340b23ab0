package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// botWorkbenchSettings is the OK button of Message Workbench Settings.
func (s *Server) botWorkbenchSettings(c echo.Context) error {
	ch, err := s.channelParam(c)
	if err != nil {
		return err
	}
	if err := c.Request().ParseForm(); err != nil {
		return err
	}
	mode, _, err := s.saveWorkbench(c.Request().Context(), actor(c), ch, c.FormValue("mode"), formKeywords(c.Request().PostForm["keywords"]))
	if err != nil {
		return s.botFormDone(c, ch, "workbench", err, "")
	}
	return s.botFormDone(c, ch, "workbench", nil, "Message Workbench Settings saved: "+mode.Label()+".")
}

// formKeywords splits the keyword field: one keyword per line (the chips
// editor submits them newline-joined), possibly in several values.
func formKeywords(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, strings.Split(strings.ReplaceAll(v, "\r\n", "\n"), "\n")...)
	}
	return out
}

// saveWorkbench stores Message Workbench Settings and audits them.
func (s *Server) saveWorkbench(ctx context.Context, a store.Actor, ch *models.Channel, mode string, keywords []string) (models.WorkbenchMode, models.Keywords, error) {
	m, err := models.ParseWorkbenchMode(mode)
	if err != nil {
		return "", nil, err
	}
	var kw models.Keywords
	err = s.Store.WithTx(ctx, func(ctx context.Context) error {
		var err error
		if kw, err = s.Store.SetWorkbench(ctx, ch.ID, m, keywords); err != nil {
			return err
		}
		return s.Store.Audit(ctx, a, "channel.workbench", "channel", ch.ID, fmt.Sprintf("%s, %d keywords", m, len(kw)))
	})
	if err != nil {
		return "", nil, err
	}
	return m, kw, nil
}
