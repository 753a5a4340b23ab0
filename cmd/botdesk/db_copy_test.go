package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/store/pgtest"
)

// TestDBCopy moves a SQLite installation with users, a channel, a bot and
// ingested messages into an empty PostgreSQL database: every row arrives
// (counts and checksums printed and verified), the sequences continue
// after the copied ids, the source file is byte-for-byte untouched, and a
// second copy into the now non-empty target is refused without writing.
func TestDBCopy(t *testing.T) {
	clearEnv(t)
	if !pgtest.Postgres() {
		t.Skip("runs in the PostgreSQL pass (it needs a PostgreSQL target)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	src, err := store.Open(ctx, store.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	u, err := src.CreateUser(ctx, "root@example.test", models.RoleAdmin, "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := src.CreateChannel(ctx, "Support", &u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.SetWorkbench(ctx, ch.ID, models.WorkbenchAll, nil); err != nil {
		t.Fatal(err)
	}
	if err := src.CreateBot(ctx, &models.Bot{ChannelID: ch.ID, TelegramID: 7012345678, Username: "acme_bot", TokenEnc: []byte{1, 2, 3}, TokenHint: "x", CanJoinGroups: true}); err != nil {
		t.Fatal(err)
	}
	var ups []store.IngestUpdate
	for i := int64(1); i <= 1200; i++ { // more than two copy batches
		ups = append(ups, store.IngestUpdate{UpdateID: i, Message: &store.IngestMessage{ChatID: -1001234567890 - i%5, ChatType: "supergroup",
			TelegramMessageID: i, FromID: 42, Type: "text", Text: "héllo " + strings.Repeat("x", int(i%7))}})
	}
	if _, err := src.IngestBatch(ctx, store.IngestBatch{BotTelegramID: 7012345678, NextOffset: 1201, Updates: ups}); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	sum := func() [32]byte {
		b, err := os.ReadFile(filepath.Join(dir, store.DBFileName))
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := sum()

	target := pgtest.EmptyURL(t)
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"db", "copy", "--data-dir", dir, "--to", target}, nil, &stdout, &stderr); err != nil {
		t.Fatalf("db copy: %v\nstderr: %s", err, stderr.String())
	}
	for _, want := range []string{"messages", "1200 rows", "every count and checksum verified"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "[##############################] 1200/1200") {
		t.Errorf("no finished progress bar for messages on stderr:\n%s", stderr.String())
	}
	if sum() != before {
		t.Error("the source database file changed")
	}

	dst, err := store.Open(ctx, store.Config{DatabaseURL: target})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	got, err := dst.UserByEmail(ctx, "root@example.test")
	if err != nil || got.ID != u.ID || !got.Active || got.Role != models.RoleAdmin {
		t.Fatalf("copied user %+v, %v", got, err)
	}
	b, err := dst.BotByChannel(ctx, ch.ID)
	if err != nil || !b.CanJoinGroups || b.UpdateOffset != 1201 || !bytes.Equal(b.TokenEnc, []byte{1, 2, 3}) {
		t.Fatalf("copied bot %+v, %v", b, err)
	}
	msgs, err := dst.ChannelMessagesAfter(ctx, ch.ID, 0, 100)
	if err != nil || len(msgs) != 100 || msgs[0].ChatID != -1001234567891 || msgs[0].Text != "héllo x" {
		t.Fatalf("copied messages: %d, %v", len(msgs), err)
	}
	var n int64
	if err := pgtest.OpenDB(t, target).QueryRow("SELECT COUNT(*) FROM messages WHERE channel_id = $1", ch.ID).Scan(&n); err != nil || n != 1200 {
		t.Fatalf("%d messages in the target, %v", n, err)
	}
	// The sequences continue after the copied ids.
	u2, err := dst.CreateUser(ctx, "second@example.test", models.RoleAgent, "a long enough password")
	if err != nil || u2.ID <= u.ID {
		t.Fatalf("new user after the copy: %+v, %v", u2, err)
	}

	stdout.Reset()
	stderr.Reset()
	err = run(ctx, []string{"db", "copy", "--data-dir", dir, "--to", target}, nil, &stdout, &stderr)
	if !errors.Is(err, store.ErrCopyTargetNotEmpty) {
		t.Fatalf("second copy: %v, want a refusal", err)
	}
	if n, _ := dst.CountUsers(ctx); n != 2 {
		t.Errorf("the refused copy wrote: %d users", n)
	}
}
