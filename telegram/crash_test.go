package telegram

import (
	"github.com/botdesk/botdesk/callbacks"

	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/store/pgtest"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// The crash test re-executes this test binary as the poller process. These
// variables tell the child where the database, key and fake Telegram are.
const (
	crashChildDir = "BOTDESK_CRASH_CHILD_DIR"
	crashChildKey = "BOTDESK_CRASH_CHILD_KEY"
	crashChildAPI = "BOTDESK_CRASH_CHILD_API"
	crashChildURL = "BOTDESK_CRASH_CHILD_URL" // the PostgreSQL database, in that pass
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildDir); dir != "" {
		os.Exit(runCrashChild(dir, os.Getenv(crashChildURL), os.Getenv(crashChildKey), os.Getenv(crashChildAPI)))
	}
	// The suite runs on SQLite, then on PostgreSQL (store/pgtest).
	os.Exit(pgtest.Main(m, func(ctx context.Context, url string) error {
		st, err := store.Open(ctx, store.Config{DatabaseURL: url})
		if err != nil {
			return err
		}
		return st.Close()
	}))
}

// runCrashChild is the poller process of TestCrashSafety: a real store and
// Supervisor, run until the parent kills it.
func runCrashChild(dir, dbURL, key, api string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	// Every child is the same instance restarting (as a service with
	// BOTDESK_INSTANCE_ID is), so it picks up its own bot leases at once
	// instead of waiting for a dead stranger's to expire.
	st, err := store.Open(ctx, store.Config{DataDir: dir, DatabaseURL: dbURL, InstanceID: "crash-child"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open store:", err)
		return 1
	}
	defer func() { _ = st.Close() }()
	sealer, err := store.NewSealer(key)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: sealer:", err)
		return 1
	}
	sup := NewSupervisor(SupervisorConfig{Events: callbacks.Payloads{}, Store: st, Sealer: sealer, APIBase: api, PollTimeout: time.Second,
		BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond})
	if err := sup.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child: run:", err)
		return 1
	}
	return 0
}

// TestCrashSafety SIGKILLs the poller process at random moments while
// updates keep arriving, restarts it each time, and then checks that every
// update was stored exactly once and the database is intact.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 20+ processes")
	}
	e := newEnv(t)
	const iterations = 20
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))

	// The injector: texts in private chats and a group, some edits of
	// earlier messages, a photo now and then.
	var (
		mu       sync.Mutex
		injected []telego.Update
		messages int
		edits    int
	)
	stopInject := make(chan struct{})
	injectorDone := make(chan struct{})
	go func() {
		defer close(injectorDone)
		var sent []telego.Message
		for i := 0; ; i++ {
			select {
			case <-stopInject:
				return
			case <-time.After(3 * time.Millisecond):
			}
			user := telegramtest.User(int64(6000000000+i%9), "User", "")
			var u telego.Update
			isEdit := false
			switch {
			case i%10 == 9 && len(sent) > 0:
				u = telegramtest.Edited(sent[(i*7)%len(sent)], fmt.Sprintf("edit-%d", i))
				isEdit = true
			case i%10 == 5:
				u = telegramtest.Photo(telegramtest.PrivateChat(user), user, fmt.Sprintf("photo-%d", i))
			case i%3 == 0:
				u = telegramtest.GroupText(super, user, fmt.Sprintf("group-%d", i))
			default:
				u = telegramtest.PrivateText(user, fmt.Sprintf("msg-%d", i))
			}
			u = e.fake.Inject(testBotID, u)
			mu.Lock()
			injected = append(injected, u)
			if isEdit {
				edits++
			} else {
				messages++
				sent = append(sent, *u.Message)
			}
			mu.Unlock()
		}
	}()

	start := time.Now()
	for range iterations {
		cmd := spawnCrashChild(t, e)
		time.Sleep(time.Duration(20+rng.IntN(380)) * time.Millisecond)
		killCrashChild(cmd)
	}
	close(stopInject)
	<-injectorDone

	// One last, undisturbed run drains the backlog.
	cmd := spawnCrashChild(t, e)
	t.Cleanup(func() { killCrashChild(cmd) })
	mu.Lock()
	last := injected[len(injected)-1].UpdateID
	total, wantMessages, wantEdits := len(injected), messages, edits
	mu.Unlock()
	e.caughtUp(last)
	killCrashChild(cmd)
	t.Logf("%d iterations, %d updates (%d messages, %d edits) in %s", iterations, total, wantMessages, wantEdits, time.Since(start).Round(time.Millisecond))

	if n := e.count("ingested_updates", "bot_telegram_id = ?", testBotID); n != int64(total) {
		t.Errorf("ingested_updates = %d, want %d", n, total)
	}
	if n := e.count("messages", "direction = 'in'"); n != int64(wantMessages) {
		t.Errorf("messages = %d, want %d", n, wantMessages)
	}
	var dups int64
	e.db.Raw("SELECT COUNT(*) FROM (SELECT chat_id, telegram_message_id FROM messages GROUP BY 1, 2 HAVING COUNT(*) > 1) AS d").Scan(&dups)
	if dups != 0 {
		t.Errorf("%d duplicated messages", dups)
	}
	// One mo event per new message and one per applied edit.
	if n := e.count("outbox", "kind = 'mo'"); n != int64(wantMessages+wantEdits) {
		t.Errorf("mo events = %d, want %d", n, wantMessages+wantEdits)
	}
	if n := e.count("message_edits", ""); n != int64(wantEdits) {
		t.Errorf("message_edits = %d, want %d (each edit applied once)", n, wantEdits)
	}
	var integrity string
	integrity, _ = e.st.IntegrityCheck(context.Background())
	if integrity != "ok" {
		t.Errorf("integrity_check = %q", integrity)
	}
}

// spawnCrashChild starts this test binary as a poller child process over
// e's data dir, key and fake Bot API (see the crashChild* variables).
func spawnCrashChild(t *testing.T, e *env) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildDir+"="+e.dir, crashChildKey+"="+e.key, crashChildAPI+"="+e.api)
	if e.st.Postgres() {
		cmd.Env = append(cmd.Env, crashChildURL+"="+e.st.Path())
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// killCrashChild SIGKILLs a child mid-work, as a power cut would.
func killCrashChild(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
}
