package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/botdesk/botdesk/models"
)

// englishWord is a run of Latin letters long enough to be a word.
var englishWord = regexp.MustCompile(`[A-Za-z][A-Za-z'’-]{2,}`)

// notLabels are what may stay Latin on a Chinese page: names, product and
// protocol terms, and values the user typed or Telegram sent.
var notLabels = regexp.MustCompile(`[\w.+-]+@[\w.-]+|@\w+|https?://\S+|/\w+|\btg-\w+|\btest-\w+|\bapi:\S+|\d+:\w+|\w+_bot\b|\bchannel\.|\b(botdesk|Telegram|BotFather|Token|Webhook|Webhooks|webhook|API|HTTP|CSV|POST|MO|UTC|Standard|Gone|ID|id|Acme|bot|whsec_\S*)\b`)

// untranslated lists the visible texts and labelling attributes of a page
// that still contain English words. Code, ids and values shown in
// monospace are data, not labels, and elements marked with another lang
// (the language picker's "English") are meant to be foreign.
func untranslated(t *testing.T, body string) (lang string, bad []string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	check := func(where, s string) {
		if w := englishWord.FindString(notLabels.ReplaceAllString(s, " ")); w != "" {
			bad = append(bad, where+": "+strings.TrimSpace(s))
		}
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "style", "code", "kbd", "textarea", "title":
				return
			}
			for _, a := range n.Attr {
				switch {
				case a.Key == "lang" && n.Data == "html":
					lang = a.Val
				case a.Key == "lang" && a.Val != "zh-CN":
					return
				case a.Key == "class" && strings.Contains(" "+a.Val+" ", " mono "):
					return
				case a.Key == "data-testid" && a.Val == "current-user":
					return
				case a.Key == "placeholder", a.Key == "aria-label", a.Key == "title":
					check(n.Data+"["+a.Key+"]", a.Val)
				}
			}
		}
		if n.Type == html.TextNode {
			check("text", n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return lang, bad
}

// A browser asking for zh-CN gets every console page in Chinese: <html
// lang>, navigation, tabs, forms, tables, dialogs and flashes.
func TestChinesePagesShowNoEnglishLabels(t *testing.T) {
	env := newBotEnv(t)
	ch := env.createChannel(t, "客服渠道")
	env.connectAPI(t, ch, env.addBot(777000111, "acme_bot")).wantStatus(t, http.StatusCreated)
	empty := env.createChannel(t, "空渠道")
	env.apiKey(t, models.RoleAgent) // the API keys page lists one

	admin := env.userClient(t, models.RoleAdmin)
	admin.Header = http.Header{"Accept-Language": {"zh-CN,zh;q=0.9,en;q=0.5"}}
	// A flash: creating a channel redirects with "Channel … created".
	admin.postForm("/channels", url.Values{"name": {"新渠道"}}).wantStatus(t, http.StatusSeeOther)
	// The workspace pages with something on them: a label (its colour
	// picker, the list filter and chips on rows), canned responses (global
	// and per channel, a flash) and a conversation a search finds. (The
	// FTS4 tokenizer keeps a run of Han characters as one word, so a
	// search finds it by its beginning: docs/guide.md, "Search".)
	wb := newWBFixture(t, env.testEnv, "工作台渠道")
	conv := wb.conv(t, 31337, "李四")
	wb.msg(t, conv, "退款申请", func(m *models.Message) { m.FromName = "李四" })
	admin.postForm("/labels", url.Values{"name": {"重要"}, "color": {"red"}}).wantStatus(t, http.StatusSeeOther)
	admin.postForm(fmt.Sprintf("/workbench/c/%d/labels", conv.ID), url.Values{"labels": {"重要"}}).wantStatus(t, http.StatusSeeOther)
	admin.postForm("/canned-responses", url.Values{"shortcut": {"hello"}, "text": {"您好"}, "channel_id": {wb.ch.ID}}).wantStatus(t, http.StatusSeeOther)
	admin.postForm("/canned-responses", url.Values{"shortcut": {"thanks"}, "text": {"谢谢"}}).wantStatus(t, http.StatusSeeOther)

	pages := []string{
		"/channels",
		"/channels/" + ch.ID + "/overview",
		"/channels/" + ch.ID + "/chatbot",
		"/channels/" + ch.ID + "/groups",
		"/channels/" + ch.ID + "/webhook",
		"/channels/" + empty.ID + "/chatbot",
		"/channels/" + empty.ID + "/groups",
		"/users",
		"/apikeys",
		"/audit",
		"/reports",
		"/channels/" + ch.ID + "/overview?range=30d",
		"/channels/tg-aaaaaaaaaa/overview", // the error page
		"/channels/" + ch.ID + "/workbench",
		"/workbench",
		"/canned-responses", // with the flash of the one just created
		"/labels",
		"/search",
		"/search?q=" + url.QueryEscape("退款"),
		"/search?q=" + url.QueryEscape("没有这个词"),
	}
	for _, path := range pages {
		t.Run(path, func(t *testing.T) {
			r := admin.get(path)
			lang, bad := untranslated(t, r.Body)
			if lang != "zh-CN" {
				t.Errorf("<html lang=%q>, want zh-CN", lang)
			}
			for _, b := range bad {
				t.Errorf("English on the zh-CN page (translate it with T(ctx, …) and i18n/zh_cn.go): %s", b)
			}
		})
	}
	t.Run("the search found the message", func(t *testing.T) {
		if n := admin.get("/search?q=" + url.QueryEscape("退款")).doc(t).Find(`[data-testid="search-hit"]`).Length(); n != 1 {
			t.Errorf("%d search hits, want 1", n)
		}
	})
	t.Run("sign-in page", func(t *testing.T) {
		anon := env.anonClient(t)
		anon.Header = http.Header{"Accept-Language": {"zh-CN"}}
		r := anon.get("/login")
		lang, bad := untranslated(t, r.Body)
		if lang != "zh-CN" || len(bad) > 0 {
			t.Errorf("lang %q, English: %v", lang, bad)
		}
	})
	t.Run("the checker sees English", func(t *testing.T) {
		plain := env.userClient(t, models.RoleAdmin)
		_, bad := untranslated(t, plain.get("/channels").Body)
		if len(bad) < 10 {
			t.Errorf("the English page has only %d English texts: the checker is blind", len(bad))
		}
	})
}

// The language a user picks beats the browser's, is kept across sign-ins,
// and "Browser default" hands the choice back to Accept-Language.
func TestLanguageSettingFollowsTheUser(t *testing.T) {
	env := newTestEnv(t)
	c := env.userClient(t, models.RoleAgent)
	langOf := func() string {
		lang, _ := untranslated(t, c.get("/workbench").Body)
		return lang
	}
	if got := langOf(); got != "en" {
		t.Fatalf("default lang %q, want en", got)
	}
	r := c.postForm("/account/language", url.Values{"language": {"zh-CN"}, "next": {"/workbench"}})
	r.wantStatus(t, http.StatusSeeOther)
	if loc := r.location(); loc != "/workbench" {
		t.Errorf("redirect to %q, want /workbench", loc)
	}
	if got := langOf(); got != "zh-CN" {
		t.Errorf("after choosing zh-CN: lang %q", got)
	}
	c.Header = http.Header{"Accept-Language": {"en-US"}}
	if got := langOf(); got != "zh-CN" {
		t.Errorf("the user's setting must beat Accept-Language: lang %q", got)
	}
	c.postForm("/account/language", url.Values{"language": {"auto"}, "next": {"//evil.example"}}).wantStatus(t, http.StatusSeeOther)
	if got := langOf(); got != "en" {
		t.Errorf("after Browser default with an English browser: lang %q", got)
	}
	c.postForm("/account/language", url.Values{"language": {"xx"}}).wantStatus(t, http.StatusUnprocessableEntity)
	c.postRaw("/account/language", url.Values{"language": {"zh-CN"}}).wantStatus(t, http.StatusForbidden)
	if r := env.anonClient(t).postForm("/account/language", url.Values{"language": {"zh-CN"}}); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/login") {
		t.Errorf("signed out: status %d to %q, want a redirect to /login", r.Status, r.location())
	}
}

// The workbench in zh-CN: the page, an open conversation, and the live row
// update a Chinese stream receives (rendered in its language, not the
// first viewer's).
func TestChineseWorkbench(t *testing.T) {
	env := newTestEnv(t)
	f := newWBFixture(t, env, "支持")
	f.bot(t, 4242)
	conv := f.conv(t, 9001, "张三")
	f.msg(t, conv, "你好", func(m *models.Message) { m.FromName = "张三" })
	// The stream's own request carries no Accept-Language: the language
	// comes from the user's setting.
	agent := env.userClient(t, models.RoleAgent)
	agent.postForm("/account/language", url.Values{"language": {"zh-CN"}}).wantStatus(t, http.StatusSeeOther)
	english := env.userClient(t, models.RoleAdmin)
	base := fmt.Sprintf("/workbench/c/%d", conv.ID)
	for _, path := range []string{"/workbench", base} {
		t.Run(path, func(t *testing.T) {
			lang, bad := untranslated(t, agent.get(path).wantStatus(t, http.StatusOK).Body)
			if lang != "zh-CN" {
				t.Errorf("lang %q", lang)
			}
			for _, b := range bad {
				t.Errorf("English on the zh-CN workbench: %s", b)
			}
		})
	}
	// The workspace panels with content: a label on the conversation (and
	// the list's label filter), a private note, the "/" list with and
	// without options, and a note's error.
	t.Run("workspace panels", func(t *testing.T) {
		english.postForm("/labels", url.Values{"name": {"退款"}, "color": {"teal"}}).wantStatus(t, http.StatusSeeOther)
		agent.postForm(base+"/labels", url.Values{"labels": {"退款"}}).wantStatus(t, http.StatusSeeOther)
		agent.htmx(http.MethodPost, base+"/notes", url.Values{"text": {"客户要求退款"}}).wantStatus(t, http.StatusOK)
		check := func(what, body string) {
			t.Helper()
			if _, bad := untranslated(t, body); len(bad) > 0 {
				t.Errorf("English in the zh-CN %s: %v", what, bad)
			}
		}
		page := agent.get(base).wantStatus(t, http.StatusOK)
		doc := page.doc(t)
		if doc.Find(`[data-testid="wb-notes"] [data-testid="note"]`).Length() != 1 || doc.Find(`#wb-labels input[name="labels"]:checked`).Length() != 1 {
			t.Fatalf("the conversation does not show its note and label:\n%s", page.Body)
		}
		check("conversation with a note and a label", page.Body)
		check("list filtered by label", agent.get("/workbench?label="+url.QueryEscape("退款")).wantStatus(t, http.StatusOK).Body)
		check("empty / list", agent.htmx(http.MethodGet, base+"/canned", nil).wantStatus(t, http.StatusOK).Body)
		english.postForm("/canned-responses", url.Values{"shortcut": {"thanks"}, "text": {"谢谢 {first_name}"}}).wantStatus(t, http.StatusSeeOther)
		check("/ list", agent.htmx(http.MethodGet, base+"/canned", nil).wantStatus(t, http.StatusOK).Body)
		check("note error", agent.htmx(http.MethodPost, base+"/notes", url.Values{"text": {"  "}}).wantStatus(t, http.StatusUnprocessableEntity).Body)
		check("labels panel", agent.htmx(http.MethodPost, base+"/labels", url.Values{"labels": {"退款"}}).wantStatus(t, http.StatusOK).Body)
	})
	t.Run("live rows", func(t *testing.T) {
		zh := openSSE(t, agent, streamURL(t, agent.get("/workbench").doc(t)), "")
		en := openSSE(t, english, streamURL(t, english.get("/workbench").doc(t)), "")
		waitStreams(t, env, 2)
		f.msg(t, conv, "还在吗")
		zr, _ := zh.until(t, "rows", isRows)
		er, _ := en.until(t, "rows", isRows)
		if _, bad := untranslated(t, zr.Data); len(bad) > 0 {
			t.Errorf("English in the zh-CN stream's row: %v", bad)
		}
		if zr.Data == er.Data {
			t.Errorf("the English and Chinese streams got the same row; want each in its language:\n%s", zr.Data)
		}
	})
}
