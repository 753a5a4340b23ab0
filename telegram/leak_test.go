package telegram

import (
	"bytes"
	"context"
	"net/http"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// TestNoGoroutineLeaks runs supervisors and senders through start, stop and
// restart cycles and checks that the goroutine count returns to where it
// was: every poller, send and long poll must end with its owner.
func TestNoGoroutineLeaks(t *testing.T) {
	e := newEnv(t)
	tr := e.hc.Transport.(*http.Transport)
	base := runtime.NumGoroutine()
	ctx := context.Background()
	for round := range 3 {
		sup := NewSupervisor(e.supervisorConfig())
		stopSup := runBackground(sup.Run)
		<-sup.Booted()
		u := e.fake.Inject(testBotID, telegramtest.PrivateText(alice, "r"))
		e.caughtUp(u.UpdateID)
		for range 3 {
			if err := sup.Start(ctx, testBotID); err != nil {
				t.Fatal(err)
			}
		}
		sup.Stop(testBotID)
		if sup.Running(testBotID) {
			t.Fatal("still running after Stop")
		}
		if err := sup.Start(ctx, testBotID); err != nil {
			t.Fatal(err)
		}
		snd := NewSender(e.senderConfig())
		stopSnd := runBackground(snd.Run)
		m := e.queue(alice.ID, "reply")
		snd.Wake()
		e.waitFinal(m.ID)
		if err := stopSnd(); err != nil {
			t.Fatal(err)
		}
		if err := stopSup(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if sup.Start(ctx, testBotID) != ErrSupervisorStopped {
			t.Fatal("Start after shutdown must refuse")
		}
	}
	var now int
	deadline := time.Now().Add(10 * time.Second)
	for {
		tr.CloseIdleConnections()
		runtime.GC()
		if now = runtime.NumGoroutine(); now <= base || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if now > base {
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		t.Fatalf("%d goroutines after the cycles, %d before:\n%s", now, base, buf.String())
	}
}
