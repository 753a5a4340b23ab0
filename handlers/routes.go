package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// router registers routes together with their access rule, so the route
// table below reads like a sitemap and a route cannot exist without a rule.
// Every route of the console and the API is registered in this file
// (TestRoutesLiveInOneTable).
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
	r.get("/readyz", public, s.readyz)
	r.get("/metrics", asOperator, s.metrics)

	// Signing in and the user's own settings.
	s.registerAuthRoutes(r)
	s.registerSSORoutes(r)
	s.registerAccountRoutes(r)
	s.registerTwoFactorRoutes(r)
	// Channel Management: the channel, its bot, webhooks, data and reports.
	s.registerChannelRoutes(r)
	s.registerBotRoutes(r)
	s.registerPollerRoutes(r)
	s.registerWebhookRoutes(r)
	s.registerChannelDataRoutes(r)
	s.registerReportRoutes(r)
	// The message workbench, its rich messages and the media relay.
	s.registerWorkbenchRoutes(r)
	s.registerRichRoutes(r)
	s.registerMediaRoutes(r)
	// Administration and the JSON API's channel endpoints.
	s.registerAdminRoutes(r)
	s.registerAPIRoutes(r)
	// The agent's workspace: canned responses, notes, labels, search.
	s.registerWorkspaceRoutes(r)
	// Several instances on one database.
	s.registerInstanceRoutes(r)
	// Attention: notifications, availability and auto-assignment.
	s.registerAttentionRoutes(r)
}

func (s *Server) registerInstanceRoutes(r router) {
	r.get("/instances", asAdmin, s.instancesPage)
	r.get("/api/v1/instances", asAdmin, s.apiInstances)
}

// registerAttentionRoutes: the user's own notification and availability
// settings, and a channel's auto-assignment (operators).
func (s *Server) registerAttentionRoutes(r router) {
	r.post("/account/notifications", asAgent, s.accountNotifications)
	r.post("/account/availability", asAgent, s.accountAvailability)
	r.post("/channels/:id/auto-assign", asOperator, s.channelAutoAssign)
	r.get("/api/v1/channels/:id/assignment", asOperator, s.apiGetAssignment)
	r.put("/api/v1/channels/:id/assignment", asOperator, s.apiPutAssignment)
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

func (s *Server) registerAccountRoutes(r router) {
	r.get("/account", asAgent, s.accountPage)
	r.post("/account/password", asAgent, s.accountPassword)
	r.post("/account/sessions/end-all", asAgent, s.accountEndAll)
	r.post("/account/sessions/:sid/end", asAgent, s.accountEndSession)
	r.post("/users/:uid/sessions/end", asAdmin, s.userEndSessions)
}

// registerBotRoutes is the Chatbot Management area: the console tab's
// actions and the bot part of the JSON API.
// registerTwoFactorRoutes: enrolment is the user's own; the second step
// of signing in is public (its challenge cookie is the credential); the
// policy, reset and password switch are admin's.
func (s *Server) registerTwoFactorRoutes(r router) {
	r.get("/account/two-factor", asAgent, s.twoFactorSetup)
	r.post("/account/two-factor/start", asAgent, s.twoFactorStart)
	r.post("/account/two-factor/enable", asAgent, s.twoFactorEnable)
	r.post("/account/two-factor/disable", asAgent, s.twoFactorDisable)
	r.post("/account/two-factor/recovery-codes", asAgent, s.twoFactorRecoveryCodes)
	r.get("/login/two-factor", public, s.twoFactorLoginForm)
	r.post("/login/two-factor", public, s.twoFactorLogin)
	r.post("/users/two-factor-policy", asAdmin, s.twoFactorPolicy)
	r.post("/users/:uid/two-factor/reset", asAdmin, s.twoFactorReset)
	r.post("/users/:uid/password-login", asAdmin, s.userPasswordLogin)
}

func (s *Server) registerBotRoutes(r router) {
	r.get("/channels/:id/chatbot/state", asOperator, s.botState)
	r.post("/channels/:id/chatbot/connect", asOperator, s.botConnect)
	r.post("/channels/:id/chatbot/token", asOperator, s.botToken)
	r.post("/channels/:id/chatbot/workbench", asOperator, s.botWorkbenchSettings)
	r.post("/channels/:id/chatbot/delete", asAdmin, s.botDelete)

	r.get("/api/v1/channels/:id/bot", asOperator, s.apiBotGet)
	r.put("/api/v1/channels/:id/bot", asOperator, s.apiBotConnect)
	r.del("/api/v1/channels/:id/bot", asAdmin, s.apiBotDelete)
	r.post("/api/v1/channels/:id/bot/token", asOperator, s.apiBotToken)
	r.put("/api/v1/channels/:id/workbench", asOperator, s.apiWorkbench)
}

func (s *Server) registerPollerRoutes(r router) {
	r.post("/channels/:id/bot/switch-polling", asOperator, s.botSwitchPolling)
}

func (s *Server) registerChannelDataRoutes(r router) {
	r.post("/channels/:id/retention", asOperator, s.retentionSave)
	r.post("/channels/:id/contacts/erase", asAdmin, s.contactErase)
	r.put("/api/v1/channels/:id", asOperator, s.apiChannelUpdate)
	r.del("/api/v1/channels/:id/contacts/:uid", asAdmin, s.apiContactErase)
}

func (s *Server) registerMediaRoutes(r router) {
	r.get("/workbench/media/:mid", asAgent, s.mediaDownload)
}

func (s *Server) registerReportRoutes(r router) {
	r.get("/api/v1/reports", asOperator, s.apiReports)
	r.get("/reports", asOperator, s.reportsPage)
	r.get("/reports/export", asOperator, s.reportsExport)
}

func (s *Server) registerSSORoutes(r router) {
	r.get("/auth/oidc/login", public, s.ssoLogin)
	r.get("/auth/oidc/callback", public, s.ssoCallback)
}

// registerWebhookRoutes is the route table of Configure Webhook, the
// delivery log and the queue API. Everything here is operator+: callback
// settings and the signing secret belong to operators, and queue consumers
// are integrations that get an operator key.
func (s *Server) registerWebhookRoutes(r router) {
	r.get("/channels/:id/webhook/configure", asOperator, s.webhookConfigure)
	r.post("/channels/:id/webhook", asOperator, s.webhookSave)
	r.post("/channels/:id/webhook/test", asOperator, s.webhookTest)
	r.get("/channels/:id/webhook/secret", asOperator, s.webhookSecretMasked)
	r.post("/channels/:id/webhook/secret/reveal", asOperator, s.webhookSecretReveal)
	r.post("/channels/:id/webhook/secret/rotate", asOperator, s.webhookSecretRotate)
	r.get("/channels/:id/webhook/deliveries", asOperator, s.deliveryLog)
	r.post("/channels/:id/webhook/deliveries/:eid/resend", asOperator, s.deliveryResend)

	r.get("/api/v1/channels/:id/webhook", asOperator, s.apiWebhookGet)
	r.put("/api/v1/channels/:id/webhook", asOperator, s.apiWebhookPut)
	r.post("/api/v1/channels/:id/webhook/secret", asOperator, s.apiWebhookRotate)
	r.post("/api/v1/channels/:id/webhook/test", asOperator, s.apiWebhookTest)
	r.get("/api/v1/channels/:id/deliveries", asOperator, s.apiDeliveries)
	r.post("/api/v1/channels/:id/deliveries/:eid/resend", asOperator, s.apiDeliveryResend)
	r.post("/api/v1/queues/:name/receive", asOperator, s.apiQueueReceive)
	r.del("/api/v1/queues/:name/messages/:receipt", asOperator, s.apiQueueAck)
}

// registerWorkbenchRoutes is the workbench's part of the route table:
// every page and action is agent+ (admins and operators included).
func (s *Server) registerWorkbenchRoutes(r router) {
	r.get("/workbench", asAgent, s.workbenchList)
	r.get("/workbench/list", asAgent, s.workbenchListMore)
	r.get("/workbench/events", asAgent, s.workbenchEvents)
	r.get("/workbench/c/:cid", asAgent, s.workbenchConversation)
	r.get("/workbench/c/:cid/messages", asAgent, s.workbenchEarlier)
	r.get("/workbench/c/:cid/events", asAgent, s.workbenchEvents)
	r.post("/workbench/c/:cid/reply", asAgent, s.workbenchReply)
	r.post("/workbench/c/:cid/resolve", asAgent, s.workbenchResolve)
	r.post("/workbench/c/:cid/reopen", asAgent, s.workbenchReopen)
	r.post("/workbench/c/:cid/assign", asAgent, s.workbenchAssign)
	r.post("/workbench/c/:cid/reassign", asAgent, s.workbenchReassign)
	// The full message history is an integration's view (operator keys);
	// agents see what the workbench shows them.
	r.get("/api/v1/channels/:id/messages", asOperator, s.apiMessageList)
	r.post("/api/v1/channels/:id/messages", asAgent, s.apiMessageSend)
}

// registerRichRoutes is the rich-message part of the route table (issue
// 17): quoting, editing and deleting from the workbench.
func (s *Server) registerRichRoutes(r router) {
	r.get("/workbench/c/:cid/reply", asAgent, s.workbenchReplyForm)
	r.post("/workbench/c/:cid/typing", asAgent, s.workbenchTyping)
	r.post("/workbench/c/:cid/m/:mid/react", asAgent, s.workbenchReact)
	r.get("/workbench/c/:cid/m/:mid", asAgent, s.workbenchMessage)
	r.get("/workbench/c/:cid/m/:mid/edit", asAgent, s.workbenchEditForm)
	r.post("/workbench/c/:cid/m/:mid/edit", asAgent, s.workbenchEdit)
	r.get("/workbench/c/:cid/m/:mid/delete", asAgent, s.workbenchDeleteForm)
	r.post("/workbench/c/:cid/m/:mid/delete", asAgent, s.workbenchDelete)
	// Agents may change only messages of chats the workbench shows them
	// (loadChangeable); integrations (operator keys) any of the channel.
	r.add(http.MethodPatch, "/api/v1/channels/:id/messages/:mid", asAgent, s.apiMessageEdit)
	r.del("/api/v1/channels/:id/messages/:mid", asAgent, s.apiMessageDelete)
}

// registerWorkspaceRoutes is the agent's workspace part of the route table
// (issue 16): canned responses, private notes and search, in the console and the
// API. Managing canned responses is operator+; using them and notes agent+.
// Conversations are object-checked by loadConversation (only what the
// workbench shows).
func (s *Server) registerWorkspaceRoutes(r router) {
	r.get("/canned-responses", asOperator, s.cannedList)
	r.post("/canned-responses", asOperator, s.cannedCreate)
	r.post("/canned-responses/:rid", asOperator, s.cannedUpdate)
	r.post("/canned-responses/:rid/delete", asOperator, s.cannedDelete)
	r.get("/workbench/c/:cid/canned", asAgent, s.cannedPicker)
	r.post("/workbench/c/:cid/notes", asAgent, s.noteCreate)
	r.get("/search", asAgent, s.searchPage)
	r.get("/labels", asOperator, s.labelList)
	r.post("/labels", asOperator, s.labelCreate)
	r.post("/labels/:lid/delete", asOperator, s.labelDelete)
	r.post("/workbench/c/:cid/labels", asAgent, s.conversationLabels)

	r.get("/api/v1/canned-responses", asAgent, s.apiCannedList)
	r.post("/api/v1/canned-responses", asOperator, s.apiCannedCreate)
	r.put("/api/v1/canned-responses/:rid", asOperator, s.apiCannedUpdate)
	r.del("/api/v1/canned-responses/:rid", asOperator, s.apiCannedDelete)
	r.get("/api/v1/conversations/:cid/notes", asAgent, s.apiNoteList)
	r.post("/api/v1/conversations/:cid/notes", asAgent, s.apiNoteCreate)
	r.get("/api/v1/search", asAgent, s.apiSearch)
	r.get("/api/v1/labels", asAgent, s.apiLabelList)
	r.post("/api/v1/labels", asOperator, s.apiLabelCreate)
	r.put("/api/v1/conversations/:cid/labels", asAgent, s.apiConversationLabels)
	r.put("/api/v1/conversations/:cid/assignee", asAgent, s.apiConversationAssignee)
	r.get("/api/v1/conversations", asAgent, s.apiConversationList)
}
