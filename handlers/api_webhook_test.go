package handlers

import (
	"context"
	"net/http"
	"testing"

	"github.com/botdesk/botdesk/models"
)

func TestAPIWebhookPutGetRotate(t *testing.T) {
	env := whPrivateEnv(t)
	ch := env.createChannel(t, "Support")
	key := env.apiKey(t, models.RoleOperator)
	path := "/api/v1/channels/" + ch.ID + "/webhook"

	type out struct {
		HTTPEnabled   bool              `json:"http_enabled"`
		StatusURL     string            `json:"status_url"`
		MOURL         string            `json:"mo_url"`
		NotifyURL     string            `json:"notify_url"`
		QueueEnabled  bool              `json:"queue_enabled"`
		Queues        map[string]string `json:"queues"`
		SigningSecret string            `json:"signing_secret"`
	}
	var before out
	env.api(t, key, http.MethodGet, path, nil).wantStatus(t, http.StatusOK).json(t, &before)
	if before.HTTPEnabled || before.SigningSecret != "" || len(before.Queues) != 3 {
		t.Fatalf("initial = %+v", before)
	}

	var bad struct {
		Error struct {
			Code   string            `json:"code"`
			Field  string            `json:"field"`
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	env.api(t, key, http.MethodPut, path, map[string]any{"http_enabled": true, "status_url": "https://10.0.0.1/x", "mo_url": "https://[::1]/m"}).
		wantStatus(t, http.StatusUnprocessableEntity).json(t, &bad)
	if bad.Error.Code != "invalid" || len(bad.Error.Fields) != 2 || bad.Error.Field != "status_url" {
		t.Fatalf("422 body = %+v", bad)
	}
	env.api(t, key, http.MethodPut, path, "{not json").wantStatus(t, http.StatusBadRequest)

	hook := "http://127.0.0.1:9/hook"
	var saved out
	env.api(t, key, http.MethodPut, path, map[string]any{"http_enabled": true, "status_url": hook + "/s", "mo_url": hook + "/m", "notify_url": hook + "/n", "queue_enabled": true}).
		wantStatus(t, http.StatusOK).json(t, &saved)
	if !saved.HTTPEnabled || !saved.QueueEnabled || saved.MOURL != hook+"/m" || len(saved.SigningSecret) < 10 || saved.Queues["status"] != "botdesk-"+ch.ID+"-status" {
		t.Fatalf("saved = %+v", saved)
	}
	var rotated struct {
		SigningSecret string `json:"signing_secret"`
	}
	env.api(t, key, http.MethodPost, path+"/secret", nil).wantStatus(t, http.StatusOK).json(t, &rotated)
	if rotated.SigningSecret == "" || rotated.SigningSecret == saved.SigningSecret {
		t.Fatalf("rotate = %q", rotated.SigningSecret)
	}
	env.wantAudit(t, "webhook.secret_rotate", ch.ID)
	env.api(t, key, http.MethodGet, "/api/v1/channels/tg-aaaaaaaaaa/webhook", nil).wantStatus(t, http.StatusNotFound)

	// The secret is stored sealed, never in clear.
	got, err := env.Store.Channel(context.Background(), ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.SigningSecretEnc) == rotated.SigningSecret || len(got.SigningSecretEnc) == 0 {
		t.Fatal("secret not sealed")
	}
}

// Without the development flag, private and loopback receivers are refused
// through the API too.
func TestAPIWebhookRefusesPrivateTargets(t *testing.T) {
	env := newTestEnv(t)
	ch := env.createChannel(t, "Support")
	key := env.apiKey(t, models.RoleAdmin)
	for _, u := range []string{"https://127.0.0.1/x", "https://10.0.0.1/x", "https://169.254.169.254/x", "https://[::1]/x", "http://127.0.0.1:8080/x"} {
		r := env.api(t, key, http.MethodPut, "/api/v1/channels/"+ch.ID+"/webhook", map[string]any{"http_enabled": true, "status_url": u, "mo_url": u, "notify_url": u})
		r.wantStatus(t, http.StatusUnprocessableEntity)
	}
}
