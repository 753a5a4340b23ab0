package handlers

import (
	"strings"

	"github.com/labstack/echo/v4"
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
