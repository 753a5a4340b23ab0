package store

import (
	"context"
	"testing"

	"github.com/botdesk/botdesk/models"
)

// Unread is per user: the ingest counts a conversation's incoming
// messages once, each reader's count is what came after their last read,
// and an API key (reader 0) sees what nobody has read.
func TestUnreadPerUser(t *testing.T) {
	s, ch := ingestStore(t)
	ctx := context.Background()
	if _, err := s.SetWorkbench(ctx, ch.ID, models.WorkbenchAll, nil); err != nil {
		t.Fatal(err)
	}
	ann, _ := s.CreateUser(ctx, "ann@example.test", models.RoleAgent, "long-enough-password")
	bob, _ := s.CreateUser(ctx, "bob@example.test", models.RoleAgent, "long-enough-password")
	next := int64(100)
	ingest := func(chat int64, n int) {
		t.Helper()
		var ups []IngestUpdate
		for range n {
			next++
			ups = append(ups, text(next, chat, next, "private", "hello"))
		}
		if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: next + 1, Updates: ups}); err != nil {
			t.Fatal(err)
		}
	}
	unread := func(reader int64) map[int64]int64 {
		t.Helper()
		p, err := s.ListConversations(ctx, ConversationFilter{Reader: reader})
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]int64{}
		for _, r := range p.Rows {
			out[r.ChatID] = r.Unread
		}
		return out
	}
	total := func(u int64) int64 {
		t.Helper()
		n, err := s.UnreadTotal(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	ingest(1, 3)
	ingest(2, 2)
	for _, u := range []int64{ann.ID, bob.ID, 0} {
		if got := unread(u); got[1] != 3 || got[2] != 2 {
			t.Fatalf("reader %d before any read: %v", u, got)
		}
	}
	p, _ := s.ListConversations(ctx, ConversationFilter{})
	conv1 := p.Rows[len(p.Rows)-1].ID // chat 1, the older one
	if err := s.MarkConversationRead(ctx, ann.ID, conv1); err != nil {
		t.Fatal(err)
	}
	if got := unread(ann.ID); got[1] != 0 || got[2] != 2 {
		t.Errorf("ann after reading chat 1: %v", got)
	}
	if got := unread(bob.ID); got[1] != 3 {
		t.Errorf("bob after ann read: %v (her read must not be his)", got)
	}
	if got := unread(0); got[1] != 0 {
		t.Errorf("team after ann read chat 1: %v, want 0 (somebody read it)", got)
	}
	ingest(1, 2)
	if got := unread(ann.ID); got[1] != 2 {
		t.Errorf("ann after 2 more: %v", got)
	}
	if got := unread(bob.ID); got[1] != 5 {
		t.Errorf("bob after 2 more: %v", got)
	}
	if a, b := total(ann.ID), total(bob.ID); a != 4 || b != 7 {
		t.Errorf("totals ann %d bob %d, want 4 and 7", a, b)
	}
	var rs struct {
		LastReadMessageID int64
		ReadCount         int64
	}
	if err := s.r(ctx).Raw("SELECT last_read_message_id, read_count FROM conversation_reads WHERE user_id = ?", ann.ID).Scan(&rs).Error; err != nil {
		t.Fatal(err)
	}
	if rs.ReadCount != 3 || rs.LastReadMessageID == 0 {
		t.Errorf("read state %+v, want count 3 and the newest message id then", rs)
	}
	// A resolved conversation leaves the total.
	if err := s.SetConversationStatus(ctx, conv1, ConversationResolved); err != nil {
		t.Fatal(err)
	}
	if a := total(ann.ID); a != 2 {
		t.Errorf("ann total with chat 1 resolved = %d, want 2", a)
	}
	// The row of one conversation carries the team's count.
	r, err := s.Conversation(ctx, conv1)
	if err != nil || r.Unread != 2 {
		t.Errorf("Conversation unread = %+v, %v, want 2", r, err)
	}
	if err := s.MarkConversationRead(ctx, ann.ID, 999999); err == nil {
		t.Error("read of a missing conversation accepted")
	}
}
