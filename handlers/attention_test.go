package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// The user's own settings: notifications (off by default) and the away
// switch, each audited; nobody signed out may change them.
func TestAccountAttentionSettings(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	agent := env.userClient(t, models.RoleAgent)
	u := env.user(t, models.RoleAgent)
	doc := agent.get("/account").wantStatus(t, http.StatusOK).doc(t)
	if _, on := doc.Find(`#notify_messages`).Attr("checked"); on {
		t.Fatal("notifications are on by default")
	}
	if doc.Find(`[data-notify-permission]`).Length() != 1 {
		t.Error("no button asking the browser for permission")
	}
	agent.postForm("/account/notifications", url.Values{"notify_messages": {"true"}}).wantStatus(t, http.StatusSeeOther)
	doc = agent.get("/account").wantStatus(t, http.StatusOK).doc(t)
	if _, on := doc.Find(`#notify_messages`).Attr("checked"); !on {
		t.Error("notifications not saved")
	}
	env.wantAudit(t, "user.notifications", strconv.FormatInt(u.ID, 10))
	// The workbench then carries them.
	doc = agent.get("/workbench").wantStatus(t, http.StatusOK).doc(t)
	if _, on := doc.Find(`#wb-notify`).Attr("data-notify-on"); !on {
		t.Error("the workbench does not know notifications are on")
	}
	if src, _ := doc.Find(`#wb-notify`).Attr("data-notify-sound"); !strings.HasPrefix(src, "/static/audio/") {
		t.Errorf("notification sound %q, want an embedded static asset", src)
	} else if r := agent.get(src); r.Status != http.StatusOK || r.Header.Get("Content-Type") != "audio/wav" {
		t.Errorf("sound: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	agent.postForm("/account/notifications", url.Values{}).wantStatus(t, http.StatusSeeOther)
	if _, on := agent.get("/workbench").doc(t).Find(`#wb-notify`).Attr("data-notify-on"); on {
		t.Error("unticking the box left notifications on")
	}

	// Away, through htmx as the workbench does it.
	r := agent.htmx(http.MethodPost, "/account/availability", url.Values{"away": {"true"}}).wantStatus(t, http.StatusOK)
	if got := r.text(t, `[data-testid=availability]`); got != "Away" {
		t.Errorf("switch shows %q after going away", got)
	}
	got, err := env.Store.UserByEmail(context.Background(), u.Email)
	if err != nil || !got.Away {
		t.Fatalf("away not stored: %+v %v", got, err)
	}
	env.wantAudit(t, "user.availability", strconv.FormatInt(u.ID, 10))
	agent.postForm("/account/availability", url.Values{"away": {"false"}}).wantStatus(t, http.StatusSeeOther)
	if got, _ := env.Store.UserByEmail(context.Background(), u.Email); got.Away {
		t.Error("back online not stored")
	}
	anon := env.anonClient(t)
	for _, p := range []string{"/account/notifications", "/account/availability"} {
		if r := anon.postForm(p, url.Values{"away": {"true"}}); r.Status == http.StatusOK || r.Status == http.StatusSeeOther && !strings.Contains(r.location(), "/login") {
			t.Errorf("signed out POST %s: %d %q", p, r.Status, r.location())
		}
	}
}

// A channel's auto-assignment: operators change it on the Workbench tab
// and through the API (audited); agents may not; bad input is explained
// next to its field.
func TestChannelAutoAssignSettings(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	ch := env.createChannel(t, "Support")
	op := env.userClient(t, models.RoleOperator)
	agentUser := env.user(t, models.RoleAgent)
	doc := op.get("/channels/"+ch.ID+"/workbench").wantStatus(t, http.StatusOK).doc(t)
	if doc.Find(`[data-testid=auto-assign-form] select[name=mode] option[selected]`).AttrOr("value", "") != "off" {
		t.Error("auto-assignment is not off by default")
	}
	if !strings.Contains(doc.Find(`[data-testid=assign-agents]`).Text(), agentUser.Email) {
		t.Error("the agent is not listed on the card")
	}
	r := op.postForm("/channels/"+ch.ID+"/auto-assign", url.Values{"mode": {"round_robin"}, "capacity": {"0"}})
	r.wantStatus(t, http.StatusUnprocessableEntity)
	if r.text(t, "#err-capacity") == "" {
		t.Error("a zero capacity is refused without a message at the field")
	}
	op.postForm("/channels/"+ch.ID+"/auto-assign", url.Values{"mode": {"round_robin"}, "capacity": {"3"}, "agents": {agentUser.Email}}).wantStatus(t, http.StatusSeeOther)
	set, err := env.Store.AssignSettingsOf(context.Background(), ch.ID)
	if err != nil || set.Mode != models.AutoAssignRoundRobin || set.Capacity != 3 || len(set.Agents) != 1 || set.Agents[0] != agentUser.ID {
		t.Fatalf("saved %+v %v", set, err)
	}
	env.wantAudit(t, "channel.auto_assign", ch.ID)
	agent := env.userClient(t, models.RoleAgent)
	if r := agent.postForm("/channels/"+ch.ID+"/auto-assign", url.Values{"mode": {"off"}, "capacity": {"3"}}); r.Status != http.StatusForbidden {
		t.Errorf("agent changing auto-assignment: %d, want 403", r.Status)
	}

	key := env.apiKey(t, models.RoleOperator)
	var out struct {
		Mode     string   `json:"mode"`
		Capacity int      `json:"capacity"`
		Agents   []string `json:"agents"`
	}
	env.api(t, key, http.MethodGet, "/api/v1/channels/"+ch.ID+"/assignment", nil).wantStatus(t, http.StatusOK).json(t, &out)
	if out.Mode != "round_robin" || out.Capacity != 3 || len(out.Agents) != 1 || out.Agents[0] != agentUser.Email {
		t.Errorf("GET assignment = %+v", out)
	}
	env.api(t, key, http.MethodPut, "/api/v1/channels/"+ch.ID+"/assignment", map[string]any{"mode": "off", "capacity": 7, "agents": []string{}}).
		wantStatus(t, http.StatusOK).json(t, &out)
	if out.Mode != "off" || out.Capacity != 7 || len(out.Agents) != 0 {
		t.Errorf("PUT assignment = %+v", out)
	}
	r = env.api(t, key, http.MethodPut, "/api/v1/channels/"+ch.ID+"/assignment", map[string]any{"mode": "round_robin", "capacity": 2, "agents": []string{"nobody@example.test"}})
	if code, _ := r.apiError(t); r.Status != http.StatusUnprocessableEntity || code == "" {
		t.Errorf("unknown agent: %d %s", r.Status, r.Body)
	}
	if r := env.api(t, env.apiKey(t, models.RoleAgent), http.MethodGet, "/api/v1/channels/"+ch.ID+"/assignment", nil); r.Status != http.StatusForbidden {
		t.Errorf("agent key reading assignment: %d, want 403", r.Status)
	}
	if r := env.api(t, key, http.MethodGet, "/api/v1/channels/tg-aaaaaaaaaa/assignment", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown channel: %d, want 404", r.Status)
	}
}

// With auto-assignment on, a new chat goes to the online agent (whose
// open workbench tab is their presence) and their stream shows "assigned
// to you" live; a second agent who is away gets nothing. With
// notifications on, the new messages of conversations assigned to the
// agent or to nobody ride along for the browser; others' do not.
func TestAutoAssignLiveNoticeAndNotifications(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	f := newWBFixture(t, env, "Support")
	f.bot(t, 4242)
	f.setMode(t, models.WorkbenchAll)
	ctx := context.Background()
	me := env.user(t, models.RoleAgent)
	away, awayClient := secondAgent(t, env, "away@example.test")
	if err := env.Store.SetAway(ctx, store.Actor{Name: "away"}, away.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.SetNotifyMessages(ctx, store.Actor{Name: "agent"}, me.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.SetAssignSettings(ctx, store.Actor{Name: "op"}, f.ch.ID, store.AssignSettings{Mode: models.AutoAssignRoundRobin, Capacity: 5}); err != nil {
		t.Fatal(err)
	}
	agent := env.userClient(t, models.RoleAgent)
	doc := agent.get("/workbench").wantStatus(t, http.StatusOK).doc(t)
	sse := openSSE(t, agent, streamURL(t, doc), "")
	awaySSE := openSSE(t, awayClient, streamURL(t, awayClient.get("/workbench").doc(t)), "")
	waitStreams(t, env, 2)
	// Both streams beat; only the one not away is online.
	waitFor(t, "the agent online", func() bool {
		u, _ := env.Store.UserByEmail(ctx, me.Email)
		return store.Online(u, time.Now())
	})

	next := int64(1000)
	ingest := func(chat int64, text string) {
		t.Helper()
		next++
		up := store.IngestUpdate{UpdateID: next, Kind: "message", Message: &store.IngestMessage{TelegramMessageID: next, ChatID: chat,
			ChatType: "private", ChatTitle: fmt.Sprintf("Chat %d", chat), Type: "text", Text: text, FromID: chat, FromName: "Customer", Date: time.Now()}}
		if _, err := env.Store.IngestBatch(ctx, store.IngestBatch{BotTelegramID: 4242, NextOffset: next + 1, Updates: []store.IngestUpdate{up}}); err != nil {
			t.Fatal(err)
		}
	}
	ingest(501, "first question")
	ev, _ := sse.until(t, "rows", func(ev sseEvent) bool {
		return ev.Name == "rows" && rowsDoc(t, ev).Find(`#wb-notice [data-testid=assigned-notice]`).Length() == 1
	})
	d := rowsDoc(t, ev)
	if !strings.Contains(d.Find(`#wb-notice`).Text(), "Chat 501") {
		t.Errorf("notice %q does not name the conversation", d.Find(`#wb-notice`).Text())
	}
	var conv models.Conversation
	if err := f.db.Where("channel_id = ? AND chat_id = 501", f.ch.ID).Take(&conv).Error; err != nil {
		t.Fatal(err)
	}
	if conv.AssignedTo == nil || *conv.AssignedTo != me.ID {
		t.Fatalf("chat 501 assigned to %v, want the online agent %d", conv.AssignedTo, me.ID)
	}
	// The same update carries the notification of its message.
	if n := d.Find(`#wb-notify [data-notify-title]`); n.Length() != 1 || n.AttrOr("data-notify-body", "") != "first question" || n.AttrOr("data-notify-title", "") != "Chat 501" {
		t.Errorf("no notification of the first question with its notice: %s", ev.Data)
	}
	// A conversation assigned to the away agent: no notification for me.
	other := f.conv(t, 77, "Theirs", func(c *models.Conversation) { c.AssignedTo = &away.ID })
	f.msg(t, other, "not for you")
	ingest(501, "second question")
	ev, seen := sse.until(t, "rows", func(ev sseEvent) bool {
		n := rowsDoc(t, ev).Find(`#wb-notify [data-notify-title]`)
		return ev.Name == "rows" && n.Length() == 1 && n.AttrOr("data-notify-body", "") == "second question"
	})
	for _, e := range append(seen, ev) {
		if strings.Contains(rowsDoc(t, e).Find(`#wb-notify`).Text()+rowsDoc(t, e).Find(`#wb-notify span`).AttrOr("data-notify-body", ""), "not for you") {
			t.Error("a message of another agent's conversation was notified")
		}
	}
	_ = awaySSE // open, yet away: skipped by the round (chat 501 is mine)
}

// The attention texts in zh-CN: the account page's notifications and
// availability card (its sessions table names the test's own browser,
// "Go program", which is data, not a label), the away switch and a
// refused auto-assignment form.
func TestChineseAttention(t *testing.T) {
	env := newTestEnv(t)
	ch := env.createChannel(t, "支持")
	agent := env.userClient(t, models.RoleAgent)
	agent.postForm("/account/language", url.Values{"language": {"zh-CN"}}).wantStatus(t, http.StatusSeeOther)
	op := env.userClient(t, models.RoleOperator)
	op.postForm("/account/language", url.Values{"language": {"zh-CN"}}).wantStatus(t, http.StatusSeeOther)
	check := func(what, body string) {
		t.Helper()
		_, bad := untranslated(t, body)
		for _, b := range bad {
			if !strings.Contains(b, "Go program") {
				t.Errorf("English in the zh-CN %s: %s", what, b)
			}
		}
	}
	check("account page", agent.get("/account").wantStatus(t, http.StatusOK).Body)
	check("away switch", agent.htmx(http.MethodPost, "/account/availability", url.Values{"away": {"true"}}).wantStatus(t, http.StatusOK).Body)
	check("account page, away", agent.get("/account").wantStatus(t, http.StatusOK).Body)
	check("refused auto-assignment", op.postForm("/channels/"+ch.ID+"/auto-assign", url.Values{"mode": {"round_robin"}, "capacity": {"x"}}).Body)
	check("refused auto-assignment", op.postForm("/channels/"+ch.ID+"/auto-assign", url.Values{"mode": {"round_robin"}, "capacity": {"5000"}}).Body)
}
