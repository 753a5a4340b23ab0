package store

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/models"
)

// The SQLite table rebuild keeps every row, the rows that reference the
// table (notes would be cascaded away by a plain DROP), its indexes, and
// the new unique key: one conversation per (chat, topic, business).
func TestRebuildKeepsRowsAndReferences(t *testing.T) {
	sqliteOnly(t, "PostgreSQL changes the constraint in place")
	s := openTestStore(t)
	ctx := context.Background()
	ch, err := s.CreateChannel(ctx, "Support", nil)
	if err != nil {
		t.Fatal(err)
	}
	conv := models.Conversation{ChannelID: ch.ID, ChatID: 42, ChatType: "supergroup", Title: "Forum", Status: "open",
		InWorkbench: true, LastMessageAt: time.Now()}
	if err := s.write.Create(&conv).Error; err != nil {
		t.Fatal(err)
	}
	a := Actor{Name: "system"}
	if _, err := s.AddNote(ctx, a, conv.ID, "VIP customer"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateLabel(ctx, a, "billing", "blue"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetConversationLabels(ctx, a, conv.ID, []string{"billing"}); err != nil {
		t.Fatal(err)
	}
	var indexesBefore int64
	s.write.Raw("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'conversations'").Scan(&indexesBefore)

	key := "UNIQUE (channel_id, chat_id, thread_id, business_connection_id)"
	sqliteRebuilds[9019] = func(tx *gorm.DB) error { return rebuildSQLiteTable(tx, "conversations", key, key) }
	defer delete(sqliteRebuilds, 9019)
	if err := s.applyMigration(s.write, migration{version: 9019, name: "9019_test.sql", sql: "SELECT 1"}); err != nil {
		t.Fatal(err)
	}

	notes, err := s.ListNotes(ctx, conv.ID)
	if err != nil || len(notes) != 1 {
		t.Fatalf("notes after the rebuild: %v %v", notes, err)
	}
	labels, err := s.ConversationLabels(ctx, []int64{conv.ID})
	if err != nil || len(labels[conv.ID]) != 1 {
		t.Fatalf("labels after the rebuild: %v %v", labels, err)
	}
	var indexesAfter, fk int64
	s.write.Raw("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'conversations'").Scan(&indexesAfter)
	if indexesAfter != indexesBefore {
		t.Fatalf("%d indexes after the rebuild, %d before", indexesAfter, indexesBefore)
	}
	s.write.Raw("PRAGMA foreign_keys").Scan(&fk)
	if fk != 1 {
		t.Fatal("foreign keys left off after the rebuild")
	}
	topic := conv
	topic.ID, topic.ThreadID = 0, 7
	if err := s.write.Create(&topic).Error; err != nil {
		t.Fatalf("a topic of the same chat: %v", err)
	}
	again := topic
	again.ID = 0
	if err := s.write.Create(&again).Error; err == nil {
		t.Fatal("a second conversation for the same topic was accepted")
	}
}
