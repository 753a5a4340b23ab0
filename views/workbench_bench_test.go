package views

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// BenchmarkConversationItems renders one page (50 rows) of the workbench
// conversation list, the partial the SSE stream re-sends on every change.
func BenchmarkConversationItems(b *testing.B) {
	var page store.ConversationPage
	now := time.Now().UTC()
	for i := 0; i < 50; i++ {
		page.Rows = append(page.Rows, models.ConversationRow{
			Conversation: models.Conversation{ID: int64(i + 1), ChannelID: "tg-abcdefghij", ChatID: int64(5_000_000_000 + i), ChatType: "private",
				Title: fmt.Sprintf("Customer %d", i), Status: "open", InWorkbench: true, Unread: int64(i % 3),
				LastMessageAt: now.Add(-time.Duration(i) * time.Minute), LastMessageText: "Hello, I have a question about my order <b>#1234</b>"},
			ChannelName: "Support",
		})
	}
	page.Next = "cursor"
	f := WorkbenchFilter{Status: "open"}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ConversationItems(page, f, 7).Render(ctx, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
