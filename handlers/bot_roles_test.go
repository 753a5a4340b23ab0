package handlers

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/botdesk/botdesk/models"
)

func TestBotRoutePolicies(t *testing.T) {
	env := newBotEnv(t)
	want := map[string]models.Role{
		"GET /channels/:id/chatbot/state":      models.RoleOperator,
		"POST /channels/:id/chatbot/connect":   models.RoleOperator,
		"POST /channels/:id/chatbot/token":     models.RoleOperator,
		"POST /channels/:id/chatbot/workbench": models.RoleOperator,
		"POST /channels/:id/chatbot/delete":    models.RoleAdmin,
		"GET /api/v1/channels/:id/bot":         models.RoleOperator,
		"PUT /api/v1/channels/:id/bot":         models.RoleOperator,
		"DELETE /api/v1/channels/:id/bot":      models.RoleAdmin,
		"POST /api/v1/channels/:id/bot/token":  models.RoleOperator,
		"PUT /api/v1/channels/:id/workbench":   models.RoleOperator,
	}
	pol := env.Srv.Policies()
	for route, role := range want {
		if a, ok := pol[route]; !ok || a.Public || a.MinRole != role {
			t.Errorf("%s: policy %+v, want %s", route, a, role)
		}
	}
}

func TestBotRolesEnforced(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "Support")
	tok := env.addBot(123456789, "guarded_bot")
	newTok := env.tg.IssueToken(123456789)
	spare := env.addBot(999999999, "spare_bot")
	empty := env.createChannel(t, "Empty")
	env.connectAPI(t, ch, tok).wantStatus(t, http.StatusCreated)

	agent := env.userClient(t, models.RoleAgent)
	op := env.userClient(t, models.RoleOperator)
	agentKey, opKey := env.apiKey(t, models.RoleAgent), env.apiKey(t, models.RoleOperator)

	forbidden := []struct {
		name string
		do   func() *testResponse
	}{
		{"agent connect", func() *testResponse { return connectHTMX(agent, empty, "connect", spare) }},
		{"agent update token", func() *testResponse {
			return agent.htmx(http.MethodPost, "/channels/"+ch.ID+"/chatbot/token", url.Values{"token": {newTok}})
		}},
		{"agent workbench", func() *testResponse {
			return agent.htmx(http.MethodPost, "/channels/"+ch.ID+"/chatbot/workbench", url.Values{"mode": {"all"}})
		}},
		{"agent delete", func() *testResponse {
			return agent.postForm("/channels/"+ch.ID+"/chatbot/delete", url.Values{"confirm": {"@guarded_bot"}})
		}},
		{"agent tab", func() *testResponse { return agent.get("/channels/" + ch.ID + "/chatbot") }},
		{"operator delete", func() *testResponse {
			return op.postForm("/channels/"+ch.ID+"/chatbot/delete", url.Values{"confirm": {"@guarded_bot"}})
		}},
		{"api agent get", func() *testResponse {
			return env.api(t, agentKey, http.MethodGet, "/api/v1/channels/"+ch.ID+"/bot", nil)
		}},
		{"api agent connect", func() *testResponse {
			return env.api(t, agentKey, http.MethodPut, "/api/v1/channels/"+empty.ID+"/bot", map[string]string{"token": spare})
		}},
		{"api agent token", func() *testResponse {
			return env.api(t, agentKey, http.MethodPost, "/api/v1/channels/"+ch.ID+"/bot/token", map[string]string{"token": newTok})
		}},
		{"api agent workbench", func() *testResponse {
			return env.api(t, agentKey, http.MethodPut, "/api/v1/channels/"+ch.ID+"/workbench", map[string]any{"mode": "all"})
		}},
		{"api agent delete", func() *testResponse {
			return env.api(t, agentKey, http.MethodDelete, "/api/v1/channels/"+ch.ID+"/bot", nil)
		}},
		{"api operator delete", func() *testResponse {
			return env.api(t, opKey, http.MethodDelete, "/api/v1/channels/"+ch.ID+"/bot", nil)
		}},
	}
	for _, tc := range forbidden {
		t.Run(tc.name, func(t *testing.T) {
			tc.do().wantStatus(t, http.StatusForbidden)
		})
	}
	if env.storedToken(t, ch.ID) != tok {
		t.Error("token changed by a forbidden request")
	}
	if n := env.count(t, "SELECT count(*) FROM bots"); n != 1 {
		t.Errorf("%d bots after forbidden requests", n)
	}
	if got, _ := env.Store.Channel(t.Context(), ch.ID); got.WorkbenchMode != models.WorkbenchOff {
		t.Error("workbench changed by an agent")
	}
	if len(env.runner.ops(123456789)) != 1 {
		t.Error("runner touched by a forbidden request")
	}
	if op.get("/channels/"+ch.ID+"/chatbot").doc(t).Find(`#delete-bot-dialog`).Length() != 0 {
		t.Error("operator is offered the Delete dialog")
	}
}
