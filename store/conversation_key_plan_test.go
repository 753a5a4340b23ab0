package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/botdesk/botdesk/models"
)

// TestConversationKeyQueriesUseIndexes asks each database for the plan of
// the statements that find a forum topic's or a business chat's
// conversation by its key (channel, chat, thread_id,
// business_connection_id) and that read its messages: each must seek an
// index on the whole key, not scan the table nor seek only the chat and
// filter its other topics' rows. PostgreSQL is asked with sequential scans
// off, so the answer says whether a fitting index exists at all, whatever
// a small test table would make it prefer. The live view's read (rows
// after its cursor) may seek the chat from the cursor instead.
func TestConversationKeyQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	s := openTestStore(t)
	ctx := context.Background()
	ch, _ := s.CreateChannel(ctx, "Forum", nil)
	if err := s.CreateBot(ctx, &models.Bot{ChannelID: ch.ID, TelegramID: 42, Username: "b", TokenEnc: []byte{1}, TokenHint: "x"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := s.w(ctx).Create(&models.BusinessConnection{ID: "bc-1", ChannelID: ch.ID, BotTelegramID: 42, UserID: 1, UserChatID: 1,
		CanReply: true, Enabled: true, ConnectedAt: now, UpdatedAt: now}).Error; err != nil {
		t.Fatal(err)
	}
	const forum = -100123
	var topic, biz *models.Conversation
	for _, th := range []int64{0, 7, 9} {
		c := &models.Conversation{ChannelID: ch.ID, ChatID: forum, ThreadID: th, ChatType: "supergroup", Title: fmt.Sprint("topic ", th),
			Status: ConversationOpen, InWorkbench: true, LastMessageAt: now}
		if err := s.w(ctx).Create(c).Error; err != nil {
			t.Fatal(err)
		}
		if th == 7 {
			topic = c
		}
	}
	biz = &models.Conversation{ChannelID: ch.ID, ChatID: 55, BusinessConnectionID: "bc-1", ChatType: "private", Title: "Alice",
		Status: ConversationOpen, InWorkbench: true, LastMessageAt: now}
	if err := s.w(ctx).Create(biz).Error; err != nil {
		t.Fatal(err)
	}
	// A busy forum (most messages in other topics) and a customer who
	// writes to the bot as well as to the business account.
	var msgs []models.Message
	for i := 0; i < 3000; i++ {
		m := models.Message{ChannelID: ch.ID, BotTelegramID: 42, ChatID: forum, ChatType: "supergroup", Direction: "in", Type: "text",
			Text: "hello", Status: "received", CreatedAt: now, TelegramMessageID: ptr(int64(100 + i))}
		switch {
		case i%50 == 0:
			m.MessageThreadID = ptr(topic.ThreadID)
		case i%3 == 0:
			m.ChatID, m.ChatType, m.TelegramMessageID = biz.ChatID, "private", ptr(int64(i))
			if i%2 == 0 {
				m.BusinessConnectionID = "bc-1"
			}
		default:
			m.MessageThreadID = ptr(int64(9))
		}
		msgs = append(msgs, m)
	}
	if err := s.w(ctx).CreateInBatches(msgs, 200).Error; err != nil {
		t.Fatal(err)
	}
	if s.pg {
		// What autovacuum does on a live server; SQLite has no statistics
		// in production, so it is planned without them here too.
		if err := s.w(ctx).Exec("ANALYZE messages").Error; err != nil {
			t.Fatal(err)
		}
	}

	cap := &sqlCapture{Interface: logger.Discard}
	read, write := s.read, s.write
	s.read = s.read.Session(&gorm.Session{Logger: cap})
	s.write = s.write.Session(&gorm.Session{Logger: cap})
	queries := map[string]func() error{
		"topic history": func() error { _, _, err := s.ConversationMessages(ctx, topic, 0, Latest, 50); return err },
		"topic live":    func() error { _, err := s.ConversationMessagesAfter(ctx, topic, 2900, Latest, 50); return err },
		"topic recent":  func() error { _, err := s.RecentOutgoing(ctx, topic, Latest, 20); return err },
		"business history": func() error {
			_, _, err := s.ConversationMessages(ctx, biz, 0, Latest, 50)
			return err
		},
		"reply into the topic": func() error {
			out := OutgoingMessage{Text: "hi", ReplyToMessageID: ptr(int64(100))}
			out.Into(topic)
			m, _, err := s.QueueOutgoing(ctx, out)
			if err == nil {
				err = s.NoteOutgoing(ctx, m)
			}
			return err
		},
		"reply into the business chat": func() error {
			out := OutgoingMessage{Text: "hi", ReplyToMessageID: ptr(int64(6))}
			out.Into(biz)
			m, _, err := s.QueueOutgoing(ctx, out)
			if err == nil {
				err = s.NoteOutgoing(ctx, m)
			}
			return err
		},
	}
	var checked int
	for name, q := range queries {
		cap.mu.Lock()
		cap.sqls = nil
		cap.mu.Unlock()
		if err := q(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cap.mu.Lock()
		sqls := append([]string(nil), cap.sqls...)
		cap.mu.Unlock()
		for _, sql := range sqls {
			if !strings.HasPrefix(strings.TrimSpace(sql), "SELECT") || !strings.Contains(sql, "business_connection_id =") {
				continue // not a lookup by the conversation key
			}
			checked++
			plan := explainPlan(t, s, read, sql)
			if bad := keyPlanProblem(s.pg, plan); bad != "" {
				t.Errorf("%s: %s:\n%s\nSQL: %s", name, bad, plan, sql)
			} else {
				t.Logf("%s:\n%s", name, plan)
			}
		}
	}
	s.read, s.write = read, write
	if checked < len(queries) {
		t.Fatalf("only %d key lookups seen in %d operations: the capture misses statements", checked, len(queries))
	}
}

// explainPlan is the database's plan of sql, one line per step.
func explainPlan(t *testing.T, s *Store, db *gorm.DB, sql string) string {
	t.Helper()
	var lines []string
	if !s.pg {
		var plan []struct{ Detail string }
		if err := db.Raw("EXPLAIN QUERY PLAN " + sql).Scan(&plan).Error; err != nil {
			t.Fatalf("explain: %v", err)
		}
		for _, p := range plan {
			lines = append(lines, p.Detail)
		}
		return strings.Join(lines, "\n")
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
			return err
		}
		var plan []struct {
			QueryPlan string `gorm:"column:QUERY PLAN"`
		}
		if err := tx.Raw("EXPLAIN " + sql).Scan(&plan).Error; err != nil {
			return err
		}
		for _, p := range plan {
			lines = append(lines, p.QueryPlan)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	return strings.Join(lines, "\n")
}

// keyPlanProblem says what is wrong with the plan of a key lookup on
// conversations or messages, "" when each is reached through an index on
// the whole key (or on a Telegram message id, which is as narrow).
func keyPlanProblem(pg bool, plan string) string {
	if !pg {
		for _, l := range strings.Split(plan, "\n") {
			if !strings.Contains(l, "conversations") && !strings.Contains(l, " m ") && !strings.Contains(l, "messages") {
				continue
			}
			switch {
			case strings.HasPrefix(l, "SCAN"):
				return "a full scan"
			case strings.Contains(l, "chat_id=?") && !strings.Contains(l, "business_connection_id=?") &&
				!strings.Contains(l, "telegram_message_id=?") && !strings.Contains(l, "chat_id=? AND id>?"):
				// A live view's read starts at its cursor: the chat's
				// rows after it are few whichever index finds them.
				return "an index on the chat only"
			}
		}
		return ""
	}
	cond := ""
	for _, l := range strings.Split(plan, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.Contains(l, "Seq Scan on conversations"), strings.Contains(l, "Seq Scan on messages"):
			return "a sequential scan"
		case strings.HasPrefix(l, "Index Cond:"), strings.HasPrefix(l, "Recheck Cond:"):
			cond = l
		case strings.HasPrefix(l, "Filter:") && strings.Contains(l, "business_connection_id") && !strings.Contains(cond, "telegram_message_id"):
			return "the key filtered, not sought"
		}
	}
	return ""
}
