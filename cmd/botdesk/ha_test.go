package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/store/pgtest"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// haInstance is one `botdesk serve` process of the cluster under test.
type haInstance struct {
	id, base string
	cmd      *exec.Cmd
	log      *logSink
	exited   chan struct{}
}

func startHAInstance(t *testing.T, bin string, env []string, id string) *haInstance {
	t.Helper()
	// A port picked and freed may be taken by another test's server before
	// serve binds it: then serve exits, and the next port is tried.
	for attempt := 0; ; attempt++ {
		if in := tryHAInstance(t, bin, env, id); in != nil {
			return in
		}
		if attempt == 3 {
			t.Fatalf("instance %s could not bind a port", id)
		}
	}
}

func tryHAInstance(t *testing.T, bin string, env []string, id string) *haInstance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	in := &haInstance{id: id, base: "http://" + addr, log: &logSink{notify: make(chan struct{}, 1)}, exited: make(chan struct{})}
	in.cmd = exec.Command(bin, "serve")
	in.cmd.Env = cleanEnv(append(env, "BOTDESK_ADDR="+addr, "BOTDESK_INSTANCE_ID="+id))
	in.cmd.Stdout, in.cmd.Stderr = in.log, in.log
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = in.cmd.Wait(); close(in.exited) }()
	t.Cleanup(func() { in.stop() })
	// Ours once it says so: another process may answer on a stolen port.
	serving := regexp.MustCompile(`msg="botdesk serving".*instance=` + regexp.QuoteMeta(id))
	for deadline := time.Now().Add(30 * time.Second); !serving.MatchString(in.log.String()); time.Sleep(20 * time.Millisecond) { // hang guard
		if !in.alive() {
			if strings.Contains(in.log.String(), "address already in use") {
				return nil
			}
			t.Fatalf("instance %s exited:\n%s", id, in.log.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s not serving:\n%s", id, in.log.String())
		}
	}
	return in
}

func (in *haInstance) alive() bool {
	select {
	case <-in.exited:
		return false
	default:
		return true
	}
}

func (in *haInstance) kill() {
	_ = in.cmd.Process.Kill()
	<-in.exited
}

func (in *haInstance) stop() {
	if !in.alive() {
		return
	}
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.exited:
	case <-time.After(20 * time.Second):
		in.kill()
	}
}

// callbackReceiver counts the mo events delivered, by message id, with the
// webhook-ids each came with.
type callbackReceiver struct {
	mu  sync.Mutex
	ids map[string]map[string]bool // message_id -> webhook-ids
	n   int
}

func (r *callbackReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var evs []struct {
		Kind      string `json:"kind"`
		MessageID string `json:"message_id"`
	}
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
		_ = json.Unmarshal(body, &evs)
	} else {
		evs = make([]struct {
			Kind      string `json:"kind"`
			MessageID string `json:"message_id"`
		}, 1)
		_ = json.Unmarshal(body, &evs[0])
	}
	r.mu.Lock()
	for _, ev := range evs {
		if ev.Kind != "mo" {
			continue
		}
		if r.ids[ev.MessageID] == nil {
			r.ids[ev.MessageID] = map[string]bool{}
		}
		r.ids[ev.MessageID][req.Header.Get("webhook-id")] = true
		r.n++
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *callbackReceiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

// TestInstancesShareBotsAndFailOver runs two `botdesk serve` processes on
// one database with four bots, a fake Bot API and a callback receiver.
// The bots spread two and two, each polled by exactly one instance, with
// no overlapping getUpdates while both are up; then, twice, the owner of
// the first bot is killed with SIGKILL while updates and replies flow
// through both, and the survivor must poll its bots again within 20 s.
// Afterwards every update is stored exactly once, every mo callback
// arrived (a repeat with the same webhook-id), every accepted reply was
// sent, and a message reached Telegram twice only when a sender took over
// a claim a killed instance left behind (logged and counted).
func TestInstancesShareBotsAndFailOver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts botdesk processes and waits for lease expiry")
	}
	if !pgtest.Postgres() {
		// High availability is a PostgreSQL deployment (docs/deploy.md):
		// this test runs in the package's PostgreSQL pass, which
		// BOTDESK_PG_REQUIRED=1 makes mandatory.
		t.Skip("several instances need PostgreSQL: runs in the PostgreSQL pass")
	}
	clearEnv(t)
	bin := botdeskBinary(t)
	dir := t.TempDir()
	url := pgtest.URL(t)
	tg := telegramtest.New()
	tgURL := tg.Start()
	defer tg.Close()
	recv := &callbackReceiver{ids: map[string]map[string]bool{}}
	hook := httptest.NewServer(recv)
	defer hook.Close()

	env := []string{"BOTDESK_DATA_DIR=" + dir, "BOTDESK_DATABASE_URL=" + url, "BOTDESK_TELEGRAM_API=" + tgURL, "BOTDESK_POLL_TIMEOUT=1s",
		"BOTDESK_SECRET_KEY=" + strings.Repeat("ab", 32), "BOTDESK_ALLOW_PRIVATE_CALLBACKS=1", "BOTDESK_SHUTDOWN_TIMEOUT=5s"}
	key, stderr, err := runBin(t, bin, env, "apikey", "create", "--name", "ha-test", "--role", "admin")
	if err != nil {
		t.Fatalf("apikey create: %v %s", err, stderr)
	}
	key = strings.TrimSpace(key)
	db := pgtest.OpenDB(t, url)
	count := func(q string) (n int64) {
		t.Helper()
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	// owners maps each bot to the instance holding a live lease on it.
	owners := func() map[int64]string {
		rows, err := db.Query("SELECT bot_telegram_id, owner_id, expires_at FROM bot_leases")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int64]string{}
		now := time.Now().UnixMilli()
		for rows.Next() {
			var bot, exp int64
			var owner string
			if err := rows.Scan(&bot, &owner, &exp); err != nil {
				t.Fatal(err)
			}
			if owner != "" && exp > now {
				out[bot] = owner
			}
		}
		return out
	}
	var all []*haInstance // every process started, for their logs
	errorLines := func() string {
		var b strings.Builder
		for _, in := range all {
			for _, l := range strings.Split(in.log.String(), "\n") {
				if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
					fmt.Fprintf(&b, "%s: %s\n", in.id, l)
				}
			}
		}
		return b.String()
	}
	waitFor := func(what string, bound time.Duration, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > bound {
				t.Fatalf("gave up after %s waiting for %s; leases %v\nwarnings and errors:\n%s", bound, what, owners(), errorLines())
			}
			time.Sleep(50 * time.Millisecond)
		}
		return time.Since(start)
	}

	insts := map[string]*haInstance{"a": startHAInstance(t, bin, env, "a")}
	all = append(all, insts["a"])
	api := func(in *haInstance, method, path string, body any) (int, []byte, error) {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, in.base+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, nil
	}
	const nBots = 4
	var bots []int64
	chans := map[int64]string{}
	tokens := map[int64]string{}
	for i := 0; i < nBots; i++ {
		id := int64(700300400 + i)
		token := tg.AddBot(telegramtest.BotSpec{ID: id, Username: fmt.Sprintf("ha_bot_%d", i), FirstName: "HA"})
		var ch struct{ ID string }
		st, b, err := api(insts["a"], http.MethodPost, "/api/v1/channels", map[string]string{"name": fmt.Sprintf("HA %d", i)})
		if err != nil || st != http.StatusCreated || json.Unmarshal(b, &ch) != nil {
			t.Fatalf("create channel: %d %s %v", st, b, err)
		}
		if st, b, err := api(insts["a"], http.MethodPut, "/api/v1/channels/"+ch.ID+"/webhook", map[string]any{
			"http_enabled": true, "status_url": hook.URL + "/status", "mo_url": hook.URL + "/mo", "notify_url": hook.URL + "/notify"}); err != nil || st != http.StatusOK {
			t.Fatalf("webhook: %d %s %v", st, b, err)
		}
		if st, b, err := api(insts["a"], http.MethodPut, "/api/v1/channels/"+ch.ID+"/bot", map[string]string{"token": token}); err != nil || st != http.StatusCreated {
			t.Fatalf("connect: %d %s %v", st, b, err)
		}
		bots = append(bots, id)
		chans[id] = ch.ID
		tokens[id] = token
	}
	waitFor("a to hold every bot", 20*time.Second, func() bool {
		o := owners()
		return len(o) == nBots && o[bots[0]] == "a" && o[bots[nBots-1]] == "a"
	})
	insts["b"] = startHAInstance(t, bin, env, "b")
	all = append(all, insts["b"])
	balanced := func() bool {
		per := map[string]int{}
		for _, o := range owners() {
			per[o]++
		}
		return per["a"] == nBots/2 && per["b"] == nBots/2
	}
	waitFor("the bots to spread two and two", 30*time.Second, balanced)

	// Both up and idle: a few long polls each, and not one overlap.
	idleFrom := time.Now()
	for time.Since(idleFrom) < 3*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	for _, id := range bots {
		if n := tg.PollOverlaps(id); n != 0 {
			t.Errorf("bot %d: %d overlapping getUpdates while both instances were up", id, n)
		}
	}

	// Live views across instances: the first bot's messages, polled by its
	// owner, reach an agent's streams on the other instance.
	if st, b, err := api(insts["a"], http.MethodPut, "/api/v1/channels/"+chans[bots[0]]+"/workbench", map[string]string{"mode": "all"}); err != nil || st != http.StatusOK {
		t.Fatalf("workbench mode: %d %s %v", st, b, err)
	}
	poller := owners()[bots[0]]
	viewer := map[string]string{"a": "b", "b": "a"}[poller]
	viewed := checkStreamsAcrossInstances(t, bin, env, tg, db, insts[poller], insts[viewer], bots[0], chans[bots[0]],
		func() string { return owners()[bots[0]] })

	// Traffic through both: customers write to every bot, replies are
	// queued through whichever instance answers.
	var (
		mu       sync.Mutex
		injected = map[int64]int{}
		accepted = map[string]bool{} // reply texts Telegram must get
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	injected[bots[0]] += viewed
	users := []int64{1001, 1002, 1003}
	for _, id := range bots {
		for _, u := range users { // the chats replies go to exist first
			tg.Inject(id, telegramtest.PrivateText(telego.User{ID: u, FirstName: "C"}, "hello"))
			injected[id]++
		}
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			id := bots[i%nBots]
			tg.Inject(id, telegramtest.PrivateText(telego.User{ID: users[i%len(users)], FirstName: "C"}, fmt.Sprint("message ", i)))
			mu.Lock()
			injected[id]++
			mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			id := bots[i%nBots]
			text := fmt.Sprint("reply ", i)
			mu.Lock()
			var targets []*haInstance
			for _, in := range insts {
				if in.alive() {
					targets = append(targets, in)
				}
			}
			mu.Unlock()
			if len(targets) == 0 {
				continue
			}
			for _, in := range append(targets[i%len(targets):], targets[:i%len(targets)]...) {
				st, _, err := api(in, http.MethodPost, "/api/v1/channels/"+chans[id]+"/messages",
					map[string]any{"chat_id": users[i%len(users)], "text": text})
				if err == nil && st == http.StatusAccepted {
					mu.Lock()
					accepted[text] = true
					mu.Unlock()
					break
				}
			}
		}
	}()
	waitFor("the first chats to be stored", 20*time.Second, func() bool {
		return count("SELECT COUNT(*) FROM conversations") >= int64(nBots*len(users))
	})

	var failovers []time.Duration
	for round := 0; round < 2; round++ {
		victim := owners()[bots[0]]
		survivor := map[string]string{"a": "b", "b": "a"}[victim]
		var theirs []int64
		for bot, o := range owners() {
			if o == victim {
				theirs = append(theirs, bot)
			}
		}
		sort.Slice(theirs, func(i, j int) bool { return theirs[i] < theirs[j] })
		mu.Lock()
		old := insts[victim]
		mu.Unlock()
		old.kill()
		killed := time.Now()
		// A message to each of its bots after the kill must be stored by
		// the survivor: the bot is polled again.
		marks := map[int64]int{}
		for _, id := range theirs {
			u := tg.Inject(id, telegramtest.PrivateText(telego.User{ID: users[0], FirstName: "C"}, fmt.Sprint("after kill ", round)))
			marks[id] = u.UpdateID
			mu.Lock()
			injected[id]++
			mu.Unlock()
		}
		waitFor(fmt.Sprintf("%s to take %s's bots", survivor, victim), 40*time.Second, func() bool {
			o := owners()
			for _, id := range theirs {
				if o[id] != survivor || count(fmt.Sprintf("SELECT COUNT(*) FROM ingested_updates WHERE bot_telegram_id = %d AND update_id = %d", id, marks[id])) != 1 {
					return false
				}
			}
			return true
		})
		took := time.Since(killed)
		failovers = append(failovers, took)
		if took > 20*time.Second {
			t.Errorf("round %d: the killed instance's bots were polled again after %s, want within 20s", round, took)
		}
		// The killed instance comes back under the same id and gets its
		// share again.
		in := startHAInstance(t, bin, env, victim)
		mu.Lock()
		insts[victim] = in
		all = append(all, in)
		mu.Unlock()
		waitFor("the bots to spread again", 30*time.Second, balanced)
	}
	close(stop)
	wg.Wait()
	t.Logf("failover times (SIGKILL → bots polled by the survivor): %v", failovers)

	var total int64
	for _, id := range bots {
		want := int64(injected[id])
		total += want
		waitFor(fmt.Sprintf("bot %d's updates to be stored", id), 30*time.Second, func() bool {
			return count(fmt.Sprintf("SELECT COUNT(*) FROM ingested_updates WHERE bot_telegram_id = %d", id)) == want
		})
	}
	if n := count("SELECT COUNT(*) FROM messages WHERE direction = 'in'"); n != total {
		t.Errorf("%d incoming messages stored, want exactly %d", n, total)
	}
	waitFor("every reply to get an outcome", 30*time.Second, func() bool {
		return count("SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status = 'pending'") == 0
	})
	if n := count("SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status <> 'sent'"); n != 0 {
		t.Errorf("%d replies not sent", n)
	}
	waitFor("every mo callback to arrive", 120*time.Second, func() bool {
		if int64(recv.distinct()) == total {
			return true
		}
		if rows, err := db.Query("SELECT state, claimed_by, attempts, COUNT(*) FROM outbox WHERE kind = 'mo' AND state <> 'delivered' GROUP BY state, claimed_by, attempts"); err == nil {
			var states []string
			for rows.Next() {
				var st, by string
				var att, n int
				_ = rows.Scan(&st, &by, &att, &n)
				states = append(states, fmt.Sprintf("%s/%s/%d:%d", st, by, att, n))
			}
			rows.Close()
			t.Logf("mo callbacks: %d of %d arrived; undelivered %v", recv.distinct(), total, states)
		}
		return false
	})
	recv.mu.Lock()
	for id, hooks := range recv.ids {
		if len(hooks) != 1 {
			t.Errorf("message %s was delivered under %d webhook-ids", id, len(hooks))
		}
	}
	repeats := recv.n - len(recv.ids)
	recv.mu.Unlock()

	got := map[string]int{}
	for _, id := range bots {
		for _, m := range tg.Sent(id) {
			got[m.Text]++
		}
	}
	dups := 0
	for text := range accepted {
		switch n := got[text]; {
		case n == 0:
			t.Errorf("accepted reply %q never reached Telegram", text)
		case n > 1:
			dups += n - 1
		}
	}
	reclaims := 0
	re := regexp.MustCompile(`earlier claim was left without an outcome`)
	for _, in := range all {
		reclaims += len(re.FindAllString(in.log.String(), -1))
	}
	if dups > reclaims {
		t.Errorf("%d replies reached Telegram twice, but only %d sends took over a dead instance's claim", dups, reclaims)
	}
	t.Logf("%d updates, %d replies accepted; %d mo repeats; %d duplicate sends (%d reclaimed claims)", total, len(accepted), repeats, dups, reclaims)

	// Bot changes taken by the instance that does not own the bot.
	bot := bots[1]
	owner := owners()[bot]
	if owner == "" {
		t.Fatalf("bot %d has no owner at the end", bot)
	}
	other := map[string]string{"a": "b", "b": "a"}[owner]
	checkChangesReachTheOwner(t, haCluster{bin: bin, env: env, tg: tg, api: api, waitFor: waitFor, count: count},
		insts[owner], insts[other], bot, chans[bot], tokens[bot], func() string { return owners()[bot] })
}
