package store

import (
	"context"
	"errors"
	"testing"

	"github.com/botdesk/botdesk/models"
)

func TestCreateBotUniqueness(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	a, _ := s.CreateChannel(ctx, "A", nil)
	b, _ := s.CreateChannel(ctx, "B", nil)
	bot := func(ch string, id int64) *models.Bot {
		return &models.Bot{ChannelID: ch, TelegramID: id, Username: "x_bot", TokenEnc: []byte{1}, TokenHint: "h"}
	}
	if err := s.CreateBot(ctx, bot(a.ID, 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBot(ctx, bot(a.ID, 2)); !errors.Is(err, ErrChannelHasBot) {
		t.Errorf("second bot on a channel: %v", err)
	}
	var inUse *BotInUseError
	if err := s.CreateBot(ctx, bot(b.ID, 1)); !errors.As(err, &inUse) || inUse.ChannelID != a.ID || inUse.ChannelName != "A" {
		t.Errorf("bot of another channel: %v", err)
	}
	if err := s.ReplaceBotToken(ctx, a.ID, 2, []byte{2}, "h2", BotProfile{Username: "x_bot"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("replace token of another bot id: %v", err)
	}
	if n, err := s.DeleteBot(ctx, a.ID); err != nil || n != 0 {
		t.Errorf("delete: %d %v", n, err)
	}
	if _, err := s.DeleteBot(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestEnqueueEvent(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	ch, _ := s.CreateChannel(ctx, "A", nil)
	for range 2 {
		if err := s.EnqueueEvent(ctx, ch.ID, OutboxNotify, ch.ID, []byte(`{"type":"notify"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.EnqueueEvent(ctx, ch.ID, "bogus", "", []byte(`{}`)); err == nil {
		t.Error("unknown kind accepted")
	}
	if err := s.EnqueueEvent(ctx, ch.ID, OutboxNotify, "", []byte(`not json`)); err == nil {
		t.Error("non-JSON payload accepted")
	}
	var evs []models.OutboxEvent
	if err := s.r(ctx).Order("id").Find(&evs).Error; err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].EventID == evs[1].EventID || evs[0].State != "pending" || evs[0].NextAttemptAt.IsZero() || evs[0].EventID[:4] != "evt_" {
		t.Errorf("outbox rows %+v", evs)
	}
}
