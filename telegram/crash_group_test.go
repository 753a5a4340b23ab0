package telegram

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// TestCrashSafetySeveralBots is TestCrashSafety with several bots polling
// at once, so their batches are committed together by the store's group
// commit while the poller process is SIGKILLed at random moments: every
// bot must still end with each update stored exactly once, its own mo
// events, and its offset past its last update.
func TestCrashSafetySeveralBots(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 10+ processes")
	}
	e := newEnv(t)
	ctx := context.Background()
	bots := []int64{testBotID, testBotID + 1, testBotID + 2}
	channels := map[int64]*models.Channel{testBotID: e.channel}
	for _, id := range bots[1:] {
		ch, err := e.st.CreateChannel(ctx, fmt.Sprintf("Support %d", id), nil)
		if err != nil {
			t.Fatal(err)
		}
		channels[id] = ch
		tok := e.fake.AddBot(telegramtest.BotSpec{ID: id, Username: fmt.Sprintf("acme%d_bot", id), FirstName: "Acme"})
		e.connectBot(ch.ID, id, tok)
	}
	const iterations = 10
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))

	type tally struct {
		last          int
		updates, msgs int
		edits         int
		sent          []telego.Message
	}
	var mu sync.Mutex
	per := map[int64]*tally{}
	for _, id := range bots {
		per[id] = &tally{}
	}
	stopInject := make(chan struct{})
	injectorDone := make(chan struct{})
	go func() {
		defer close(injectorDone)
		for i := 0; ; i++ {
			select {
			case <-stopInject:
				return
			case <-time.After(time.Millisecond):
			}
			// Several updates per tick, for every bot, so batches of
			// different bots are waiting for the writer together.
			for _, bot := range bots {
				user := telegramtest.User(int64(6000000000+i%7), "User", "")
				mu.Lock()
				tl := per[bot]
				var u telego.Update
				isEdit := false
				switch {
				case i%8 == 7 && len(tl.sent) > 0:
					u = telegramtest.Edited(tl.sent[(i*5)%len(tl.sent)], fmt.Sprintf("edit-%d", i))
					isEdit = true
				case i%4 == 0:
					u = telegramtest.GroupText(super, user, fmt.Sprintf("group-%d-%d", bot, i))
				default:
					u = telegramtest.PrivateText(user, fmt.Sprintf("msg-%d-%d", bot, i))
				}
				u = e.fake.Inject(bot, u)
				tl.last, tl.updates = u.UpdateID, tl.updates+1
				if isEdit {
					tl.edits++
				} else {
					tl.msgs++
					tl.sent = append(tl.sent, *u.Message)
				}
				mu.Unlock()
			}
		}
	}()

	for range iterations {
		cmd := spawnCrashChild(t, e)
		time.Sleep(time.Duration(30+rng.IntN(300)) * time.Millisecond)
		killCrashChild(cmd)
	}
	close(stopInject)
	<-injectorDone

	// One last, undisturbed run drains every bot's backlog.
	cmd := spawnCrashChild(t, e)
	t.Cleanup(func() { killCrashChild(cmd) })
	for _, bot := range bots {
		want := int64(per[bot].last) + 1
		waitUntil(t, fmt.Sprintf("bot %d to store every update", bot), func() bool {
			var off int64
			if err := e.db.Raw("SELECT update_offset FROM bots WHERE telegram_id = ?", bot).Scan(&off).Error; err != nil {
				t.Fatal(err)
			}
			return off == want
		})
	}
	killCrashChild(cmd)

	for _, bot := range bots {
		tl, ch := per[bot], channels[bot]
		if n := e.count("ingested_updates", "bot_telegram_id = ?", bot); n != int64(tl.updates) {
			t.Errorf("bot %d: ingested_updates = %d, want %d", bot, n, tl.updates)
		}
		if n := e.count("messages", "bot_telegram_id = ? AND direction = 'in'", bot); n != int64(tl.msgs) {
			t.Errorf("bot %d: messages = %d, want %d", bot, n, tl.msgs)
		}
		if n := e.count("outbox", "channel_id = ? AND kind = 'mo'", ch.ID); n != int64(tl.msgs+tl.edits) {
			t.Errorf("bot %d: mo events = %d, want %d", bot, n, tl.msgs+tl.edits)
		}
		var dups int64
		e.db.Raw("SELECT COUNT(*) FROM (SELECT chat_id, telegram_message_id FROM messages WHERE bot_telegram_id = ? GROUP BY 1, 2 HAVING COUNT(*) > 1) AS d", bot).Scan(&dups)
		if dups != 0 {
			t.Errorf("bot %d: %d duplicated messages", bot, dups)
		}
		t.Logf("bot %d: %d updates (%d messages, %d edits)", bot, tl.updates, tl.msgs, tl.edits)
	}
	var integrity string
	integrity, _ = e.st.IntegrityCheck(context.Background())
	if integrity != "ok" {
		t.Errorf("integrity_check = %q", integrity)
	}
}
