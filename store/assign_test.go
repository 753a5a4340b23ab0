package store

import (
	"context"
	"testing"
	"time"

	"github.com/botdesk/botdesk/models"
)

// Round robin among the online users of the round, under capacity, in
// the ingest's transaction; reopened conversations keep their agent.
func TestAutoAssignRoundRobin(t *testing.T) {
	s, ch := ingestStore(t)
	ctx := context.Background()
	if _, err := s.SetWorkbench(ctx, ch.ID, models.WorkbenchAll, nil); err != nil {
		t.Fatal(err)
	}
	mk := func(email string, role models.Role) *models.User {
		t.Helper()
		u, err := s.CreateUser(ctx, email, role, "long-enough-password")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	ann, bob := mk("ann@example.test", models.RoleAgent), mk("bob@example.test", models.RoleAgent)
	cid, dan := mk("cid@example.test", models.RoleAgent), mk("dan@example.test", models.RoleAgent)
	op := mk("op@example.test", models.RoleOperator)
	for _, u := range []*models.User{ann, bob, dan, op} {
		if err := s.TouchPresence(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	_ = cid // never seen: offline
	if err := s.SetAway(ctx, Actor{Name: "dan"}, dan.ID, true); err != nil {
		t.Fatal(err)
	}
	next := int64(100)
	ingest := func(chats ...int64) IngestResult {
		t.Helper()
		var ups []IngestUpdate
		for _, c := range chats {
			next++
			ups = append(ups, text(next, c, next, "private", "hello"))
		}
		res, err := s.IngestBatch(ctx, IngestBatch{BotTelegramID: ingestBot, NextOffset: next + 1, Updates: ups})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	assignee := func(chat int64) int64 {
		t.Helper()
		var c models.Conversation
		if err := s.r(ctx).Where("channel_id = ? AND chat_id = ?", ch.ID, chat).Take(&c).Error; err != nil {
			t.Fatal(err)
		}
		if c.AssignedTo == nil {
			return 0
		}
		return *c.AssignedTo
	}

	ingest(1) // off: nobody
	if assignee(1) != 0 {
		t.Fatal("assigned with auto-assignment off")
	}
	if err := s.SetAssignSettings(ctx, Actor{Name: "op"}, ch.ID, AssignSettings{Mode: models.AutoAssignRoundRobin, Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	res := ingest(2, 3, 4)
	ingest(5, 6)
	want := map[int64]int64{2: ann.ID, 3: bob.ID, 4: ann.ID, 5: bob.ID, 6: 0} // 6: both full
	for chat, u := range want {
		if got := assignee(chat); got != u {
			t.Errorf("chat %d assigned to %d, want %d", chat, got, u)
		}
	}
	if assignee(1) != 0 {
		t.Error("a conversation that was already open got assigned by a later message")
	}
	var notices int
	for _, c := range res.Changes {
		if c.Kind == "assigned" && c.UserID != 0 {
			notices++
		}
	}
	if notices != 3 {
		t.Errorf("%d assigned changes for three assignments", notices)
	}
	// Resolving frees capacity; a reopened one keeps its agent.
	var conv2 models.Conversation
	s.r(ctx).Where("channel_id = ? AND chat_id = 2", ch.ID).Take(&conv2)
	if err := s.SetConversationStatus(ctx, conv2.ID, ConversationResolved); err != nil {
		t.Fatal(err)
	}
	ingest(2)
	if assignee(2) != ann.ID {
		t.Errorf("reopened chat 2 assigned to %d, want its agent %d", assignee(2), ann.ID)
	}
	if err := s.SetConversationStatus(ctx, conv2.ID, ConversationResolved); err != nil {
		t.Fatal(err)
	}
	ingest(7)
	if assignee(7) != ann.ID {
		t.Errorf("chat 7 assigned to %d, want ann (bob is full)", assignee(7))
	}
	// A round that lists users: only them, any role.
	if err := s.SetAssignSettings(ctx, Actor{Name: "op"}, ch.ID, AssignSettings{Mode: models.AutoAssignRoundRobin, Capacity: 5, Agents: []int64{op.ID, cid.ID}}); err != nil {
		t.Fatal(err)
	}
	ingest(8, 9)
	if assignee(8) != op.ID || assignee(9) != op.ID {
		t.Errorf("listed round: chats 8, 9 to %d, %d, want the operator (cid is offline)", assignee(8), assignee(9))
	}
	loads, err := s.AgentLoads(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]AgentLoad{}
	for _, l := range loads {
		got[l.User.Email] = l
	}
	if l := got["op@example.test"]; !l.InRound || !l.Online || l.Open != 2 {
		t.Errorf("operator load %+v", l)
	}
	if l := got["dan@example.test"]; l.InRound || l.Online {
		t.Errorf("away dan %+v", l)
	}
	if l := got["bob@example.test"]; l.Open != 2 || l.InRound {
		t.Errorf("bob %+v", l)
	}
	if n := len(auditRows(t, s, "channel.auto_assign")); n != 2 {
		t.Errorf("%d channel.auto_assign audit rows, want 2", n)
	}
	for _, bad := range []AssignSettings{{Mode: "lottery", Capacity: 1}, {Mode: models.AutoAssignRoundRobin, Capacity: 0},
		{Mode: models.AutoAssignRoundRobin, Capacity: 3, Agents: []int64{999}}} {
		if err := s.SetAssignSettings(ctx, Actor{Name: "op"}, ch.ID, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func auditRows(t *testing.T, s *Store, action string) []models.AuditEntry {
	t.Helper()
	var out []models.AuditEntry
	if err := s.r(context.Background()).Where("action = ?", action).Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNextInRound(t *testing.T) {
	round := []int64{3, 5, 9}
	all := func(int64) bool { return true }
	for _, c := range []struct{ prev, want int64 }{{0, 3}, {3, 5}, {5, 9}, {9, 3}, {4, 5}, {100, 3}} {
		if got := nextInRound(round, c.prev, all); got != c.want {
			t.Errorf("after %d: %d, want %d", c.prev, got, c.want)
		}
	}
	if got := nextInRound(round, 3, func(u int64) bool { return u == 3 }); got != 3 {
		t.Errorf("only 3 has room: %d", got)
	}
	if got := nextInRound(round, 3, func(int64) bool { return false }); got != 0 {
		t.Errorf("nobody has room: %d", got)
	}
}

// The streams of one user share their heartbeat: a second tab's beat
// within half a PresenceBeat writes nothing, a later one does.
func TestTouchPresenceOncePerHalfBeatPerUser(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "tabs@example.test", models.RoleAgent, "long-enough-password")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	s.now = func() time.Time { return now }
	seen := func() time.Time {
		t.Helper()
		got, err := s.UserByID(ctx, u.ID)
		if err != nil || got.SeenAt == nil {
			t.Fatalf("user %+v, %v", got, err)
		}
		return got.SeenAt.UTC()
	}
	if err := s.TouchPresence(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	first := seen()
	now = now.Add(PresenceBeat/2 - time.Second)
	if err := s.TouchPresence(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if got := seen(); !got.Equal(first) {
		t.Fatalf("a second tab's beat within half a beat wrote seen_at: %s, was %s", got, first)
	}
	now = now.Add(2 * time.Second)
	if err := s.TouchPresence(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if got := seen(); !got.Equal(now) {
		t.Fatalf("a beat after half a beat: seen_at %s, want %s", got, now)
	}
}
