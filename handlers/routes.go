package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// router registers routes together with their access rule, so the route
// table below reads like a sitemap and a route cannot exist without a rule.
type router struct {
	e *echo.Echo
	s *Server
}

func (r router) add(method, path string, a Access, h echo.HandlerFunc) {
	r.s.policies[method+" "+path] = a
	r.e.Add(method, path, h, r.s.guard(a))
}

func (r router) get(path string, a Access, h echo.HandlerFunc)  { r.add(http.MethodGet, path, a, h) }
func (r router) post(path string, a Access, h echo.HandlerFunc) { r.add(http.MethodPost, path, a, h) }
func (r router) put(path string, a Access, h echo.HandlerFunc)  { r.add(http.MethodPut, path, a, h) }
func (r router) del(path string, a Access, h echo.HandlerFunc)  { r.add(http.MethodDelete, path, a, h) }

func (s *Server) registerRoutes(e *echo.Echo) {
	r := router{e: e, s: s}
	r.get("/static/*", public, staticHandler())
	r.get("/favicon.ico", public, faviconHandler())
	r.get("/healthz", public, s.healthz)
	r.get("/metrics", asOperator, s.metrics)

	s.registerAuthRoutes(r)
	s.registerChannelRoutes(r)
	s.registerAdminRoutes(r)
	s.registerAPIRoutes(r)
	s.registerMediaRoutes(r)
	s.registerBotRoutes(r)
	s.registerWorkbenchRoutes(r)
	s.registerPollerRoutes(r)
	s.registerWebhookRoutes(r)
	s.registerAccountRoutes(r)
	s.registerReportRoutes(r)
	s.registerSSORoutes(r)
	s.registerRichRoutes(r)
	s.registerChannelDataRoutes(r)
}

func (s *Server) registerAuthRoutes(r router) {
	r.get("/", public, s.home)
	r.get("/login", public, s.loginForm)
	r.post("/login", public, s.login)
	r.post("/logout", public, s.logout)
	r.get("/setup", public, s.setupForm)
	r.post("/setup", public, s.setup)
	r.post("/account/language", asAgent, s.languageSave)
}

func (s *Server) registerChannelRoutes(r router) {
	r.get("/channels", asOperator, s.channelList)
	r.post("/channels", asOperator, s.channelCreate)
	r.get("/channels/:id", asOperator, s.channelRedirect)
	r.get("/channels/:id/:tab", asOperator, s.channelTab)
	r.post("/channels/:id/delete", asAdmin, s.channelDelete)
}

func (s *Server) registerAdminRoutes(r router) {
	r.get("/users", asAdmin, s.userList)
	r.post("/users", asAdmin, s.userCreate)
	r.post("/users/:uid", asAdmin, s.userUpdate)
	r.get("/apikeys", asAdmin, s.apiKeyList)
	r.post("/apikeys", asAdmin, s.apiKeyCreate)
	r.post("/apikeys/:kid/revoke", asAdmin, s.apiKeyRevoke)
	r.get("/audit", asAdmin, s.auditList)
}

func (s *Server) registerAPIRoutes(r router) {
	r.get("/api/v1/openapi.json", public, s.apiOpenAPI)
	r.get("/api/v1/channels", asOperator, s.apiChannelList)
	r.post("/api/v1/channels", asOperator, s.apiChannelCreate)
	r.get("/api/v1/channels/:id", asOperator, s.apiChannelGet)
	r.del("/api/v1/channels/:id", asAdmin, s.apiChannelDelete)
}
