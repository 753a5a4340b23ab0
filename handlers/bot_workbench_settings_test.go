package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/botdesk/botdesk/models"
)

func TestBotWorkbenchSettingsValidation(t *testing.T) {
	many := make([]string, models.MaxKeywords+1)
	for i := range many {
		many[i] = fmt.Sprintf("kw%d", i)
	}
	cases := []struct {
		name     string
		mode     string
		keywords []string
		contains string
	}{
		{"bad mode", "sometimes", nil, "Choose Off"},
		{"duplicates", "keyword", []string{"help", "HELP"}, "listed twice"},
		{"too many", "keyword", many, fmt.Sprintf("at most %d", models.MaxKeywords)},
		{"too long", "keyword", []string{strings.Repeat("x", models.MaxKeywordLen+1)}, "longer than"},
		{"keyword mode without keywords", "keyword", []string{" ", ""}, "at least one keyword"},
	}
	env := newBotEnv(t)
	ch := env.createChannel(t, "Support")
	env.connectAPI(t, ch, env.addBot(123456789, "wb_bot")).wantStatus(t, http.StatusCreated)
	op := env.userClient(t, models.RoleOperator)
	key := env.apiKey(t, models.RoleOperator)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := op.htmx(http.MethodPost, "/channels/"+ch.ID+"/chatbot/workbench",
				url.Values{"mode": {tc.mode}, "keywords": {strings.Join(tc.keywords, "\n")}}).wantStatus(t, http.StatusUnprocessableEntity)
			if got := r.text(t, `[data-testid=form-error]`); !strings.Contains(got, tc.contains) {
				t.Errorf("console error %q, want %q", got, tc.contains)
			}
			r = env.api(t, key, http.MethodPut, "/api/v1/channels/"+ch.ID+"/workbench", map[string]any{"mode": tc.mode, "keywords": tc.keywords})
			code, msg := r.wantStatus(t, http.StatusUnprocessableEntity).apiError(t)
			if code != "invalid" || !strings.Contains(msg, tc.contains) {
				t.Errorf("api error %s %q", code, msg)
			}
			got, err := env.Store.Channel(t.Context(), ch.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.WorkbenchMode != models.WorkbenchOff || len(got.Keywords) != 0 {
				t.Errorf("invalid settings were saved: %s %v", got.WorkbenchMode, got.Keywords)
			}
		})
	}
}

func TestBotWorkbenchSettingsSaved(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "Support")
	env.connectAPI(t, ch, env.addBot(123456789, "wb_bot")).wantStatus(t, http.StatusCreated)
	op := env.userClient(t, models.RoleOperator)

	doc := op.get("/channels/"+ch.ID+"/chatbot").wantStatus(t, http.StatusOK).doc(t)
	dlg := doc.Find(`dialog.modal#workbench-dialog`)
	for _, label := range []string{"Off", "Enable Message Workbench", "Triggered by Keyword"} {
		if dlg.Find(`.choice label:contains("`+label+`")`).Length() != 1 {
			t.Errorf("mode %q missing", label)
		}
	}
	if dlg.Find(`textarea[name=keywords][data-chips]`).Length() != 1 || dlg.Find(`label[for=wb-keywords]`).Length() != 1 {
		t.Error("keyword editor or its label missing")
	}
	if v, _ := dlg.Find(`input[name=mode]:checked`).Attr("value"); v != "off" {
		t.Errorf("checked mode %q", v)
	}

	r := op.htmx(http.MethodPost, "/channels/"+ch.ID+"/chatbot/workbench",
		url.Values{"mode": {"keyword"}, "keywords": {" help \r\nrefund\n\norder status"}}).wantStatus(t, http.StatusOK)
	d := r.doc(t)
	if got := strings.TrimSpace(d.Find(`[data-testid=workbench-mode]`).Text()); got != "Triggered by Keyword" {
		t.Errorf("mode shown %q", got)
	}
	chips := d.Find(`[data-testid=workbench-keywords] .chip`).Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	if strings.Join(chips, "|") != "help|refund|order status" {
		t.Errorf("keywords shown %v", chips)
	}
	env.wantAudit(t, "channel.workbench", ch.ID)

	// API: switch to all; keywords are kept as given.
	r = env.api(t, env.apiKey(t, models.RoleOperator), http.MethodPut, "/api/v1/channels/"+ch.ID+"/workbench", map[string]any{"mode": "all", "keywords": []string{"help"}}).wantStatus(t, http.StatusOK)
	var out struct {
		Mode     string   `json:"mode"`
		Keywords []string `json:"keywords"`
	}
	r.json(t, &out)
	if out.Mode != "all" || len(out.Keywords) != 1 {
		t.Errorf("api answer %+v", out)
	}
	got, _ := env.Store.Channel(t.Context(), ch.ID)
	if got.WorkbenchMode != models.WorkbenchAll {
		t.Errorf("stored mode %s", got.WorkbenchMode)
	}
}
