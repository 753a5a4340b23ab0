package store

import (
	"context"
	"strings"
	"testing"

	"github.com/botdesk/botdesk/models"
)

func TestSearchIndexFollowsIngestEditsAndDeletes(t *testing.T) {
	t.Parallel()
	s, ch := ingestStore(t)
	ctx := context.Background()
	if _, err := s.SetWorkbench(ctx, ch.ID, models.WorkbenchAll, nil); err != nil {
		t.Fatal(err)
	}
	mo := func(m *models.Message) ([]byte, error) { return []byte(`{"type":"mo"}`), nil }
	photo := text(12, 2, 1, "private", "Invoice <b>#4711</b> attached")
	photo.Message.Type = "photo" // a caption is stored as the message text
	b := IngestBatch{BotTelegramID: ingestBot, NextOffset: 13, MOPayload: mo, Updates: []IngestUpdate{
		text(10, 1, 1, "private", "Where is my parcel? It's late"),
		text(11, 1, 2, "private", "parcel number 123"),
		photo,
	}}
	if _, err := s.IngestBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	search := func(q, channel string) []SearchHit {
		t.Helper()
		hits, err := s.Search(ctx, SearchFilter{Query: q, ChannelID: channel})
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		return hits
	}
	tests := []struct {
		q    string
		want []string // snippet texts, newest first
	}{
		{"parcel", []string{"parcel number 123", "Where is my parcel? It's late"}},
		{"PARCEL late", []string{"Where is my parcel? It's late"}},
		{"parc", []string{"parcel number 123", "Where is my parcel? It's late"}}, // the last word is a prefix
		{"4711", []string{"Invoice <b>#4711</b> attached"}},
		{"nothing", nil},
		// Hostile FTS syntax is only words: no operator, column or quote survives.
		{`"parcel OR text:x NEAR(`, nil},
		{`parcel -late`, []string{"Where is my parcel? It's late"}},
		{`*** ""`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			var got []string
			for _, h := range search(tt.q, "") {
				var b strings.Builder
				for _, p := range h.Parts() {
					b.WriteString(p.Text)
				}
				got = append(got, b.String())
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	hits := search("parcel", ch.ID)
	if len(hits) != 2 || hits[0].ConversationID == 0 || hits[0].ChannelID != ch.ID {
		t.Fatalf("hits %+v", hits)
	}
	var marked []string
	for _, p := range hits[0].Parts() {
		if p.Hit {
			marked = append(marked, p.Text)
		}
	}
	if len(marked) != 1 || marked[0] != "parcel" {
		t.Errorf("highlighted %q, want [parcel]", marked)
	}
	if other := search("parcel", "tg-aaaaaaaaaa"); len(other) != 0 {
		t.Errorf("another channel's filter found %d", len(other))
	}

	// An edit replaces the indexed text in the same transaction.
	edit := text(14, 1, 2, "private", "tracking code 999")
	edit.Kind, edit.Message.Edited = "edited_message", true
	if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 15, MOPayload: mo, Updates: []IngestUpdate{edit}}); err != nil {
		t.Fatal(err)
	}
	if got := search("tracking", ""); len(got) != 1 {
		t.Errorf("edited text found %d times, want 1", len(got))
	}
	if got := search("number", ""); len(got) != 0 {
		t.Errorf("the text before the edit is still found: %d", len(got))
	}

	// Outside the workbench: not found.
	if err := s.w(ctx).Model(&models.Conversation{}).Where("chat_id = 2").Update("in_workbench", false).Error; err != nil {
		t.Fatal(err)
	}
	if got := search("invoice", ""); len(got) != 0 {
		t.Errorf("a conversation outside the workbench is searched: %d", len(got))
	}
	// Deleting the channel deletes its messages and their index entries.
	if err := s.w(ctx).Exec("DELETE FROM messages").Error; err != nil {
		t.Fatal(err)
	}
	// (On PostgreSQL the index is the table's own: nothing to leave behind.)
	if !s.Postgres() {
		var n int64
		if err := s.r(ctx).Raw("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'parcel'").Scan(&n).Error; err != nil || n != 0 {
			t.Errorf("index after delete: %d, %v", n, err)
		}
	}
}

func TestFTSQuery(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                  "",
		"  ":                "",
		"Hello":             `"hello*"`,
		`a "b" c:`:          `"a" "b" "c*"`,
		"Привет мир":        `"привет" "мир*"`,
		"1 2 3 4 5 6 7 8 9": `"1" "2" "3" "4" "5" "6" "7" "8*"`,
	} {
		if got := ftsQuery(in); got != want {
			t.Errorf("ftsQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

// goSnippet is PostgreSQL's snippet: the text around the first match, cut
// with "…", every matching word marked, the last term a prefix.
func TestGoSnippet(t *testing.T) {
	t.Parallel()
	long := "one two three four five six seven eight nine ten eleven twelve parcel fourteen fifteen sixteen seventeen eighteen nineteen twenty twenty-one"
	for _, tc := range []struct{ name, text, q, want string }{
		{"short text whole", "Where is my parcel? It's late", "parcel", "Where is my \x02parcel\x03? It's late"},
		{"prefix of the last term", "parcel number 123", "parcel num", "\x02parcel\x03 \x02number\x03 123"},
		{"tags are kept as text", "Invoice <b>#4711</b> attached", "4711", "Invoice <b>#\x024711\x03</b> attached"},
		{"cut around the match", long, "parcel", "…seven eight nine ten eleven twelve \x02parcel\x03 fourteen fifteen sixteen seventeen eighteen nineteen twenty twenty-one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := goSnippet(tc.text, tc.q); got != tc.want {
				t.Errorf("goSnippet(%q, %q) = %q, want %q", tc.text, tc.q, got, tc.want)
			}
		})
	}
}

// A forum's topics are conversations of their own: a hit in one topic is
// found once, in that topic's conversation, not once per topic of the chat.
func TestSearchInForumTopicsFindsEachHitOnce(t *testing.T) {
	t.Parallel()
	s, ch := ingestStore(t)
	ctx := context.Background()
	if _, err := s.SetWorkbench(ctx, ch.ID, models.WorkbenchAll, nil); err != nil {
		t.Fatal(err)
	}
	inTopic := func(u IngestUpdate, topic int64) IngestUpdate {
		u.Message.MessageThreadID = &topic
		return u
	}
	mo := func(m *models.Message) ([]byte, error) { return []byte(`{"type":"mo"}`), nil }
	b := IngestBatch{BotTelegramID: ingestBot, NextOffset: 13, MOPayload: mo, Updates: []IngestUpdate{
		inTopic(text(10, -1001, 1, "supergroup", "billing question"), 7),
		inTopic(text(11, -1001, 2, "supergroup", "shipping refund please"), 8),
		inTopic(text(12, -1001, 3, "supergroup", "another billing line"), 9),
	}}
	if _, err := s.IngestBatch(ctx, b); err != nil {
		t.Fatal(err)
	}
	hits, err := s.Search(ctx, SearchFilter{Query: "refund"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 {
		t.Fatalf("%d hits for one message in one of three topics: %+v", len(hits), hits)
	}
	conv, err := s.Conversation(ctx, hits[0].ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if conv.ThreadID != 8 {
		t.Fatalf("the hit links to topic %d, want 8", conv.ThreadID)
	}
}
