package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/botdesk/botdesk/models"
)

// seedConv writes a conversation row the way the ingest would.
func seedConv(t testing.TB, s *Store, channelID string, chatID int64, title string, in bool, status string, at time.Time) *models.Conversation {
	t.Helper()
	c := &models.Conversation{ChannelID: channelID, ChatID: chatID, ChatType: "private", Title: title, Status: status,
		InWorkbench: in, LastMessageAt: at, LastMessageText: "last of " + title}
	if err := s.w(context.Background()).Create(c).Error; err != nil {
		t.Fatal(err)
	}
	return c
}

func seedMessage(t testing.TB, s *Store, c *models.Conversation, dir, text string) *models.Message {
	t.Helper()
	m := &models.Message{ChannelID: c.ChannelID, BotTelegramID: 1, ChatID: c.ChatID, ChatType: c.ChatType, Direction: dir,
		Type: "text", Text: text, Status: "received", CreatedAt: time.Now().UTC()}
	if err := s.w(context.Background()).Create(m).Error; err != nil {
		t.Fatal(err)
	}
	return m
}

func TestListConversationsKeysetAndFilters(t *testing.T) {
	t.Parallel()
	s := openTestStore(t)
	ctx := context.Background()
	a, _ := s.CreateChannel(ctx, "A", nil)
	b, _ := s.CreateChannel(ctx, "B", nil)
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var want []int64 // newest first
	// 25 conversations, several sharing a timestamp so the id tie-break matters.
	for i := 0; i < 25; i++ {
		ch := a.ID
		if i%2 == 1 {
			ch = b.ID
		}
		at := base.Add(time.Duration(i/3) * time.Second)
		c := seedConv(t, s, ch, int64(1000+i), fmt.Sprintf("chat %02d", i), true, ConversationOpen, at)
		want = append([]int64{c.ID}, want...)
	}
	hidden := seedConv(t, s, a.ID, 9, "not in workbench", false, ConversationOpen, base.Add(time.Hour))
	resolved := seedConv(t, s, a.ID, 10, "resolved one", true, ConversationResolved, base.Add(-time.Hour))

	var got []int64
	cur := ""
	for page := 0; page < 10; page++ {
		p, err := s.ListConversations(ctx, ConversationFilter{Status: ConversationOpen, Before: cur, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Rows {
			got = append(got, r.ID)
			if r.ChannelName == "" {
				t.Errorf("row %d has no channel name", r.ID)
			}
		}
		if cur = p.Next; cur == "" {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged ids\n got %v\nwant %v", got, want)
	}

	count := func(f ConversationFilter) []int64 {
		t.Helper()
		f.Limit = 100
		p, err := s.ListConversations(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range p.Rows {
			if r.ID == hidden.ID {
				t.Errorf("conversation outside the workbench listed for %+v", f)
			}
			ids = append(ids, r.ID)
		}
		return ids
	}
	if n := len(count(ConversationFilter{ChannelID: b.ID})); n != 12 {
		t.Errorf("channel B: %d conversations, want 12", n)
	}
	if ids := count(ConversationFilter{Status: ConversationResolved}); len(ids) != 1 || ids[0] != resolved.ID {
		t.Errorf("resolved filter = %v, want [%d]", ids, resolved.ID)
	}
	if n := len(count(ConversationFilter{})); n != 26 {
		t.Errorf("all statuses: %d, want 26", n)
	}
	seedMessage(t, s, &models.Conversation{ChannelID: a.ID, ChatID: 1004, ChatType: "private"}, "in", "my order 100% broken_thing")
	if ids := count(ConversationFilter{Query: "100% broken_"}); len(ids) != 1 {
		t.Errorf("message text search = %v, want one conversation", ids)
	}
	if ids := count(ConversationFilter{Query: "chat 07"}); len(ids) != 1 {
		t.Errorf("title search = %v, want one", ids)
	}
	if ids := count(ConversationFilter{Query: "%"}); len(ids) != 1 {
		t.Errorf("%% must be literal, got %d rows", len(ids))
	}
	if _, err := s.ListConversations(ctx, ConversationFilter{Before: "garbage!"}); err == nil {
		t.Error("bad cursor accepted")
	} else if _, ok := models.AsValidation(err); !ok {
		t.Errorf("bad cursor: %v, want a validation error", err)
	}
}

func TestConversationActionsPublish(t *testing.T) {
	t.Parallel()
	s := openTestStore(t)
	ctx := context.Background()
	ch, _ := s.CreateChannel(ctx, "A", nil)
	u, err := s.CreateUser(ctx, "agent@example.test", models.RoleAgent, "long-enough-password")
	if err != nil {
		t.Fatal(err)
	}
	c := seedConv(t, s, ch.ID, 1, "x", true, ConversationOpen, time.Now())
	if err := s.w(ctx).Model(c).Update("unread", 3).Error; err != nil {
		t.Fatal(err)
	}
	sub, cancel := s.Hub().Subscribe()
	defer cancel()
	steps := []struct {
		name string
		do   func() error
		chk  func(r *models.ConversationRow) bool
	}{
		{"read", func() error { return s.MarkConversationRead(ctx, u.ID, c.ID) }, func(r *models.ConversationRow) bool { return r.Unread == 0 }},
		{"resolve", func() error { return s.SetConversationStatus(ctx, c.ID, ConversationResolved) }, func(r *models.ConversationRow) bool { return r.Status == "resolved" }},
		{"reopen", func() error { return s.SetConversationStatus(ctx, c.ID, ConversationOpen) }, func(r *models.ConversationRow) bool { return r.Status == "open" }},
		{"assign", func() error { return s.AssignConversation(ctx, c.ID, &u.ID) }, func(r *models.ConversationRow) bool {
			return r.AssignedEmail != nil && *r.AssignedEmail == u.Email
		}},
		{"unassign", func() error { return s.AssignConversation(ctx, c.ID, nil) }, func(r *models.ConversationRow) bool { return r.AssignedTo == nil }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := <-sub
		if st.name == "read" {
			// A read concerns its reader only.
			if got.Kind != "read" || got.ConversationID != c.ID || got.UserID != u.ID {
				t.Errorf("read published %+v", got)
			}
		} else if got.Kind != "conversation" || got.ConversationID != c.ID || got.ChannelID != ch.ID {
			t.Errorf("%s published %+v", st.name, got)
		}
		r, err := s.Conversation(ctx, c.ID)
		if err != nil || !st.chk(r) {
			t.Errorf("%s: row after = %+v, %v", st.name, r, err)
		}
	}
	// Nothing to reset: no write, no change.
	if err := s.MarkConversationRead(ctx, u.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-sub:
		t.Errorf("read of a read conversation published %+v", got)
	default:
	}
	if err := s.SetConversationStatus(ctx, c.ID, "closed"); err == nil {
		t.Error("unknown status accepted")
	}
	if err := s.SetConversationStatus(ctx, 999, ConversationOpen); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing conversation: %v, want ErrNotFound", err)
	}
}

func TestConversationMessagesPaging(t *testing.T) {
	t.Parallel()
	s := openTestStore(t)
	ctx := context.Background()
	ch, _ := s.CreateChannel(ctx, "A", nil)
	c := seedConv(t, s, ch.ID, 1, "x", true, ConversationOpen, time.Now())
	other := seedConv(t, s, ch.ID, 2, "y", true, ConversationOpen, time.Now())
	var ids []int64
	for i := 0; i < 12; i++ {
		ids = append(ids, seedMessage(t, s, c, "in", fmt.Sprint("m", i)).ID)
		seedMessage(t, s, other, "in", "noise")
	}
	rows, more, err := s.ConversationMessages(ctx, c, 0, Latest, 5)
	if err != nil || !more || len(rows) != 5 || rows[0].ID != ids[7] || rows[4].ID != ids[11] {
		t.Fatalf("newest page: %v more=%v err=%v", msgIDs(rows), more, err)
	}
	rows, more, _ = s.ConversationMessages(ctx, c, ids[2], Latest, 5)
	if more || fmt.Sprint(msgIDs(rows)) != fmt.Sprint(ids[:2]) {
		t.Errorf("oldest page: %v more=%v", msgIDs(rows), more)
	}
	rows, _, _ = s.ConversationMessages(ctx, c, 0, ids[5], 50)
	if got := msgIDs(rows); len(got) != 6 || got[5] != ids[5] {
		t.Errorf("upto bound: %v", got)
	}
	after, _ := s.ConversationMessagesAfter(ctx, c, ids[8], Latest, 100)
	if fmt.Sprint(msgIDs(after)) != fmt.Sprint(ids[9:]) {
		t.Errorf("after: %v, want %v", msgIDs(after), ids[9:])
	}
	latest, _ := s.LatestMessageID(ctx)
	all, _ := s.ChannelMessagesAfter(ctx, ch.ID, 0, 500)
	if len(all) != 24 || all[len(all)-1].ID != latest {
		t.Errorf("channel messages: %d, last %d, latest %d", len(all), all[len(all)-1].ID, latest)
	}
}

func msgIDs(rows []models.MessageRow) []int64 {
	var out []int64
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

// sqlCapture records the SQL the store runs, so the test can ask SQLite
// for the plan of the exact statements.
type sqlCapture struct {
	logger.Interface
	mu   sync.Mutex
	sqls []string
}

func (c *sqlCapture) Trace(_ context.Context, _ time.Time, fc func() (string, int64), _ error) {
	sql, _ := fc()
	c.mu.Lock()
	c.sqls = append(c.sqls, sql)
	c.mu.Unlock()
}

// TestWorkbenchQueriesUseIndexes keeps the list, history and API queries
// index range scans, so they stay fast at 1k chats / 100k messages: no
// full scan of messages or conversations and no temp b-tree sort.
func TestWorkbenchQueriesUseIndexes(t *testing.T) {
	sqliteOnly(t, "EXPLAIN QUERY PLAN of SQLite's planner; PostgreSQL's plans are measured by make bench")
	t.Parallel()
	s := openTestStore(t)
	ctx := context.Background()
	ch, _ := s.CreateChannel(ctx, "A", nil)
	c := seedConv(t, s, ch.ID, 1, "x", true, ConversationOpen, time.Now())
	seedMessage(t, s, c, "in", "hello")
	cap := &sqlCapture{Interface: logger.Discard}
	plain := s.read
	s.read = s.read.Session(&gorm.Session{Logger: cap})
	defer func() { s.read = plain }()

	queries := map[string]func() error{
		"list":         func() error { _, err := s.ListConversations(ctx, ConversationFilter{Status: "open"}); return err },
		"list channel": func() error { _, err := s.ListConversations(ctx, ConversationFilter{ChannelID: ch.ID}); return err },
		"list page 2": func() error {
			_, err := s.ListConversations(ctx, ConversationFilter{Before: encodeConversationCursor("2026-01-01", 5)})
			return err
		},
		"history":       func() error { _, _, err := s.ConversationMessages(ctx, c, 10, Latest, 50); return err },
		"live":          func() error { _, err := s.ConversationMessagesAfter(ctx, c, 1, 100, 50); return err },
		"api":           func() error { _, err := s.ChannelMessagesAfter(ctx, ch.ID, 1, 100); return err },
		"quoted":        func() error { _, err := s.QuotedMessages(ctx, ch.ID, 1, []int64{5}); return err },
		"recent out":    func() error { _, err := s.RecentOutgoing(ctx, c, 100, 20); return err },
		"latest id":     func() error { _, err := s.LatestMessageID(ctx); return err },
		"message by id": func() error { _, err := s.MessageRowByID(ctx, 1); return err },
	}
	for name, q := range queries {
		cap.mu.Lock()
		cap.sqls = nil
		cap.mu.Unlock()
		if err := q(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, sql := range cap.sqls {
			var plan []struct {
				Detail string
			}
			if err := plain.Raw("EXPLAIN QUERY PLAN " + sql).Scan(&plan).Error; err != nil {
				t.Fatalf("%s: explain: %v", name, err)
			}
			var lines []string
			for _, p := range plan {
				lines = append(lines, p.Detail)
			}
			text := strings.Join(lines, "\n")
			for _, bad := range []string{"SCAN m\n", "SCAN messages", "SCAN c\n", "SCAN conversations", "USE TEMP B-TREE"} {
				if strings.Contains(text+"\n", bad) {
					t.Errorf("%s: plan has %q:\n%s\nSQL: %s", name, strings.TrimSpace(bad), text, sql)
				}
			}
		}
	}
}

// seedBench writes 1k conversations (those with keep(i) in the workbench)
// with 100 messages each: the size the issue names.
func seedBench(b *testing.B, keep func(i int) bool) *Store {
	b.Helper()
	s := openTestStore(b)
	ctx := context.Background()
	ch, _ := s.CreateChannel(ctx, "A", nil)
	now := time.Now().UTC()
	err := s.WithTx(ctx, func(ctx context.Context) error {
		for i := 0; i < 1000; i++ {
			c := &models.Conversation{ChannelID: ch.ID, ChatID: int64(i + 1), ChatType: "private", Title: fmt.Sprint("chat ", i),
				Status: "open", InWorkbench: keep(i), LastMessageAt: now.Add(time.Duration(i) * time.Second)}
			if err := s.w(ctx).Create(c).Error; err != nil {
				return err
			}
			msgs := make([]models.Message, 100)
			for j := range msgs {
				msgs[j] = models.Message{ChannelID: ch.ID, BotTelegramID: 1, ChatID: c.ChatID, Direction: "in", Type: "text",
					Text: fmt.Sprint("message ", j, " of chat ", i), Status: "received", CreatedAt: now}
			}
			if err := s.w(ctx).CreateInBatches(msgs, 100).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkListConversations is a list page, the next page and a history
// page at 1k chats / 100k messages.
func BenchmarkListConversations(b *testing.B) {
	s := seedBench(b, func(i int) bool { return i%3 != 0 })
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := s.ListConversations(ctx, ConversationFilter{Status: "open"})
		if err != nil || len(p.Rows) != 50 {
			b.Fatal(err, len(p.Rows))
		}
		if _, err := s.ListConversations(ctx, ConversationFilter{Before: p.Next}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.ConversationMessages(ctx, &p.Rows[0].Conversation, 0, Latest, 50); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearchConversations is the worst case of the list: a message
// text search that has to look at every workbench chat's messages.
func BenchmarkSearchConversations(b *testing.B) {
	s := seedBench(b, func(int) bool { return true })
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.ListConversations(ctx, ConversationFilter{Query: "no such text anywhere"}); err != nil {
			b.Fatal(err)
		}
	}
}
