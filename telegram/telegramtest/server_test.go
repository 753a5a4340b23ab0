package telegramtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mymmrac/telego"
)

type reply struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  *struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func do(t *testing.T, req *http.Request) (int, reply) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r reply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return resp.StatusCode, r
}

func get(t *testing.T, u string) (int, reply) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return do(t, req)
}

func postForm(t *testing.T, u string, v url.Values) (int, reply) {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

func postJSON(t *testing.T, u string, body any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("decode: %v", err)
		}
	}
	return resp.StatusCode
}

func start(t *testing.T) (*Server, string) {
	s := New()
	base := s.Start()
	t.Cleanup(s.Close)
	return s, base
}

func TestTokensLookReal(t *testing.T) {
	s, _ := start(t)
	a := s.AddBot(BotSpec{ID: 7012345678})
	b := s.IssueToken(7012345678)
	re := regexp.MustCompile(`^7012345678:[A-Za-z0-9_-]{35}$`)
	if !re.MatchString(a) || !re.MatchString(b) || a == b {
		t.Fatalf("tokens %q, %q", a, b)
	}
}

func TestWireProtocol(t *testing.T) {
	s, base := start(t)
	tok := s.AddBot(BotSpec{ID: 7012345678, Username: "acme_bot", FirstName: "Acme", CanReadAllGroupMessages: true})
	api := base + "/bot" + tok + "/"

	code, r := get(t, api+"getMe")
	var me telego.User
	_ = json.Unmarshal(r.Result, &me)
	if code != 200 || !r.OK || me.ID != 7012345678 || !me.IsBot || !me.CanReadAllGroupMessages || me.Username != "acme_bot" {
		t.Fatalf("getMe = %d %+v %+v", code, r, me)
	}
	// Method names are case-insensitive, as in Telegram.
	if code, _ := get(t, api+"GETME"); code != 200 {
		t.Fatalf("GETME = %d", code)
	}
	if code, r := get(t, base+"/bot"+tok+"x/getMe"); code != 401 || r.Description != DescUnauthorized || r.OK {
		t.Fatalf("unknown token = %d %+v", code, r)
	}
	if code, r := get(t, base+"/botgarbage/getMe"); code != 404 || r.Description != DescNotFound {
		t.Fatalf("malformed token = %d %+v", code, r)
	}

	// Form-encoded sendMessage, then query-string getUpdates.
	code, r = postForm(t, api+"sendMessage", url.Values{"chat_id": {"5512345678"}, "text": {"hi"}})
	var m telego.Message
	_ = json.Unmarshal(r.Result, &m)
	if code != 200 || m.MessageID == 0 || m.Chat.Type != "private" || m.Text != "hi" {
		t.Fatalf("sendMessage = %d %+v", code, r)
	}

	s.Inject(7012345678, PrivateText(User(1, "A", ""), "1"))
	s.Inject(7012345678, PrivateText(User(1, "A", ""), "2"))
	last := s.Inject(7012345678, PrivateText(User(1, "A", ""), "3"))
	// A negative offset keeps only the last -offset updates.
	_, r = get(t, api+"getUpdates?offset=-1")
	var ups []telego.Update
	_ = json.Unmarshal(r.Result, &ups)
	if len(ups) != 1 || ups[0].UpdateID != last.UpdateID || s.Pending(7012345678) != 1 {
		t.Fatalf("offset=-1 gave %+v", ups)
	}

	// allowed_updates filters and sticks.
	s.Inject(7012345678, BotAdded(s.BotUser(7012345678), Group(-4000000001, "G"), User(1, "A", "")))
	_, r = postForm(t, api+"getUpdates", url.Values{"offset": {"-1"}, "allowed_updates": {`["message"]`}})
	_ = json.Unmarshal(r.Result, &ups)
	if len(ups) != 0 {
		t.Fatalf("my_chat_member delivered despite allowed_updates=[message]: %+v", ups)
	}

	s.FailNext(7012345678, "getupdates", Fault{Status: 429, RetryAfter: 4})
	if code, r := get(t, api+"getUpdates"); code != 429 || r.Parameters == nil || r.Parameters.RetryAfter != 4 ||
		r.Description != "Too Many Requests: retry after 4" {
		t.Fatalf("429 = %d %+v", code, r)
	}
}

func TestCloseEndsLongPolls(t *testing.T) {
	s := New()
	base := s.Start()
	tok := s.AddBot(BotSpec{ID: 123456})
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(base + "/bot" + tok + "/getUpdates?timeout=60")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	for s.Calls("getUpdates") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	s.Close()
	<-done
	if time.Since(start) > 5*time.Second {
		t.Fatal("Close waited for the long poll timeout")
	}
}

func TestControlAPI(t *testing.T) {
	s, base := start(t)
	ctl := base + "/_control"

	var added struct{ Token string }
	if code := postJSON(t, ctl+"/bots", map[string]any{"id": 7099999999, "username": "demo_bot", "first_name": "Demo"}, &added); code != 200 || added.Token == "" {
		t.Fatalf("add bot = %d %+v", code, added)
	}
	var upd telego.Update
	postJSON(t, ctl+"/bots/7099999999/updates", map[string]any{
		"text": "hello", "chat_type": "supergroup", "chat_id": -1001111111111, "chat_title": "Demo group", "from_id": 5512345678,
	}, &upd)
	if upd.UpdateID == 0 || upd.Message == nil || upd.Message.Chat.Type != "supergroup" {
		t.Fatalf("inject = %+v", upd)
	}
	raw := PrivateText(User(5512345678, "Alice", "alice"), "raw form")
	postJSON(t, ctl+"/bots/7099999999/updates", map[string]any{"update": raw}, &upd)
	if upd.Message == nil || upd.Message.Text != "raw form" {
		t.Fatalf("raw inject = %+v", upd)
	}
	var pending struct{ Pending int }
	resp, _ := http.Get(ctl + "/bots/7099999999/pending")
	_ = json.NewDecoder(resp.Body).Decode(&pending)
	resp.Body.Close()
	if pending.Pending != 2 {
		t.Fatalf("pending = %d", pending.Pending)
	}

	postJSON(t, ctl+"/bots/7099999999/faults", map[string]any{"method": "getMe", "status": 401}, nil)
	if code, _ := get(t, base+"/bot"+added.Token+"/getMe"); code != 401 {
		t.Fatalf("fault via control = %d", code)
	}
	postJSON(t, ctl+"/bots/7099999999/webhook", map[string]any{"url": "https://example.com/h"}, nil)
	if _, r := get(t, base+"/bot"+added.Token+"/getUpdates"); r.Description != DescConflictWebhook {
		t.Fatalf("webhook conflict = %+v", r)
	}
	postJSON(t, ctl+"/tokens/revoke", map[string]any{"token": added.Token}, nil)
	if code, _ := get(t, base+"/bot"+added.Token+"/getMe"); code != 401 {
		t.Fatalf("revoked = %d", code)
	}
	if code := postJSON(t, ctl+"/bots/1/updates", map[string]any{"text": "x"}, nil); code != 404 {
		t.Fatalf("unknown bot = %d", code)
	}
	if len(s.Sent(7099999999)) != 0 {
		t.Fatal("unexpected sent messages")
	}
}

// TestJSONBodyMustBeAnObject: like strict Bot API emulators and proxies,
// the fake refuses a JSON body that is not an object, the literal null
// included.
func TestJSONBodyMustBeAnObject(t *testing.T) {
	s, base := start(t)
	tok := s.AddBot(BotSpec{ID: 7012345678, Username: "acme_bot", FirstName: "Acme"})
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"empty object", `{}`, http.StatusOK},
		{"object", `{"x":1}`, http.StatusOK},
		{"null", `null`, http.StatusBadRequest},
		{"array", `[]`, http.StatusBadRequest},
		{"garbage", `{`, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(base+"/bot"+tok+"/getMe", "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("getMe with body %s = %d, want %d", tc.body, resp.StatusCode, tc.want)
			}
		})
	}
}
