package handlers

import (
	"net/http"
	"strings"
	"testing"

	"github.com/botdesk/botdesk/models"
)

type apiChannelBody struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	WorkbenchMode string   `json:"workbench_mode"`
	Keywords      []string `json:"keywords"`
	Bot           *struct {
		Username string `json:"username"`
	} `json:"bot"`
}

func TestAPIChannelCRUD(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	op, admin := env.apiKey(t, models.RoleOperator), env.apiKey(t, models.RoleAdmin)

	r := env.api(t, op, http.MethodPost, "/api/v1/channels", map[string]string{"name": " Orders "}).wantStatus(t, http.StatusCreated)
	var created apiChannelBody
	r.json(t, &created)
	if !models.ValidChannelID(created.ID) || created.Name != "Orders" || created.WorkbenchMode != "off" || created.Keywords == nil || created.Bot != nil {
		t.Fatalf("created %+v from %s", created, r.Body)
	}
	env.wantAudit(t, "channel.create", created.ID)
	if e := env.wantAudit(t, "channel.create", created.ID); e.Actor != "api:test-operator" {
		t.Errorf("audit actor %q, want api:test-operator", e.Actor)
	}

	var got apiChannelBody
	env.api(t, op, http.MethodGet, "/api/v1/channels/"+created.ID, nil).wantStatus(t, http.StatusOK).json(t, &got)
	if got.ID != created.ID || got.Name != "Orders" {
		t.Errorf("GET = %+v", got)
	}

	env.api(t, op, http.MethodPost, "/api/v1/channels", map[string]string{"name": "Billing"}).wantStatus(t, http.StatusCreated)
	var list struct {
		Channels []apiChannelBody `json:"channels"`
		Total    int              `json:"total"`
		Page     int              `json:"page"`
		Pages    int              `json:"pages"`
	}
	env.api(t, op, http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusOK).json(t, &list)
	if list.Total != 2 || len(list.Channels) != 2 || list.Page != 1 || list.Pages != 1 {
		t.Errorf("list = %+v", list)
	}
	env.api(t, op, http.MethodGet, "/api/v1/channels?q=billing", nil).wantStatus(t, http.StatusOK).json(t, &list)
	if list.Total != 1 || list.Channels[0].Name != "Billing" {
		t.Errorf("search = %+v", list)
	}

	// Deleting is admin-only.
	r = env.api(t, op, http.MethodDelete, "/api/v1/channels/"+created.ID, nil).wantStatus(t, http.StatusForbidden)
	if code, _ := r.apiError(t); code != "forbidden" {
		t.Errorf("operator delete: code %q", code)
	}
	r = env.api(t, admin, http.MethodDelete, "/api/v1/channels/"+created.ID, nil).wantStatus(t, http.StatusNoContent)
	if r.Body != "" {
		t.Errorf("204 with a body: %q", r.Body)
	}
	env.wantAudit(t, "channel.delete", created.ID)
	r = env.api(t, op, http.MethodGet, "/api/v1/channels/"+created.ID, nil).wantStatus(t, http.StatusNotFound)
	if code, _ := r.apiError(t); code != "not_found" {
		t.Errorf("after delete: code %q", code)
	}
	env.api(t, admin, http.MethodDelete, "/api/v1/channels/"+created.ID, nil).wantStatus(t, http.StatusNotFound)
}

func TestAPIChannelErrors(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	op := env.apiKey(t, models.RoleOperator)
	env.createChannel(t, "Taken")

	for _, tc := range []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"empty name", `{"name":""}`, http.StatusUnprocessableEntity, "invalid", "Enter a channel name."},
		{"missing name", `{}`, http.StatusUnprocessableEntity, "invalid", "Enter a channel name."},
		{"overlong", `{"name":"` + strings.Repeat("x", 65) + `"}`, http.StatusUnprocessableEntity, "invalid", "at most 64"},
		{"duplicate", `{"name":"TAKEN"}`, http.StatusUnprocessableEntity, "invalid", "already exists"},
		{"malformed JSON", `{"name":`, http.StatusBadRequest, "bad_request", "JSON"},
		{"wrong type", `{"name":5}`, http.StatusBadRequest, "bad_request", "JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := env.api(t, op, http.MethodPost, "/api/v1/channels", tc.body)
			if r.Status != tc.status {
				t.Errorf("%s: status %d, want %d (%s)", tc.name, r.Status, tc.status, r.Body)
				return
			}
			code, msg := r.apiError(t)
			if code != tc.code || !strings.Contains(msg, tc.msg) {
				t.Errorf("%s: %s %q, want %s containing %q", tc.name, code, msg, tc.code, tc.msg)
			}
			if tc.status == http.StatusUnprocessableEntity {
				var e struct{ Error struct{ Field string } }
				r.json(t, &e)
				if e.Error.Field != "name" {
					t.Errorf("%s: field %q, want name", tc.name, e.Error.Field)
				}
			}
		})
	}
	if n := channelCount(t, env); n != 1 {
		t.Errorf("%d channels after bad requests, want 1", n)
	}

	for _, id := range []string{"tg-aaaaaaaaaa", "not-an-id", "TG-AAAAAAAAAA"} {
		r := env.api(t, op, http.MethodGet, "/api/v1/channels/"+id, nil).wantStatus(t, http.StatusNotFound)
		if code, _ := r.apiError(t); code != "not_found" {
			t.Errorf("GET %s: code %q", id, code)
		}
	}
	r := env.api(t, op, http.MethodGet, "/api/v1/no-such-endpoint", nil).wantStatus(t, http.StatusNotFound)
	if code, _ := r.apiError(t); code != "not_found" {
		t.Errorf("unknown endpoint: code %q", code)
	}

	// No key, a bad key, and a revoked key: 401 with the JSON error.
	env.api(t, "", http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusUnauthorized)
	env.api(t, "bdk_nope", http.MethodPost, "/api/v1/channels", `{"name":"x"}`).wantStatus(t, http.StatusUnauthorized)
	keys, _ := env.Store.ListAPIKeys(t.Context())
	if err := env.Store.RevokeAPIKey(t.Context(), keys[0].ID); err != nil {
		t.Fatal(err)
	}
	r = env.api(t, op, http.MethodGet, "/api/v1/channels", nil).wantStatus(t, http.StatusUnauthorized)
	if code, _ := r.apiError(t); code != "unauthorized" {
		t.Errorf("revoked key: code %q", code)
	}
}

func TestAPIAgentKeyCannotManageChannels(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	agent := env.apiKey(t, models.RoleAgent)
	ch := env.createChannel(t, "Private")
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/channels", ""},
		{http.MethodPost, "/api/v1/channels", `{"name":"Nope"}`},
		{http.MethodGet, "/api/v1/channels/" + ch.ID, ""},
		{http.MethodDelete, "/api/v1/channels/" + ch.ID, ""},
	} {
		t.Run(tc.method+" "+strings.ReplaceAll(tc.path, ch.ID, "{id}"), func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := env.api(t, agent, tc.method, tc.path, body).wantStatus(t, http.StatusForbidden)
			if code, msg := r.apiError(t); code != "forbidden" || !strings.Contains(msg, "agent") {
				t.Errorf("%s %s: %s %q", tc.method, tc.path, code, msg)
			}
		})
	}
	if n := channelCount(t, env); n != 1 {
		t.Errorf("%d channels, want 1", n)
	}
}
