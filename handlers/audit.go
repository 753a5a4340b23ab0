package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/views"
)

const auditPerPage = 50

func (s *Server) auditList(c echo.Context) error {
	before, _ := strconv.ParseInt(c.QueryParam("before"), 10, 64)
	action := c.QueryParam("action")
	page, err := s.Store.ListAudit(c.Request().Context(), before, action, auditPerPage)
	if err != nil {
		return err
	}
	p := s.page(c, "Audit log", "audit", views.Crumb{Label: "Audit log"})
	return s.render(c, http.StatusOK, views.AuditPage(p, views.AuditView{Page: page, Action: action}))
}
