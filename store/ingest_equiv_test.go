package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
)

// TestIngestBatchMatchesOneByOne proves the multi-row batch path writes
// what ingesting the same updates one per batch writes (where every
// statement covers a single row): random mixes of private and group
// messages, several per chat, empty titles, late and tied dates, keyword
// matches, resolved conversations, edits of messages of the same batch or
// unknown ones, my_chat_member joins and leaves, duplicate ids and unknown
// kinds, with Message Queue Monitoring on and off.
func TestIngestBatchMatchesOneByOne(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mode  models.WorkbenchMode
		queue bool
		seed  uint64
	}{
		{"all, queue off", models.WorkbenchAll, false, 1},
		{"keyword, queue on", models.WorkbenchKeyword, true, 2},
		{"off, queue on", models.WorkbenchOff, true, 3},
		{"keyword, queue off", models.WorkbenchKeyword, false, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			batched, bch := ingestStore(t)
			single, sch := ingestStore(t)
			for _, x := range []struct {
				s  *Store
				ch string
			}{{batched, bch.ID}, {single, sch.ID}} {
				if _, err := x.s.SetWorkbench(ctx, x.ch, tc.mode, []string{"help"}); err != nil {
					t.Fatal(err)
				}
				if err := x.s.w(ctx).Exec("UPDATE channels SET queue_enabled = ?", tc.queue).Error; err != nil {
					t.Fatal(err)
				}
			}
			// Both channel ids must be the same for rows to compare equal.
			if err := single.w(ctx).Exec("PRAGMA foreign_keys = OFF").Error; err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"UPDATE channels SET id = ?", "UPDATE bots SET channel_id = ?"} {
				if err := single.w(ctx).Exec(q, bch.ID).Error; err != nil {
					t.Fatal(err)
				}
			}
			if err := single.w(ctx).Exec("PRAGMA foreign_keys = ON").Error; err != nil {
				t.Fatal(err)
			}

			rng := rand.New(rand.NewPCG(tc.seed, 99))
			mo := func(m *models.Message) ([]byte, error) {
				return []byte(fmt.Sprintf(`{"message_id":%d,"chat_id":%d,"text":%q}`, m.ID, m.ChatID, m.Text)), nil
			}
			var batchedChanges, singleChanges []Change
			update := int64(100)
			for round := 0; round < 8; round++ {
				ups := randomUpdates(rng, &update, 60)
				res, err := batched.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, Updates: ups, NextOffset: update, MOPayload: mo})
				if err != nil {
					t.Fatal(err)
				}
				batchedChanges = append(batchedChanges, res.Changes...)
				for _, u := range ups {
					res, err := single.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, Updates: []IngestUpdate{u}, NextOffset: update, MOPayload: mo})
					if err != nil {
						t.Fatal(err)
					}
					singleChanges = append(singleChanges, res.Changes...)
				}
				// Agents resolve the conversations between batches.
				for _, s := range []*Store{batched, single} {
					if err := s.w(ctx).Exec("UPDATE conversations SET status = 'resolved', in_workbench = 0, unread = 0 WHERE chat_id % 2 = ?", round%2).Error; err != nil {
						t.Fatal(err)
					}
				}
			}
			if !reflect.DeepEqual(batchedChanges, singleChanges) {
				t.Errorf("changes differ:\nbatched %v\nsingle  %v", batchedChanges, singleChanges)
			}
			for _, q := range []string{
				`SELECT id, channel_id, bot_telegram_id, update_id, chat_id, chat_type, telegram_message_id, direction, from_id, from_username,
					from_name, type, text, entities, media, reply_to_message_id, status, error_code, error_description, sent_by, idempotency_key,
					telegram_date, edited_at FROM messages ORDER BY id`,
				`SELECT * FROM message_edits ORDER BY id`,
				`SELECT * FROM conversations ORDER BY id`,
				// chats.id is a surrogate: an upsert that updates still uses up an AUTOINCREMENT value.
				`SELECT channel_id, chat_id, type, title, username, member_status, message_count, last_message_at FROM chats ORDER BY channel_id, chat_id`,
				`SELECT id, channel_id, kind, ordering_key, payload, state, attempts, last_error, delivered_at FROM outbox ORDER BY id`,
				`SELECT id, queue, payload, receipt, receive_count FROM queue_messages ORDER BY id`,
				`SELECT bot_telegram_id, update_id FROM ingested_updates ORDER BY update_id`,
				`SELECT update_offset, state, state_detail FROM bots`,
				// Every queue copy is the copy of its outbox event.
				`SELECT COUNT(*) FROM queue_messages q JOIN outbox o ON o.event_id = q.event_id AND o.payload = q.payload`,
			} {
				a, b := dumpRows(t, batched, q), dumpRows(t, single, q)
				if a != b {
					t.Errorf("%s\nbatched:\n%s\nsingle:\n%s", q, a, b)
				}
			}
			if n := count(t, batched, "messages"); n < 100 {
				t.Fatalf("only %d messages stored: the generator is too thin", n)
			}
		})
	}
}

// randomUpdates makes n updates with ids from *next on, over chats 1–3
// (private) and -100…-101 (supergroups).
func randomUpdates(rng *rand.Rand, next *int64, n int) []IngestUpdate {
	chats := []int64{1, 2, 3, -100, -101}
	base := time.Unix(1_700_000_000, 0).UTC()
	var ups []IngestUpdate
	for len(ups) < n {
		id := *next
		*next++
		chat := chats[rng.IntN(len(chats))]
		typ := "private"
		if chat < 0 {
			typ = "supergroup"
		}
		title := []string{"", "Title A", "Title B"}[rng.IntN(3)]
		body := []string{"hello", "I need help", "", "thanks"}[rng.IntN(4)]
		msg := &IngestMessage{
			TelegramMessageID: int64(rng.IntN(40)), ChatID: chat, ChatType: typ, ChatTitle: title, ChatUsername: title,
			FromID: 9, FromName: "N", Type: []string{"text", "photo", ""}[rng.IntN(3)], Text: body,
			// Few distinct dates: ties and late updates are common.
			Date: base.Add(time.Duration(rng.IntN(8)) * time.Second),
		}
		if rng.IntN(4) == 0 {
			r := int64(rng.IntN(40))
			msg.ReplyToMessageID = &r
		}
		switch p := rng.IntN(100); {
		case p < 65:
			ups = append(ups, IngestUpdate{UpdateID: id, Kind: "message", Message: msg})
		case p < 78:
			msg.Edited, msg.EditDate = true, base.Add(time.Minute)
			ups = append(ups, IngestUpdate{UpdateID: id, Kind: "edited_message", Message: msg})
		case p < 88:
			ups = append(ups, IngestUpdate{UpdateID: id, Kind: "my_chat_member", Member: &IngestMember{
				ChatID: chat, ChatType: typ, Title: title, Status: []string{"member", "administrator", "left", "kicked"}[rng.IntN(4)],
				Date: base,
			}})
		case p < 94 && len(ups) > 0:
			ups = append(ups, ups[rng.IntN(len(ups))]) // a duplicate id in the same batch
		default:
			ups = append(ups, IngestUpdate{UpdateID: id, Kind: "poll_answer"})
		}
	}
	return ups
}

// dumpRows renders a query's rows as text, one line per row.
func dumpRows(t *testing.T, s *Store, q string) string {
	t.Helper()
	rows, err := s.r(context.Background()).Raw(q).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if i > 0 {
				sb.WriteString(" | ")
			}
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fmt.Fprintf(&sb, "%v", v)
		}
		sb.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// TestIngestBatchKeywordEarlierInBatch: a chat whose keyword message is
// followed, in the same batch, by messages that do not match is in the
// workbench, new or resolved alike.
func TestIngestBatchKeywordEarlierInBatch(t *testing.T) {
	s, ch := ingestStore(t)
	ctx := context.Background()
	if _, err := s.SetWorkbench(ctx, ch.ID, models.WorkbenchKeyword, []string{"help"}); err != nil {
		t.Fatal(err)
	}
	msg := func(id int64, body string) IngestUpdate {
		u := text(id, 1, id, "private", body)
		return u
	}
	check := func(wantUnread int64) {
		t.Helper()
		var c models.Conversation
		if err := s.r(ctx).Where("chat_id = 1").Take(&c).Error; err != nil {
			t.Fatal(err)
		}
		if !c.InWorkbench || c.Status != "open" || c.Unread != wantUnread || c.LastMessageText != "bye" {
			t.Fatalf("conversation = %+v", c)
		}
	}
	if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 4, Updates: []IngestUpdate{
		msg(1, "hello"), msg(2, "I need help"), msg(3, "bye"),
	}}); err != nil {
		t.Fatal(err)
	}
	check(3)
	if err := s.w(ctx).Exec("UPDATE conversations SET status = 'resolved', in_workbench = 0, unread = 0").Error; err != nil {
		t.Fatal(err)
	}
	if _, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: 7, Updates: []IngestUpdate{
		msg(4, "help"), msg(5, "ok"), msg(6, "bye"),
	}}); err != nil {
		t.Fatal(err)
	}
	check(3)
}
