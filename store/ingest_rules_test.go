package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
)

// ruleBase is the date of every message in the rule tests, plus offsets.
var ruleBase = time.Unix(1_700_000_000, 0).UTC()

// ruleMsg is a new message in chat with Telegram id msgID, dated sec
// seconds after ruleBase.
func ruleMsg(updateID, chat, msgID int64, chatType, title, body string, sec int) IngestUpdate {
	return IngestUpdate{UpdateID: updateID, Kind: "message", Message: &IngestMessage{
		TelegramMessageID: msgID, ChatID: chat, ChatType: chatType, ChatTitle: title, ChatUsername: "u" + title,
		FromID: 9, FromName: "N", Type: "text", Text: body, Date: ruleBase.Add(time.Duration(sec) * time.Second),
	}}
}

// ruleEdit is an edit of message msgID in chat.
func ruleEdit(updateID, chat, msgID int64, body string) IngestUpdate {
	u := ruleMsg(updateID, chat, msgID, "private", "", body, 0)
	u.Kind, u.Message.Edited, u.Message.EditDate = "edited_message", true, ruleBase.Add(time.Hour)
	return u
}

// TestIngestConversationRule is the conversation and workbench rule of an
// incoming message, applied by the batched ingest: which chats enter the
// workbench in each mode, that an open chat stays in and a resolved one is
// reopened, unread counts, the list line and position (never moved back by
// a late update), titles, the chats row of groups, and edits.
func TestIngestConversationRule(t *testing.T) {
	type want struct {
		in       bool
		status   string
		unread   int64
		lastText string
		lastAt   int // seconds after ruleBase
		title    string
	}
	for _, tc := range []struct {
		name string
		mode models.WorkbenchMode
		// batches are ingested in order; after each but the last, agents
		// resolve every conversation when resolve is set.
		batches [][]IngestUpdate
		resolve bool
		want    want
	}{
		{name: "all: a new chat enters", mode: models.WorkbenchAll,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "hello", 1)}},
			want:    want{true, "open", 1, "hello", 1, "Ann"}},
		{name: "off: a new chat stays out", mode: models.WorkbenchOff,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "I need help", 1)}},
			want:    want{false, "open", 1, "I need help", 1, "Ann"}},
		{name: "keyword: a match puts the chat in", mode: models.WorkbenchKeyword,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "I need HELP", 1)}},
			want:    want{true, "open", 1, "I need HELP", 1, "Ann"}},
		{name: "keyword: no match stays out", mode: models.WorkbenchKeyword,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "hello", 1)}},
			want:    want{false, "open", 1, "hello", 1, "Ann"}},
		{name: "keyword: a match earlier in the batch keeps the chat in", mode: models.WorkbenchKeyword,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "hello", 1), ruleMsg(2, 1, 2, "private", "Ann", "help", 2), ruleMsg(3, 1, 3, "private", "Ann", "bye", 3)}},
			want:    want{true, "open", 3, "bye", 3, "Ann"}},
		{name: "keyword: a match in a later batch puts an existing chat in", mode: models.WorkbenchKeyword,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "hello", 1)}, {ruleMsg(2, 1, 2, "private", "Ann", "help", 2)}},
			want:    want{true, "open", 2, "help", 2, "Ann"}},
		{name: "keyword: an open chat stays in without a match", mode: models.WorkbenchKeyword,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "help", 1)}, {ruleMsg(2, 1, 2, "private", "Ann", "thanks", 2)}},
			want:    want{true, "open", 2, "thanks", 2, "Ann"}},
		{name: "keyword: a match reopens a resolved chat", mode: models.WorkbenchKeyword, resolve: true,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "help", 1)}, {ruleMsg(2, 1, 2, "private", "Ann", "bye", 2), ruleMsg(3, 1, 3, "private", "Ann", "help again", 3), ruleMsg(4, 1, 4, "private", "Ann", "ok", 4)}},
			want:    want{true, "open", 3, "ok", 4, "Ann"}},
		{name: "keyword: a resolved chat without a match stays resolved", mode: models.WorkbenchKeyword, resolve: true,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "help", 1)}, {ruleMsg(2, 1, 2, "private", "Ann", "thanks", 2)}},
			want:    want{false, "resolved", 1, "thanks", 2, "Ann"}},
		{name: "all: a resolved chat is reopened", mode: models.WorkbenchAll, resolve: true,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "hi", 1)}, {ruleMsg(2, 1, 2, "private", "Ann", "again", 2)}},
			want:    want{true, "open", 1, "again", 2, "Ann"}},
		{name: "off: a resolved chat stays resolved", mode: models.WorkbenchOff, resolve: true,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "hi", 1)}, {ruleMsg(2, 1, 2, "private", "Ann", "again", 2)}},
			want:    want{false, "resolved", 1, "again", 2, "Ann"}},
		{name: "a late message in the same batch does not move the list back", mode: models.WorkbenchAll,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "new", 5), ruleMsg(2, 1, 2, "private", "Ann", "old", 3)}},
			want:    want{true, "open", 2, "new", 5, "Ann"}},
		{name: "a late message in a later batch does not move the list back", mode: models.WorkbenchAll,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "new", 5)}, {ruleMsg(2, 1, 2, "private", "Ann", "old", 3)}},
			want:    want{true, "open", 2, "new", 5, "Ann"}},
		{name: "a message with the same date moves the list line", mode: models.WorkbenchAll,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "first", 5)}, {ruleMsg(2, 1, 2, "private", "Ann", "second", 5)}},
			want:    want{true, "open", 2, "second", 5, "Ann"}},
		{name: "an empty title keeps the title", mode: models.WorkbenchAll,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "a", 1), ruleMsg(2, 1, 2, "private", "", "b", 2)}, {ruleMsg(3, 1, 3, "private", "", "c", 3)}},
			want:    want{true, "open", 3, "c", 3, "Ann"}},
		{name: "a new title replaces the title", mode: models.WorkbenchAll,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "a", 1)}, {ruleMsg(2, 1, 2, "private", "Anna", "b", 2)}},
			want:    want{true, "open", 2, "b", 2, "Anna"}},
		{name: "an edit of an unknown message is a new message", mode: models.WorkbenchKeyword,
			batches: [][]IngestUpdate{{ruleEdit(1, 1, 40, "help, edited")}},
			want:    want{true, "open", 1, "help, edited", 0, ""}},
		{name: "an edit of a stored message counts nothing", mode: models.WorkbenchAll,
			batches: [][]IngestUpdate{{ruleMsg(1, 1, 1, "private", "Ann", "typo", 1), ruleEdit(2, 1, 1, "fixed")}},
			want:    want{true, "open", 1, "typo", 1, "Ann"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ch := ingestStore(t)
			ctx := context.Background()
			if _, err := s.SetWorkbench(ctx, ch.ID, tc.mode, []string{"help"}); err != nil {
				t.Fatal(err)
			}
			for i, ups := range tc.batches {
				if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, Updates: ups, NextOffset: ups[len(ups)-1].UpdateID + 1}); err != nil {
					t.Fatal(err)
				}
				if tc.resolve && i < len(tc.batches)-1 {
					if err := s.w(ctx).Exec("UPDATE conversations SET status = 'resolved', in_workbench = false, unread = 0").Error; err != nil {
						t.Fatal(err)
					}
				}
			}
			var convs []models.Conversation
			if err := s.r(ctx).Find(&convs).Error; err != nil {
				t.Fatal(err)
			}
			if len(convs) != 1 {
				t.Fatalf("%d conversations, want 1", len(convs))
			}
			c := convs[0]
			got := want{c.InWorkbench, c.Status, c.Unread, c.LastMessageText, int(c.LastMessageAt.Sub(ruleBase) / time.Second), c.Title}
			if got != tc.want {
				t.Errorf("conversation = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestIngestListLine: the list line is the text, trimmed and cut at 200
// characters, else the message type in brackets.
func TestIngestListLine(t *testing.T) {
	long := strings.Repeat("é", 250)
	for _, tc := range []struct {
		name, typ, text, want string
	}{
		{"text", "text", "  hello  ", "hello"},
		{"photo without caption", "photo", "", "[photo]"},
		{"photo with caption", "photo", "look", "look"},
		{"empty text", "text", " ", ""},
		{"long text", "text", long, strings.Repeat("é", 200) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := ingestStore(t)
			ctx := context.Background()
			u := ruleMsg(1, 1, 1, "private", "Ann", tc.text, 1)
			u.Message.Type = tc.typ
			if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, Updates: []IngestUpdate{u}, NextOffset: 2}); err != nil {
				t.Fatal(err)
			}
			var c models.Conversation
			if err := s.r(ctx).Take(&c).Error; err != nil {
				t.Fatal(err)
			}
			if c.LastMessageText != tc.want {
				t.Errorf("list line = %q, want %q", c.LastMessageText, tc.want)
			}
		})
	}
}

// TestIngestGroupChatRow: each message in a group, supergroup or channel
// counts on its chats row, which takes the last message's date, type and
// username and the last non-empty title; private chats have no chats row;
// my_chat_member keeps the count.
func TestIngestGroupChatRow(t *testing.T) {
	s, ch := ingestStore(t)
	ctx := context.Background()
	added := IngestUpdate{UpdateID: 1, Kind: "my_chat_member", Member: &IngestMember{ChatID: -100, ChatType: "group", Title: "G", Status: "administrator"}}
	if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 5, Updates: []IngestUpdate{
		added, ruleMsg(2, -100, 1, "group", "G2", "a", 5), ruleMsg(3, 1, 1, "private", "Ann", "b", 6), ruleMsg(4, -100, 2, "supergroup", "", "c", 4),
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 7, Updates: []IngestUpdate{
		ruleMsg(5, -100, 3, "supergroup", "", "d", 7), ruleMsg(6, -200, 1, "channel", "C", "post", 8),
	}}); err != nil {
		t.Fatal(err)
	}
	chats, err := s.ListChats(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		chat          int64
		typ, title    string
		username      string
		status        string
		count         int64
		lastAt        int
		hasLastAtTime bool
	}
	got := map[int64]row{}
	for _, c := range chats {
		r := row{chat: c.ChatID, typ: c.Type, title: c.Title, username: c.Username, status: c.MemberStatus, count: c.MessageCount}
		if c.LastMessageAt != nil {
			r.lastAt, r.hasLastAtTime = int(c.LastMessageAt.Sub(ruleBase)/time.Second), true
		}
		got[c.ChatID] = r
	}
	wantRows := map[int64]row{
		-100: {-100, "supergroup", "G2", "u", "administrator", 3, 7, true},
		-200: {-200, "channel", "C", "uC", "member", 1, 8, true},
	}
	if len(got) != len(wantRows) {
		t.Fatalf("chats = %+v", got)
	}
	for id, w := range wantRows {
		if got[id] != w {
			t.Errorf("chat %d = %+v, want %+v", id, got[id], w)
		}
	}
	// The bot promoted again: the status changes, the count stays.
	again := IngestUpdate{UpdateID: 7, Kind: "my_chat_member", Member: &IngestMember{ChatID: -100, ChatType: "supergroup", Status: "member"}}
	if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 8, Updates: []IngestUpdate{again}}); err != nil {
		t.Fatal(err)
	}
	chats, _ = s.ListChats(ctx, ch.ID)
	for _, c := range chats {
		if c.ChatID == -100 && (c.MemberStatus != "member" || c.MessageCount != 3 || c.Title != "G2") {
			t.Errorf("after my_chat_member: %+v", c)
		}
	}
}

// TestIngestEditOfUnknownMessage: an edit whose original is not stored is
// kept as a new incoming message marked edited, with its own mo event and
// hub change, like any new message; a second edit of it in the same batch
// then edits that message.
func TestIngestEditOfUnknownMessage(t *testing.T) {
	s, _ := ingestStore(t)
	ctx := context.Background()
	mo := func(m *models.Message) ([]byte, error) {
		edited := "no"
		if m.EditedAt != nil {
			edited = "yes"
		}
		return []byte(`{"text":"` + m.Text + `","edited":"` + edited + `"}`), nil
	}
	res, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 4, MOPayload: mo, Updates: []IngestUpdate{
		ruleMsg(1, 1, 1, "private", "Ann", "first", 1), ruleEdit(2, 1, 40, "edited once"), ruleEdit(3, 1, 40, "edited twice"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 3 || res.Changes[1].MessageID == 0 || res.Changes[1].MessageID != res.Changes[2].MessageID ||
		res.Changes[1].ConversationID == 0 || res.Changes[1].ConversationID != res.Changes[0].ConversationID {
		t.Fatalf("changes = %+v", res.Changes)
	}
	var m models.Message
	if err := s.r(ctx).Where("id = ?", res.Changes[1].MessageID).Take(&m).Error; err != nil {
		t.Fatal(err)
	}
	if m.Text != "edited twice" || m.EditedAt == nil || !m.EditedAt.Equal(ruleBase.Add(time.Hour)) || m.Direction != "in" || m.Status != "received" {
		t.Fatalf("message = %+v", m)
	}
	var edits []models.MessageEdit
	if err := s.r(ctx).Find(&edits).Error; err != nil || len(edits) != 1 || edits[0].Text != "edited once" {
		t.Fatalf("edits = %+v, %v", edits, err)
	}
	var payloads []string
	if err := s.r(ctx).Table("outbox").Order("id").Pluck("payload", &payloads).Error; err != nil {
		t.Fatal(err)
	}
	want := []string{`{"text":"first","edited":"no"}`, `{"text":"edited once","edited":"yes"}`, `{"text":"edited twice","edited":"yes"}`}
	if strings.Join(payloads, "\n") != strings.Join(want, "\n") {
		t.Fatalf("mo events:\n%s\nwant\n%s", strings.Join(payloads, "\n"), strings.Join(want, "\n"))
	}
}
