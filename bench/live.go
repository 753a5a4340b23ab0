package bench

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mymmrac/telego"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// LiveSizes bound the live-list scenario.
type LiveSizes struct {
	Streams  []int // list-only workbench streams, one run per figure
	Chats    int
	Rate     int // messages per second
	Messages int // per run
}

// MeasureLive measures the workbench list at scale on the real binary:
// n agents' tabs hold GET /workbench/events open (the list-only stream,
// one signed-in agent) while messages arrive through the fake Bot API at
// a steady rate, round-robin over the chats. Each message carries a token;
// it is visible on a stream when an event with its conversation's row
// carrying it (or a later message of the same chat: the row shows the
// newest) arrives. One run per entry of sz.Streams.
func MeasureLive(ctx context.Context, bin, root string, sz LiveSizes) ([]Figure, error) {
	var figs []Figure
	for _, n := range sz.Streams {
		f, err := measureLive(ctx, bin, filepath.Join(root, fmt.Sprintf("live-%d", n)), n, sz)
		if err != nil {
			return nil, fmt.Errorf("%d streams: %w", n, err)
		}
		figs = append(figs, f...)
	}
	return figs, nil
}

func measureLive(ctx context.Context, bin, dir string, streams int, sz LiveSizes) ([]Figure, error) {
	fake := telegramtest.New()
	tgURL := fake.Start()
	defer fake.Close()
	st, sealer, err := openStore(ctx, dir)
	if err != nil {
		return nil, err
	}
	_, bot, err := connectBot(ctx, st, sealer, fake, 0, models.WorkbenchAll)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	u, err := st.CreateUser(ctx, "bench-agent@example.com", models.RoleAgent, "bench-password-not-secret")
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	tok, err := st.CreateSession(ctx, u.ID, "127.0.0.1", "bench")
	path := st.Path()
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	// Every stream comes from 127.0.0.1: lift the per-IP connection cap
	// (256 by default, for one office behind one address) above the
	// scenario's count, or the streams past it are closed at accept.
	// The rows before this one seed databases of a million messages; their
	// pages still waiting to be written back would otherwise land on the
	// disk during this run, behind the server's commits.
	dirty := dirtyMB()
	syscall.Sync()
	p, err := startServe(bin, dir, tgURL, filepath.Join(dir, "serve.log"), fmt.Sprintf("BOTDESK_MAX_CONNS_PER_IP=%d", streams+64))
	if err != nil {
		return nil, err
	}
	defer p.stop()
	if _, err := p.waitHealthy(30 * time.Second); err != nil {
		return nil, err
	}
	users := make([]telego.User, sz.Chats)
	for i := range users {
		users[i] = newUser(i)
		fake.Inject(bot, telegramtest.PrivateText(users[i], "first message"))
	}
	if err := waitRows(ctx, path, sz.Chats); err != nil {
		return nil, err
	}

	// The load client (bench/sseclient_linux.go): one goroutine reading
	// every stream's socket and looking only for the tokens, so it costs
	// far less than the server's work.
	set, err := newStreamSet()
	if err != nil {
		return nil, err
	}
	seen := make([][]time.Time, streams) // [stream][message]
	bytesIn := make([]int64, streams)
	var start time.Time
	var startMu sync.Mutex
	counting := make([]bool, streams)
	ready := make(chan error, streams)
	headers := map[string]string{"Cookie": "bd_session=" + tok}
	var clientCPU0 syscall.Rusage
	for s := 0; s < streams; s++ {
		seen[s] = make([]time.Time, sz.Messages)
		isReady := false
		sc := &tokenScanner{
			onReady: func() { isReady = true; ready <- nil },
			onToken: func(i int, at time.Time) {
				startMu.Lock()
				defer startMu.Unlock()
				// A row shows its chat's newest message: every earlier
				// one of that chat has arrived too.
				for k := i; k >= 0 && k < sz.Messages && seen[s][k].IsZero(); k -= sz.Chats {
					seen[s][k] = at
				}
			},
		}
		body := func(b []byte, at time.Time) {
			startMu.Lock()
			if counting[s] {
				bytesIn[s] += int64(len(b))
			}
			startMu.Unlock()
			sc.feed(b, at)
		}
		closed := func(err error) {
			if !isReady {
				isReady = true
				ready <- err // the caller then sees the missing messages
			}
		}
		if err := set.open(strings.TrimPrefix(p.base, "http://"), "/workbench/events", headers, body, closed); err != nil {
			set.stop()
			return nil, err
		}
	}
	set.start(time.Millisecond)
	defer set.stop()
	for s := 0; s < streams; s++ {
		select {
		case err := <-ready:
			if err != nil {
				return nil, err
			}
		case <-time.After(60 * time.Second):
			return nil, fmt.Errorf("bench: live: streams did not start within 60s")
		}
	}
	// Let the connect burst (fresh pages) settle before counting bytes.
	time.Sleep(500 * time.Millisecond)
	startMu.Lock()
	for s := range counting {
		counting[s] = true
	}
	startMu.Unlock()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &clientCPU0)
	serverCPU0 := procCPU(p)
	sent := make([]time.Time, sz.Messages)
	interval := time.Second / time.Duration(sz.Rate)
	start = time.Now()
	rss0, _ := p.memKB("VmRSS")
	var rssMax int64
	for i := 0; i < sz.Messages; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		sent[i] = time.Now()
		fake.Inject(bot, telegramtest.PrivateText(users[i%sz.Chats], fmt.Sprintf("order question lat%07dz please", i)))
		if i%sz.Rate == 0 {
			if r, err := p.memKB("VmRSS"); err == nil && r > rssMax {
				rssMax = r
			}
		}
	}
	sendTime := time.Since(start)
	// Wait (bounded) until every stream saw every message.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && !allSeen(seen, &startMu) {
		time.Sleep(50 * time.Millisecond)
	}
	if r, err := p.memKB("VmRSS"); err == nil && r > rssMax {
		rssMax = r
	}
	hwm, _ := p.memKB("VmHWM")
	var clientCPU1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &clientCPU1)
	serverCPU := procCPU(p) - serverCPU0
	set.stop()

	// Per message, the time until it was on every stream; and over every
	// (message, stream) pair.
	// And until the first stream had it: the path to the fan-out (poller,
	// ingest, broker, render), apart from the fan-out itself.
	var every, first, pairs []time.Duration
	missing := 0
	for i := 0; i < sz.Messages; i++ {
		var worst time.Duration
		best := time.Duration(math.MaxInt64)
		complete := true
		for s := 0; s < streams; s++ {
			if seen[s][i].IsZero() {
				complete = false
				missing++
				continue
			}
			d := seen[s][i].Sub(sent[i])
			pairs = append(pairs, d)
			worst = max(worst, d)
			best = min(best, d)
		}
		if complete {
			every = append(every, worst)
			first = append(first, best)
		}
	}
	if missing > 0 {
		return nil, fmt.Errorf("bench: live: %d (message, stream) pairs never arrived (of %d)", missing, sz.Messages*streams)
	}
	le, lf, lp := summarize(every), summarize(first), summarize(pairs)
	per := make([]float64, streams)
	for s := range per {
		per[s] = float64(bytesIn[s]) / float64(sz.Messages)
	}
	sort.Float64s(per)
	medBytes := per[len(per)/2]
	mb := float64(max(rssMax, hwm)) / 1024
	clientCPU := rusageCPU(clientCPU1) - rusageCPU(clientCPU0)
	achieved := float64(sz.Messages) / sendTime.Seconds()
	// The same fan-out without botdesk or HTTP, for scale: the least one
	// message's writes to every stream cost on this machine.
	floorWrite, floorCPU, err := fanOutFloor(streams, int(medBytes), min(200, sz.Messages), time.Second/time.Duration(sz.Rate))
	if err != nil {
		return nil, err
	}
	serverPer := serverCPU / time.Duration(sz.Messages*streams)
	target := func(t string) string {
		if streams == 500 {
			return t
		}
		return "— (reported)"
	}
	status := func(ok bool) Status {
		if streams == 500 {
			return check(ok)
		}
		return Info
	}
	how := fmt.Sprintf("real binary (go build ./cmd/botdesk) over HTTP; %d list-only workbench streams (GET /workbench/events, one signed-in agent, htmx-sse format) "+
		"while %d messages arrive through the fake Bot API at %.0f msg/s (target %d) round-robin over %d private chats of one channel (Message Workbench: all). "+
		"The load client is one goroutine reading every stream's socket from an epoll set (bench/sseclient_linux.go), at most 1 ms after data arrived, and looking only for the message tokens: a read's time is up to ~1 ms late, never early "+
		"(CPU for the run: the test process, with the fake Bot API, %s; the server %s, %s per message per stream). "+
		"Before the server started, the file system was synced (sync(2)): %.0f MB of dirty page cache, mostly left by earlier rows.",
		streams, sz.Messages, achieved, sz.Rate, sz.Chats, clientCPU.Round(10*time.Millisecond), serverCPU.Round(10*time.Millisecond), us(serverPer), dirty)
	return []Figure{
		{
			Name:     fmt.Sprintf("workbench list, %d streams, %d msg/s: arrival → row on every stream", streams, sz.Rate),
			Value:    fmt.Sprintf("p50 %s, p99 %s", ms(le.P50), ms(le.P99)),
			Baseline: "—", Ratio: "—",
			Target: target("p99 < 100 ms"),
			Status: status(le.P99 < 100*time.Millisecond),
			Notes: how + fmt.Sprintf(" Timed from Inject to the moment the last of the %d streams received the rows event with the message's row (poller, ingest, hub, live broker, render, %d writes). "+
				"Over all (message, stream) pairs: p50 %s, p90 %s, p99 %s, max %s. To the first stream that had it: p50 %s, p99 %s.",
				streams, streams, ms(lp.P50), ms(lp.P90), ms(lp.P99), ms(lp.Max), ms(lf.P50), ms(lf.P99)),
		},
		{
			Name:     fmt.Sprintf("workbench list, %d streams: bytes sent per message per stream", streams),
			Value:    fmt.Sprintf("%.0f B (median)", medBytes),
			Baseline: "—", Ratio: "—",
			Target: target("≤ 2 KB median"),
			Status: status(medBytes <= 2048),
			Notes:  fmt.Sprintf("Bytes read from each stream's body (SSE framing included, heartbeats too) while the messages arrived, divided by the messages; min %.0f B, max %.0f B over the streams.", per[0], per[len(per)-1]),
		},
		{
			Name:     fmt.Sprintf("RSS of botdesk serve with %d workbench streams, %d msg/s", streams, sz.Rate),
			Value:    fmt.Sprintf("%.0f MB", mb),
			Baseline: "—", Ratio: "—",
			Target: target("< 300 MB"),
			Status: status(mb < 300),
			Notes:  fmt.Sprintf("The larger of VmHWM and VmRSS sampled every second of the run from /proc/<pid>/status; VmRSS with the streams open before the first message: %.0f MB.", float64(rss0)/1024),
		},
		{
			Name:     fmt.Sprintf("the same fan-out without botdesk: one goroutine writing %.0f B to %d loopback sockets, %d times a second", medBytes, streams, sz.Rate),
			Value:    fmt.Sprintf("%s per write, %s per message", us(floorWrite), ms(floorWrite*time.Duration(streams))),
			Baseline: "—", Ratio: "—",
			Target: "— (context for the rows above)",
			Status: Info,
			Notes: fmt.Sprintf("bench/fanout_floor_linux.go: plain TCP writes of the median event size from one goroutine (no HTTP, no SSE framing, no botdesk), read by an epoll loop like the live row's load client, "+
				"%d rounds: the wall time of each round's writes over the writes; the process's CPU per write, writer and reader together: %s. "+
				"The server above spends %s of CPU per message per stream, everything included (poller, ingest, broker, render, HTTP).", min(200, sz.Messages), us(floorCPU), us(serverPer)),
		},
	}, nil
}

// us formats d in microseconds.
func us(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond)) }

// tokenScanner finds the message tokens in a stream's body as it
// arrives. It calls onReady once the first list event arrived, and
// onToken for each "lat<7 digits>z" token (a token cut by a read border is
// found with the next read: the tail is kept).
type tokenScanner struct {
	onReady func()
	onToken func(int, time.Time)
	ready   bool
	work    []byte
}

func (t *tokenScanner) feed(b []byte, at time.Time) {
	t.work = append(t.work, b...)
	chunk := t.work
	if !t.ready && bytes.Contains(chunk, []byte("event: list")) {
		t.ready = true
		t.onReady()
	}
	rest := chunk
	for {
		i := bytes.Index(rest, []byte("lat"))
		if i < 0 || len(rest)-i < 11 {
			break
		}
		tok := rest[i+3 : i+11]
		if tok[7] == 'z' {
			v := 0
			ok := true
			for _, c := range tok[:7] {
				if c < '0' || c > '9' {
					ok = false
					break
				}
				v = v*10 + int(c-'0')
			}
			if ok {
				t.onToken(v, at)
			}
		}
		rest = rest[i+3:]
	}
	// Keep the tail that may hold the start of a token.
	keep := min(len(chunk), 10)
	t.work = append(t.work[:0], chunk[len(chunk)-keep:]...)
}

// dirtyMB is the page cache waiting to be written back (/proc/meminfo
// Dirty), in MB; 0 if unknown.
func dirtyMB() float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Dirty:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// procCPU is the user+system CPU time the process used so far.
func procCPU(p *proc) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// allSeen reports whether every stream saw every message.
func allSeen(seen [][]time.Time, mu *sync.Mutex) bool {
	mu.Lock()
	defer mu.Unlock()
	for _, s := range seen {
		for _, t := range s {
			if t.IsZero() {
				return false
			}
		}
	}
	return true
}

// waitRows waits until n workbench conversations are stored.
func waitRows(ctx context.Context, path string, n int) error {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM conversations WHERE in_workbench = 1").Scan(&got); err != nil {
			return err
		}
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: live: %d of %d conversations within 30s", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
