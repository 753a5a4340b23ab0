package telegram

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// BenchmarkDecodeBatch is the poller's CPU work on a getUpdates answer of
// 100 text messages before the ingest transaction: decoding the raw
// updates into store rows and building each mo payload.
func BenchmarkDecodeBatch(b *testing.B) {
	raws := make([]json.RawMessage, 100)
	for i := range raws {
		u := telegramtest.PrivateText(telegramtest.User(int64(5_000_000_000+i), "Customer", "user"), fmt.Sprintf("Hello, question number %d", i))
		u.UpdateID = i + 1
		u.Message.MessageID = i + 1
		u.Message.Date = 1_700_000_000
		raw, err := json.Marshal(u)
		if err != nil {
			b.Fatal(err)
		}
		raws[i] = raw
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ups, _, _, ok := decodeBatch(raws)
		if !ok || len(ups) != 100 {
			b.Fatalf("decoded %d updates", len(ups))
		}
	}
}
