package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
)

// retFixture writes rows directly, with chosen times.
type retFixture struct {
	t  *testing.T
	s  *Store
	ch *models.Channel
}

func newRetFixture(t *testing.T, s *Store, name string) *retFixture {
	t.Helper()
	ch, err := s.CreateChannel(context.Background(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &retFixture{t: t, s: s, ch: ch}
}

func (f *retFixture) msg(chatID, fromID int64, at time.Time, media string) *models.Message {
	f.t.Helper()
	dir := "in"
	if fromID == 0 {
		dir = "out"
	}
	m := &models.Message{ChannelID: f.ch.ID, BotTelegramID: 1, ChatID: chatID, ChatType: "private", Direction: dir, FromID: fromID,
		Type: "text", Text: "t", Media: media, Status: "received", CreatedAt: at.UTC()}
	if err := f.s.write.Create(m).Error; err != nil {
		f.t.Fatal(err)
	}
	return m
}

func (f *retFixture) event(kind, state string, chatID int64, payload string, at time.Time) *models.OutboxEvent {
	f.t.Helper()
	if err := f.s.EnqueueEvent(context.Background(), f.ch.ID, kind, fmt.Sprint(chatID), []byte(payload)); err != nil {
		f.t.Fatal(err)
	}
	var ev models.OutboxEvent
	f.s.write.Order("id DESC").Take(&ev)
	if err := f.s.write.Model(&ev).Updates(map[string]any{"state": state, "created_at": at.UTC()}).Error; err != nil {
		f.t.Fatal(err)
	}
	return &ev
}

func (f *retFixture) count(q string, args ...any) int64 {
	f.t.Helper()
	var n int64
	if err := f.s.write.Raw(q, args...).Scan(&n).Error; err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestPruneBatchDeletesOnlyExpired(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	f := newRetFixture(t, s, "Short memory")
	keep := newRetFixture(t, s, "Forever")
	now := time.Now().UTC()
	old, fresh := now.Add(-40*24*time.Hour), now.Add(-time.Hour)
	var oldIDs []int64
	for i := 0; i < 5; i++ {
		oldIDs = append(oldIDs, f.msg(7, 7, old.Add(time.Duration(i)*time.Minute), `{"file_id":"x"}`).ID)
		keep.msg(7, 7, old, "")
	}
	f.msg(7, 7, fresh, "")
	if err := s.write.Create(&models.MessageEdit{MessageID: oldIDs[0], Text: "before", EditedAt: old}).Error; err != nil {
		t.Fatal(err)
	}
	f.event(OutboxMO, OutboxStateDelivered, 7, `{"kind":"mo"}`, old)
	f.event(OutboxMO, OutboxStatePending, 7, `{"kind":"mo"}`, old)
	f.event(OutboxMO, OutboxStateDelivered, 7, `{"kind":"mo"}`, fresh)
	conv := &models.Conversation{ChannelID: f.ch.ID, ChatID: 7, ChatType: "private", Status: "open", LastMessageAt: old, LastMessageText: "secret"}
	if err := s.write.Create(conv).Error; err != nil {
		t.Fatal(err)
	}

	if _, err := s.SetRetention(ctx, Actor{Name: "t"}, f.ch.ID, 30); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetRetention(ctx, Actor{Name: "t"}, f.ch.ID, -1); err == nil {
		t.Error("negative retention accepted")
	}
	pols, err := s.RetentionPolicies(ctx)
	if err != nil || len(pols) != 1 || pols[0].ChannelID != f.ch.ID || pols[0].Days != 30 {
		t.Fatalf("policies = %+v, %v", pols, err)
	}
	cutoff := now.Add(-30 * 24 * time.Hour)
	var batches []int64
	for {
		n, err := s.PruneBatch(ctx, f.ch.ID, cutoff, 2)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, n)
		if n < 2 {
			break
		}
	}
	// 5 old messages and 1 finished old event, at most 2 of each a batch.
	if fmt.Sprint(batches) != "[3 2 1]" {
		t.Errorf("batches deleted %v rows, want [3 2 1]", batches)
	}
	if n := f.count("SELECT COUNT(*) FROM messages WHERE channel_id = ?", f.ch.ID); n != 1 {
		t.Errorf("%d messages left, want the fresh one", n)
	}
	if n := f.count("SELECT COUNT(*) FROM messages WHERE channel_id = ?", keep.ch.ID); n != 5 {
		t.Errorf("the forever channel lost messages: %d left", n)
	}
	if n := f.count("SELECT COUNT(*) FROM message_edits"); n != 0 {
		t.Errorf("%d edits of deleted messages left", n)
	}
	if n := f.count("SELECT COUNT(*) FROM outbox WHERE channel_id = ?", f.ch.ID); n != 2 {
		t.Errorf("%d events left, want the pending and the fresh one", n)
	}
	if n := f.count("SELECT COUNT(*) FROM conversations WHERE id = ? AND last_message_text = ''", conv.ID); n != 1 {
		t.Error("the expired preview text was kept")
	}
	if es, _ := s.ListAudit(ctx, 0, "channel.retention", 10); len(es.Entries) != 1 || es.Entries[0].Detail != "0 → 30 days" {
		t.Errorf("audit = %+v", es.Entries)
	}
}

func TestEraseContact(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	f := newRetFixture(t, s, "Erase")
	other := newRetFixture(t, s, "Other channel")
	now := time.Now()
	const ann, bob, group = int64(1001), int64(1002), int64(-500)
	a1 := f.msg(ann, ann, now, `{"file_id":"photo"}`)
	reply := f.msg(ann, 0, now, "")
	ag := f.msg(group, ann, now, "")
	bg := f.msg(group, bob, now, "")
	b1 := f.msg(bob, bob, now, "")
	other.msg(ann, ann, now, "")
	for _, c := range []int64{ann, bob} {
		if err := s.write.Create(&models.Conversation{ChannelID: f.ch.ID, ChatID: c, ChatType: "private", Status: "open", LastMessageAt: now}).Error; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SaveWebhook(ctx, f.ch.ID, WebhookConfig{QueueEnabled: true}, nil); err != nil {
		t.Fatal(err)
	}
	mo := func(m *models.Message) string {
		return fmt.Sprintf(`{"kind":"mo","message_id":"%d","chat_id":%d,"from":{"id":%d}}`, m.ID, m.ChatID, m.FromID)
	}
	f.event(OutboxMO, OutboxStatePending, ann, mo(a1), now)
	f.event(OutboxStatus, OutboxStateDelivered, ann, fmt.Sprintf(`{"kind":"status","message_id":"%d","chat_id":%d}`, reply.ID, ann), now)
	f.event(OutboxMO, OutboxStatePending, group, mo(ag), now)
	keepGroup := f.event(OutboxMO, OutboxStatePending, group, mo(bg), now)
	keepBob := f.event(OutboxMO, OutboxStatePending, bob, mo(b1), now)

	got, err := s.EraseContact(ctx, Actor{Name: "admin@example.test"}, f.ch.ID, ann)
	if err != nil {
		t.Fatal(err)
	}
	want := Erasure{TelegramUserID: ann, Messages: 3, MediaFiles: 1, Conversations: 1, QueuedEvents: 3}
	if got != want {
		t.Errorf("erasure = %+v, want %+v", got, want)
	}
	if n := f.count("SELECT COUNT(*) FROM messages WHERE channel_id = ? AND (from_id = ? OR chat_id = ?)", f.ch.ID, ann, ann); n != 0 {
		t.Errorf("%d of Ann's messages left", n)
	}
	if n := f.count("SELECT COUNT(*) FROM messages WHERE id IN ?", []int64{bg.ID, b1.ID}); n != 2 {
		t.Errorf("Bob's messages were touched: %d left", n)
	}
	if n := f.count("SELECT COUNT(*) FROM messages WHERE channel_id = ?", other.ch.ID); n != 1 {
		t.Error("Ann's messages in another channel were erased")
	}
	if n := f.count("SELECT COUNT(*) FROM outbox WHERE channel_id = ?", f.ch.ID); n != 2 ||
		f.count("SELECT COUNT(*) FROM outbox WHERE id IN ?", []int64{keepGroup.ID, keepBob.ID}) != 2 {
		t.Errorf("events left: %d, want Bob's two", n)
	}
	if n := f.count("SELECT COUNT(*) FROM queue_messages WHERE queue = ?", QueueName(f.ch.ID, OutboxMO)); n != 2 {
		t.Errorf("%d queue messages left, want Bob's two", n)
	}
	if n := f.count("SELECT COUNT(*) FROM conversations WHERE channel_id = ?", f.ch.ID); n != 1 {
		t.Errorf("%d conversations left, want Bob's", n)
	}
	es, _ := s.ListAudit(ctx, 0, "contact.erase", 10)
	if len(es.Entries) != 1 || es.Entries[0].ObjectID != f.ch.ID || es.Entries[0].Detail != "telegram user 1001: 3 messages, 1 media, 1 conversations, 3 events" {
		t.Errorf("audit = %+v", es.Entries)
	}
	if _, err := s.EraseContact(ctx, Actor{}, f.ch.ID, 0); err == nil {
		t.Error("user id 0 accepted")
	}
}
