package telegram

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// leaseTiming keeps the lease loop quick in tests; the defaults are
// store.DefaultHeartbeat and store.DefaultLeaseTTL.
func leaseTiming(c SupervisorConfig) SupervisorConfig {
	c.Heartbeat, c.LeaseTTL = 100*time.Millisecond, time.Second
	return c
}

// instance is a second Supervisor on the env's database under its own
// instance id, as another botdesk process would be.
func (e *env) instance(id string) (*store.Store, SupervisorConfig) {
	e.t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: e.dir, DatabaseURL: e.url, InstanceID: id})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = st.Close() })
	c := leaseTiming(e.supervisorConfig())
	c.Store = st
	return st, c
}

// withBots connects n more bots, each in a channel of its own, and
// returns every bot id of the env (the test bot first).
func (e *env) withBots(n int64) []int64 {
	e.t.Helper()
	bots := []int64{testBotID}
	for i := int64(1); i <= n; i++ {
		id := testBotID + i
		ch, err := e.st.CreateChannel(context.Background(), fmt.Sprintf("Bot %d", i), nil)
		if err != nil {
			e.t.Fatal(err)
		}
		e.connectBot(ch.ID, id, e.fake.AddBot(telegramtest.BotSpec{ID: id, Username: fmt.Sprintf("bot%d", i), FirstName: "B"}))
		bots = append(bots, id)
	}
	return bots
}

// sentCount reads the sender's sent counter under its lock.
func (s *Sender) sentCount() int64 {
	s.metrics.mu.Lock()
	defer s.metrics.mu.Unlock()
	return s.metrics.sent
}

func (s *Supervisor) held() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for id := range s.leases {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func (s *Supervisor) leaseCounts() leaseMetrics {
	s.metrics.mu.Lock()
	defer s.metrics.mu.Unlock()
	return s.metrics.leases
}

// TestLeasesSpreadBotsAndMoveThemWhenAnInstanceGoes runs two supervisors
// on one database with four bots: they split the bots two and two, each
// bot polled by exactly one of them; the balance holds without moves over
// many turns; when one instance stops without releasing (as after kill -9)
// the other takes its bots once the leases expire, and updates sent
// meanwhile are stored exactly once.
func TestLeasesSpreadBotsAndMoveThemWhenAnInstanceGoes(t *testing.T) {
	e := newEnv(t)
	bots := e.withBots(3)
	_, ca := e.instance("a")
	_, cb := e.instance("b")
	a, b := NewSupervisor(ca), NewSupervisor(cb)
	stopA := runBackground(a.Run)
	defer func() { _ = stopA() }()
	<-a.Booted()
	if got := a.held(); len(got) != 4 {
		t.Fatalf("the only instance holds %v, want all four bots", got)
	}
	stopB := runBackground(b.Run)
	waitUntil(t, "the bots to spread two and two", func() bool { return len(a.held()) == 2 && len(b.held()) == 2 })
	ha, hb := a.held(), b.held()
	for _, id := range ha {
		if b.Running(id) {
			t.Fatalf("bot %d is polled by both instances", id)
		}
	}
	// No thrashing: many turns later nothing has moved.
	before := a.leaseCounts().turns
	waitUntil(t, "ten more lease turns", func() bool { return a.leaseCounts().turns >= before+10 })
	if fmt.Sprint(a.held(), b.held()) != fmt.Sprint(ha, hb) {
		t.Fatalf("balanced leases moved: %v %v, then %v %v", ha, hb, a.held(), b.held())
	}
	if la, lb := a.leaseCounts(), b.leaseCounts(); la.acquired != 4 || la.released != 2 || lb.acquired != 2 || la.lost+lb.lost != 0 {
		t.Fatalf("lease changes a=%+v b=%+v; want a to take 4 and release 2, b to take 2", la, lb)
	}
	// Every bot is polled, and no bot by two instances at once.
	for _, id := range bots {
		waitUntil(t, fmt.Sprintf("bot %d to be polled", id), func() bool { return a.Running(id) != b.Running(id) })
		if n := e.fake.PollOverlaps(id); n != 0 {
			t.Errorf("bot %d: %d getUpdates met another open one", id, n)
		}
	}

	// b dies: its Run ends without releasing, so its leases expire.
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	u := e.fake.Inject(hb[0], telegramtest.PrivateText(telegramtest.User(42, "Ann", ""), "while b is gone"))
	waitUntil(t, "a to take b's bots", func() bool { return len(a.held()) == 4 })
	waitUntil(t, "the update to be stored", func() bool {
		return e.count("messages", "bot_telegram_id = ? AND update_id = ?", hb[0], u.UpdateID) == 1
	})
	for _, id := range hb {
		waitUntil(t, fmt.Sprintf("a to poll bot %d", id), func() bool { return a.Running(id) })
	}
	if n := e.count("ingested_updates", ""); n != 1 {
		t.Fatalf("%d updates stored, want 1", n)
	}
}

// TestLeaseLoopWakesWhenADeadInstancesLeasesExpire: an instance that
// died (its heartbeat and leases written once, never renewed) holds both
// bots. The live instance, whose lease turns are half an hour apart here,
// takes them once the leases and the heartbeat expired, without waiting
// for its next turn: the failover is the lease lifetime, not the lifetime
// plus up to a turn.
func TestLeaseLoopWakesWhenADeadInstancesLeasesExpire(t *testing.T) {
	e := newEnv(t)
	bots := e.withBots(1)
	_, ca := e.instance("a")
	// The dead instance's rows live for ttl; a's first turn, milliseconds
	// away, must see them live.
	const ttl = 3 * time.Second
	ca.Heartbeat, ca.LeaseTTL = time.Hour, ttl
	dead, _ := e.instance("dead")
	ctx := context.Background()
	now := time.Now()
	if err := dead.Heartbeat(ctx, "test", now, now); err != nil {
		t.Fatal(err)
	}
	for _, id := range bots {
		if _, ok, err := dead.AcquireLease(ctx, id, now, now.Add(ttl)); err != nil || !ok {
			t.Fatalf("dead instance takes bot %d: %v %v", id, ok, err)
		}
	}
	a := NewSupervisor(ca)
	stop := runBackground(a.Run)
	defer func() { _ = stop() }()
	<-a.Booted()
	if got := a.held(); len(got) != 0 {
		t.Fatalf("a took %v at its first turn, while the dead instance's leases were live", got)
	}
	waitUntil(t, "a to take the dead instance's bots", func() bool { return len(a.held()) == len(bots) })
	for _, id := range bots {
		waitUntil(t, fmt.Sprintf("a to poll bot %d", id), func() bool { return a.Running(id) })
	}
}

// TestStartOnAnotherInstanceRestartsTheOwner is Update Token done on an
// instance that does not own the bot: its Start bumps the generation and
// the owner restarts its poller with the token now in the database.
func TestStartOnAnotherInstanceRestartsTheOwner(t *testing.T) {
	e := newEnv(t)
	_, ca := e.instance("a")
	stB, cb := e.instance("b")
	a, b := NewSupervisor(ca), NewSupervisor(cb)
	stopA := runBackground(a.Run)
	defer func() { _ = stopA() }()
	<-a.Booted()
	waitUntil(t, "a to poll", func() bool { return a.Running(testBotID) })

	newToken := e.fake.IssueToken(testBotID)
	sealed, err := e.sealer.Seal([]byte(newToken))
	if err != nil {
		t.Fatal(err)
	}
	if err := stB.ReplaceBotToken(context.Background(), e.channel.ID, testBotID, sealed, "new", storeProfile()); err != nil {
		t.Fatal(err)
	}
	e.fake.RevokeToken(e.token)
	if err := b.Start(context.Background(), testBotID); err != nil {
		t.Fatal(err)
	}
	if b.Running(testBotID) {
		t.Fatal("the non-owner started a poller of a bot another instance holds")
	}
	u := e.fake.Inject(testBotID, telegramtest.PrivateText(telegramtest.User(42, "Ann", ""), "after the new token"))
	waitUntil(t, "the owner to poll with the new token", func() bool {
		return e.count("messages", "update_id = ?", u.UpdateID) == 1
	})
	if st := e.bot().State; st == "token_invalid" {
		t.Fatal("the owner kept the revoked token and marked the bot token_invalid")
	}
}

// TestOnlyTheOwnerSends runs a sender on each of two instances: a queued
// reply goes out once, through the instance that holds the bot.
func TestOnlyTheOwnerSends(t *testing.T) {
	e := newEnv(t)
	stA, ca := e.instance("a")
	stB, cb := e.instance("b")
	a, b := NewSupervisor(ca), NewSupervisor(cb)
	stopA := runBackground(a.Run)
	defer func() { _ = stopA() }()
	<-a.Booted()
	stopB := runBackground(b.Run)
	defer func() { _ = stopB() }()
	<-b.Booted()
	sender := func(st *store.Store, l LeaseHolder) *Sender {
		c := e.senderConfig()
		c.Store, c.Leases = st, l
		return NewSender(c)
	}
	sa, sb := sender(stA, a), sender(stB, b)
	stopSA, stopSB := runBackground(sa.Run), runBackground(sb.Run)
	defer func() { _, _ = stopSA(), stopSB() }()
	const n = 20
	for i := 0; i < n; i++ {
		if _, _, err := stB.QueueOutgoing(context.Background(), store.OutgoingMessage{ChannelID: e.channel.ID, ChatID: 42, Text: fmt.Sprintf("reply %d", i)}); err != nil {
			t.Fatal(err)
		}
		sa.Wake()
		sb.Wake()
	}
	waitUntil(t, "every reply to be sent", func() bool { return e.count("messages", "direction = 'out' AND status = 'sent'") == n })
	if got := len(e.fake.Sent(testBotID)); got != n {
		t.Fatalf("Telegram got %d messages, want %d", got, n)
	}
	// The counters move just after each outcome's commit: wait for them,
	// then check that one instance sent everything.
	waitUntil(t, "the senders to count every reply", func() bool { return sa.sentCount()+sb.sentCount() >= n })
	if ga, gb := sa.sentCount(), sb.sentCount(); ga+gb != n || (ga != 0 && gb != 0) {
		t.Fatalf("sent by a %d, by b %d: want all %d by the owner", ga, gb, n)
	}
	if e.count("send_claims", "") != 0 {
		t.Fatal("claims left after every outcome was recorded")
	}
}

// TestLeasesBalanceOverThreeInstances: six bots spread two, two and two
// over three instances, whichever order they start in; when one stops
// without releasing its bots go to the other two, three and three, and
// no bot is ever polled by two instances.
func TestLeasesBalanceOverThreeInstances(t *testing.T) {
	e := newEnv(t)
	bots := e.withBots(5)
	var sups []*Supervisor
	var stops []func() error
	for _, id := range []string{"a", "b", "c"} {
		_, c := e.instance(id)
		s := NewSupervisor(c)
		sups = append(sups, s)
		stops = append(stops, runBackground(s.Run))
	}
	defer func() {
		for _, stop := range stops {
			_ = stop()
		}
	}()
	a, b, c := sups[0], sups[1], sups[2]
	spread := func(want []int, ss ...*Supervisor) func() bool {
		return func() bool {
			for i, s := range ss {
				if len(s.held()) != want[i] {
					return false
				}
			}
			return true
		}
	}
	waitUntil(t, "the bots to spread two, two and two", spread([]int{2, 2, 2}, a, b, c))
	exactlyOne := func(live ...*Supervisor) {
		t.Helper()
		for _, id := range bots {
			waitUntil(t, fmt.Sprintf("bot %d to be polled by exactly one instance", id), func() bool {
				n := 0
				for _, s := range live {
					if s.Running(id) {
						n++
					}
				}
				return n == 1
			})
		}
	}
	exactlyOne(a, b, c)
	overlaps := func() map[int64]int {
		m := map[int64]int{}
		for _, id := range bots {
			m[id] = e.fake.PollOverlaps(id)
		}
		return m
	}
	// Three instances booting at once hand bots over while they learn of
	// each other (a 409 there is the documented start-up window); once
	// balanced and idle, none.
	settled := overlaps()
	t.Logf("getUpdates overlaps while the three booted: %v", settled)
	before := fmt.Sprint(a.held(), b.held(), c.held())
	turns := a.leaseCounts().turns
	waitUntil(t, "ten more lease turns", func() bool { return a.leaseCounts().turns >= turns+10 })
	if after := fmt.Sprint(a.held(), b.held(), c.held()); after != before {
		t.Fatalf("balanced leases moved: %s, then %s", before, after)
	}
	if idle := overlaps(); fmt.Sprint(idle) != fmt.Sprint(settled) {
		t.Fatalf("getUpdates overlapped while the three were up and idle: %v, were %v", idle, settled)
	}

	// b dies without releasing: the other two take three each.
	if err := stops[1](); err != nil {
		t.Fatal(err)
	}
	stops[1] = func() error { return nil }
	waitUntil(t, "b's bots to go to a and c, three and three", spread([]int{3, 3}, a, c))
	exactlyOne(a, c)
	if after := overlaps(); fmt.Sprint(after) != fmt.Sprint(settled) {
		t.Fatalf("getUpdates overlapped during the takeover of a dead instance's bots: %v, were %v", after, settled)
	}
}
