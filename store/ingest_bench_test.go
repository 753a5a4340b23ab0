package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
)

// BenchmarkIngestBatch measures one getUpdates batch of 100 private text
// messages (workbench mode "all", an mo outbox event each) through
// IngestBatch on a real SQLite file; ns/op is per batch of 100.
func BenchmarkIngestBatch(b *testing.B) {
	ctx := context.Background()
	st := openTestStore(b)
	ch, err := st.CreateChannel(ctx, "Bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.SetWorkbench(ctx, ch.ID, models.WorkbenchAll, nil); err != nil {
		b.Fatal(err)
	}
	const botID = 7000000001
	if err := st.CreateBot(ctx, &models.Bot{ChannelID: ch.ID, TelegramID: botID, Username: "bench_bot", TokenEnc: []byte{1}, TokenHint: "abcd"}); err != nil {
		b.Fatal(err)
	}
	payload := func(m *models.Message) ([]byte, error) {
		return []byte(fmt.Sprintf(`{"type":"mo","message_id":%d,"text":%q}`, m.ID, m.Text)), nil
	}
	update := int64(1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch := IngestBatch{BotTelegramID: botID, MOPayload: payload}
		for k := 0; k < 100; k++ {
			chat := int64(5_000_000_000 + (update % 500))
			batch.Updates = append(batch.Updates, IngestUpdate{UpdateID: update, Kind: "message", Message: &IngestMessage{
				TelegramMessageID: update, ChatID: chat, ChatType: "private", ChatTitle: "Customer", FromID: chat,
				FromName: "Customer", Type: "text", Text: "Hello, I have a question about my order", Date: time.Now(),
			}})
			update++
		}
		batch.NextOffset = update
		res, err := st.IngestBatch(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		if res.Ingested != 100 {
			b.Fatalf("ingested %d, want 100", res.Ingested)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "updates/s")
}
