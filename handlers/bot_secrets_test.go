package handlers

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store/pgtest"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// TestBotTokenNeverStoredLoggedOrShown connects, fails and updates tokens
// in every way, then searches the database files, the log and every page
// and API answer for any of the tokens involved.
func TestBotTokenNeverStoredLoggedOrShown(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "Support")
	other := env.createChannel(t, "Sales")
	first := env.addBot(123456789, "secret_bot")
	second := env.tg.IssueToken(123456789)
	flaky := env.tg.IssueToken(123456789)
	revoked := env.tg.IssueToken(123456789)
	env.tg.RevokeToken(revoked)
	env.tg.FailNextToken(flaky, "getMe", telegramtest.Fault{DropConnection: true})
	otherTok := env.addBot(555000111, "other_secret_bot")
	tokens := []string{first, second, flaky, revoked, otherTok}

	op := env.userClient(t, models.RoleOperator)
	admin := env.userClient(t, models.RoleAdmin)
	opKey := env.apiKey(t, models.RoleOperator)
	var seen []*testResponse
	keep := func(r *testResponse) *testResponse { seen = append(seen, r); return r }

	keep(connectHTMX(op, ch, "create", first)).wantStatus(t, http.StatusOK)
	keep(connectHTMX(op, other, "connect", first)).wantStatus(t, http.StatusUnprocessableEntity) // bot_in_use
	keep(env.api(t, opKey, http.MethodPost, "/api/v1/channels/"+ch.ID+"/bot/token", map[string]string{"token": revoked})).wantStatus(t, http.StatusUnprocessableEntity)
	keep(env.api(t, opKey, http.MethodPost, "/api/v1/channels/"+ch.ID+"/bot/token", map[string]string{"token": flaky})).wantStatus(t, http.StatusBadGateway)
	keep(env.api(t, opKey, http.MethodPost, "/api/v1/channels/"+ch.ID+"/bot/token", map[string]string{"token": otherTok})).wantStatus(t, http.StatusUnprocessableEntity)
	keep(env.api(t, opKey, http.MethodPost, "/api/v1/channels/"+ch.ID+"/bot/token", map[string]string{"token": second})).wantStatus(t, http.StatusOK)
	keep(env.connectAPI(t, other, otherTok)).wantStatus(t, http.StatusCreated)
	for _, p := range []string{"/chatbot", "/overview", "/groups", "/chatbot/state"} {
		keep(admin.get("/channels/"+ch.ID+p)).wantStatus(t, http.StatusOK)
	}
	keep(admin.get("/channels")).wantStatus(t, http.StatusOK)
	keep(admin.get("/audit")).wantStatus(t, http.StatusOK)
	for _, p := range []string{"/api/v1/channels/" + ch.ID + "/bot", "/api/v1/channels/" + ch.ID, "/api/v1/channels"} {
		keep(env.api(t, opKey, http.MethodGet, p, nil)).wantStatus(t, http.StatusOK)
	}
	if env.storedToken(t, ch.ID) != second {
		t.Fatal("setup: the second token is not the stored one")
	}

	for _, r := range seen {
		for _, tok := range tokens {
			if strings.Contains(r.Body, tok) || strings.Contains(r.Body, tok[strings.Index(tok, ":")+1:]) {
				t.Errorf("%s %s: response contains a token", r.Method, r.Path)
			}
		}
	}
	logs := env.Logs.String()
	if !strings.Contains(logs, "getMe failed") {
		t.Error("the failed getMe was not logged (the log check would prove nothing)")
	}
	for _, tok := range tokens {
		if strings.Contains(logs, tok[strings.Index(tok, ":")+1:]) {
			t.Error("log contains a token")
		}
	}

	if env.Store.Postgres() {
		// Every row of every table, as PostgreSQL renders it.
		db := pgtest.OpenDB(t, env.Store.Path())
		var dump string
		q := `SELECT string_agg(query_to_xml('SELECT * FROM ' || quote_ident(table_name), false, false, '')::text, '')
			FROM information_schema.tables WHERE table_schema = current_schema()`
		if err := db.QueryRow(q).Scan(&dump); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(dump, "secret_bot") {
			t.Fatal("the dump misses the bot row (the check would prove nothing)")
		}
		for _, tok := range tokens {
			if strings.Contains(dump, tok[strings.Index(tok, ":")+1:]) {
				t.Error("the database contains a token in clear")
			}
		}
	}
	// Checkpoint nothing: the WAL is where fresh writes sit.
	path := env.Store.Path()
	var files int
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		files++
		for _, tok := range tokens {
			if strings.Contains(string(b), tok[strings.Index(tok, ":")+1:]) {
				t.Errorf("%s contains a token in clear", f)
			}
		}
	}
	if files < 2 && !env.Store.Postgres() {
		t.Errorf("only %d database files found", files)
	}
	// The masked hint is what is stored in clear.
	b, err := env.Store.BotByChannel(t.Context(), ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.TokenHint != "123456789:••••••••"+second[len(second)-4:] {
		t.Errorf("hint %q", b.TokenHint)
	}
}
