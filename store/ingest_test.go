package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
)

const ingestBot int64 = 7012345678

func ingestStore(t *testing.T) (*Store, *models.Channel) {
	t.Helper()
	s := openTestStore(t)
	ctx := context.Background()
	ch, err := s.CreateChannel(ctx, "Ingest", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBot(ctx, &models.Bot{ChannelID: ch.ID, TelegramID: ingestBot, Username: "b", TokenEnc: []byte{1}, TokenHint: "x"}); err != nil {
		t.Fatal(err)
	}
	return s, ch
}

func text(updateID, chatID, msgID int64, typ, body string) IngestUpdate {
	return IngestUpdate{UpdateID: updateID, Kind: "message", Message: &IngestMessage{
		TelegramMessageID: msgID, ChatID: chatID, ChatType: typ, ChatTitle: "T", Type: "text", Text: body,
		FromID: 9, FromName: "N", Date: time.Unix(1700000000+updateID, 0).UTC(),
	}}
}

func count(t *testing.T, s *Store, table string) int64 {
	t.Helper()
	var n int64
	if err := s.r(context.Background()).Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIngestBatchIsIdempotent(t *testing.T) {
	s, _ := ingestStore(t)
	ctx := context.Background()
	mo := func(m *models.Message) ([]byte, error) { return []byte(`{"type":"mo"}`), nil }
	b := IngestBatch{BotTelegramID: ingestBot, NextOffset: 12, MOPayload: mo, Updates: []IngestUpdate{
		text(10, 1, 1, "private", "a"), text(11, -100, 1, "supergroup", "b"),
	}}
	changes, unsub := s.Hub().Subscribe()
	defer unsub()
	res, err := s.IngestBatch(ctx, b)
	if err != nil || res.Ingested != 2 || res.Replayed != 0 || len(res.Changes) != 2 {
		t.Fatalf("first = %+v, %v", res, err)
	}
	if len(changes) != 2 {
		t.Fatalf("%d changes published", len(changes))
	}
	res, err = s.IngestBatch(ctx, b)
	if err != nil || res.Ingested != 0 || res.Replayed != 2 || len(res.Changes) != 0 {
		t.Fatalf("replay = %+v, %v", res, err)
	}
	for table, want := range map[string]int64{"messages": 2, "outbox": 2, "conversations": 2, "chats": 1, "ingested_updates": 2} {
		if n := count(t, s, table); n != want {
			t.Errorf("%s = %d, want %d", table, n, want)
		}
	}
	bot, _ := s.BotByTelegramID(ctx, ingestBot)
	if bot.UpdateOffset != 12 || bot.State != models.BotPolling || bot.LastUpdateAt == nil {
		t.Fatalf("bot = %+v", bot)
	}
}

func TestIngestOffsetMayGoDown(t *testing.T) {
	// Telegram may restart update ids lower after a week of silence; the
	// stored offset must follow, or the new updates would be confirmed
	// (dropped) unseen.
	s, _ := ingestStore(t)
	ctx := context.Background()
	if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 5001, Updates: []IngestUpdate{{UpdateID: 5000, Kind: "x"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 31, Updates: []IngestUpdate{{UpdateID: 30, Kind: "x"}}}); err != nil {
		t.Fatal(err)
	}
	if bot, _ := s.BotByTelegramID(ctx, ingestBot); bot.UpdateOffset != 31 {
		t.Fatalf("offset = %d", bot.UpdateOffset)
	}
}

func TestIngestEditsMembersAndMissingBot(t *testing.T) {
	s, ch := ingestStore(t)
	ctx := context.Background()
	edit := text(1, 5, 77, "private", "edited first")
	edit.Message.Edited, edit.Kind = true, "edited_message"
	added := IngestUpdate{UpdateID: 2, Kind: "my_chat_member", Member: &IngestMember{ChatID: -200, ChatType: "group", Title: "G", Status: "member"}}
	blocked := IngestUpdate{UpdateID: 3, Kind: "my_chat_member", Member: &IngestMember{ChatID: 5, ChatType: "private", Status: "kicked"}}
	if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 4, Updates: []IngestUpdate{edit, added, blocked}}); err != nil {
		t.Fatal(err)
	}
	var m models.Message
	s.r(ctx).Take(&m)
	if m.Text != "edited first" || m.EditedAt == nil || count(t, s, "message_edits") != 0 {
		t.Fatalf("an edit of an unknown message must be stored as the message: %+v", m)
	}
	chats, _ := s.ListChats(ctx, ch.ID)
	if len(chats) != 1 || chats[0].ChatID != -200 || chats[0].MessageCount != 0 {
		t.Fatalf("chats = %+v", chats)
	}
	left := IngestUpdate{UpdateID: 4, Kind: "my_chat_member", Member: &IngestMember{ChatID: -200, ChatType: "group", Status: "left"}}
	if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 5, Updates: []IngestUpdate{left}}); err != nil {
		t.Fatal(err)
	}
	if chats, _ := s.ListChats(ctx, ch.ID); len(chats) != 0 {
		t.Fatalf("chat kept after the bot left: %+v", chats)
	}

	if _, err := s.DeleteBot(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 7, Updates: []IngestUpdate{text(6, 5, 78, "private", "x")}})
	if !errors.Is(err, ErrNotFound) || count(t, s, "ingested_updates") != 4 {
		t.Fatalf("deleted bot: err %v, %d ingested", err, count(t, s, "ingested_updates"))
	}
}

func TestPendingOutgoingAndFinish(t *testing.T) {
	s, ch := ingestStore(t)
	ctx := context.Background()
	queue := func(chat int64, text string) int64 {
		m, _, err := s.QueueOutgoing(ctx, OutgoingMessage{ChannelID: ch.ID, ChatID: chat, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	a1, a2, b1 := queue(1, "a1"), queue(1, "a2"), queue(2, "b1")
	heads, err := s.PendingOutgoing(ctx, 10, false)
	if err != nil || len(heads) != 2 || heads[0].ID != a1 || heads[1].ID != b1 {
		t.Fatalf("heads = %+v, %v", heads, err)
	}
	m, err := s.FinishOutgoing(ctx, a1, SendOutcome{Sent: true, TelegramMessageID: 555})
	if err != nil || m.Status != "sent" || m.TelegramMessageID == nil || *m.TelegramMessageID != 555 {
		t.Fatalf("finish = %+v, %v", m, err)
	}
	if _, err := s.FinishOutgoing(ctx, a1, SendOutcome{ErrorDescription: "again"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second outcome recorded: %v", err)
	}
	if heads, _ := s.PendingOutgoing(ctx, 10, false); len(heads) != 2 || heads[0].ID != a2 {
		t.Fatalf("heads after a1 = %+v", heads)
	}
	m, err = s.FinishOutgoing(ctx, b1, SendOutcome{ErrorCode: 400, ErrorDescription: "Bad Request: chat not found"})
	if err != nil || m.Status != "failed" || m.ErrorCode != 400 {
		t.Fatalf("failed = %+v, %v", m, err)
	}
}
