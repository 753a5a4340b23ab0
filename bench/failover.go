package bench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// FailoverSizes bound the failover scenario.
type FailoverSizes struct {
	Bots   int // spread over the two instances, so even
	Rounds int // kills, each followed by a restart of the killed instance
}

// failoverBound is how long a round may take before the run gives up: the
// target is 20 s, and a miss should still be measured.
const failoverBound = 90 * time.Second

// MeasureFailover starts two real `botdesk serve` processes (ids a and b)
// on one fresh PostgreSQL database of admin's server, with the fake Bot
// API over HTTP and sz.Bots bots, and waits until each holds half of
// them. Each round kills the owner of the first bot with SIGKILL, injects
// one update into each bot it held, and times from the kill until the
// survivor stored every one of them (an ingested_updates row); then the
// killed instance starts again under its id and the bots spread again.
func MeasureFailover(ctx context.Context, bin, root, admin string, sz FailoverSizes) ([]Figure, error) {
	if sz.Bots%2 != 0 || sz.Bots == 0 {
		return nil, fmt.Errorf("bench: failover: %d bots do not split over two instances", sz.Bots)
	}
	dir := filepath.Join(root, "pg-failover")
	d, drop, err := newBenchDB(ctx, admin, dir)
	if err != nil {
		return nil, err
	}
	defer drop()
	if err := os.MkdirAll(dir, 0o700); err != nil { // the instances' data dir and logs
		return nil, err
	}
	fake := telegramtest.New()
	url := fake.Start()
	defer fake.Close()
	bots, err := connectBots(ctx, d, fake, sz.Bots)
	if err != nil {
		return nil, err
	}
	db, err := d.openWriter()
	if err != nil {
		return nil, err
	}
	defer db.Close()

	c := &cluster{bin: bin, dir: dir, tgURL: url, db: db, url: d.url, procs: map[string]*proc{}}
	defer c.stop()
	for _, id := range []string{"a", "b"} {
		if err := c.start(id); err != nil {
			return nil, err
		}
	}
	balanced := func() (bool, error) {
		per, err := c.perOwner()
		if err != nil {
			return false, err
		}
		return per["a"] == sz.Bots/2 && per["b"] == sz.Bots/2, nil
	}
	if err := c.waitFor("the bots to spread over both instances", time.Minute, balanced); err != nil {
		return nil, err
	}

	var times []time.Duration
	var notes []string
	for round := range sz.Rounds {
		owners, err := c.owners()
		if err != nil {
			return nil, err
		}
		victim := owners[bots[0]]
		survivor := map[string]string{"a": "b", "b": "a"}[victim]
		var theirs []int64
		for bot, o := range owners {
			if o == victim {
				theirs = append(theirs, bot)
			}
		}
		sort.Slice(theirs, func(i, j int) bool { return theirs[i] < theirs[j] })
		// Balance is seen just after a lease turn; a kill at a random
		// moment of the turn samples the whole window instead of its
		// middle.
		time.Sleep(rand.N(store.DefaultHeartbeat / 2))
		killed := time.Now()
		c.procs[victim].kill()
		marks := map[int64]int{}
		for _, bot := range theirs {
			u := fake.Inject(bot, telegramtest.PrivateText(newUser(round), fmt.Sprintf("after the kill of round %d", round)))
			marks[bot] = u.UpdateID
		}
		err = c.waitFor(fmt.Sprintf("%s to store the updates of %s's bots", survivor, victim), failoverBound, func() (bool, error) {
			for _, bot := range theirs {
				var n int
				if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM ingested_updates WHERE bot_telegram_id = $1 AND update_id = $2",
					bot, marks[bot]).Scan(&n); err != nil || n == 0 {
					return false, err
				}
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
		took := time.Since(killed)
		times = append(times, took)
		// The victim's last heartbeat is its last lease turn: its leases
		// ran out DefaultLeaseTTL after it, and the rest is the survivor's.
		var beat int64
		if err := db.QueryRowContext(ctx, "SELECT heartbeat_at FROM instances WHERE id = $1", victim).Scan(&beat); err != nil {
			return nil, fmt.Errorf("bench: failover: last heartbeat of %s: %w", victim, err)
		}
		after := time.UnixMilli(beat).Add(store.DefaultLeaseTTL)
		notes = append(notes, fmt.Sprintf("round %d: %s killed %.1f s after its last lease turn, its %d bots' updates stored by %s after %.1f s, %.2f s after its leases expired",
			round+1, victim, killed.Sub(time.UnixMilli(beat)).Seconds(), len(theirs), survivor, took.Seconds(), killed.Add(took).Sub(after).Seconds()))
		if round == sz.Rounds-1 {
			break
		}
		// The restart too at a random moment of the survivor's turn, so
		// the two instances' turns are not always in the same phase.
		time.Sleep(rand.N(store.DefaultHeartbeat / 2))
		if err := c.start(victim); err != nil {
			return nil, err
		}
		if err := c.waitFor("the bots to spread again", time.Minute, balanced); err != nil {
			return nil, err
		}
	}
	worst := summarize(times).Max
	return []Figure{{
		Name:     fmt.Sprintf("failover time: kill -9 of one of two instances → its bots' next updates stored by the other (%d bots) — PostgreSQL", sz.Bots),
		Value:    fmt.Sprintf("%.1f s (worst of %d)", worst.Seconds(), len(times)),
		Baseline: "—",
		Ratio:    "—",
		Target:   "< 20 s",
		Status:   check(worst < 20*time.Second),
		Notes: fmt.Sprintf("Two real botdesk serve processes (BOTDESK_INSTANCE_ID a and b) on one PostgreSQL database, the fake Bot API over 127.0.0.1, "+
			"%d bots spread %d and %d by their leases (bot_leases). Each round kills the owner of the first bot with SIGKILL at a random moment of its lease turn, injects one update "+
			"into each bot it held and times from the kill until every one is an ingested_updates row; then the killed instance starts again under its id and the "+
			"bots spread again before the next round. %s. With the default lease timing (a lease turn every %s, leases and heartbeats "+
			"expiring %s after the last turn, the survivor woken at that expiry) the survivor takes the bots %s to %s after the kill, plus the "+
			"poller's first getUpdates and ingest.",
			sz.Bots, sz.Bots/2, sz.Bots/2, strings.Join(notes, "; "), store.DefaultHeartbeat/2, store.DefaultLeaseTTL,
			store.DefaultLeaseTTL-store.DefaultHeartbeat/2, store.DefaultLeaseTTL),
	}}, nil
}

// connectBots connects n bench bots to d through a store that is closed
// again before the instances start.
func connectBots(ctx context.Context, d benchDB, fake *telegramtest.Server, n int) ([]int64, error) {
	st, sealer, err := openStoreOn(ctx, d)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	bots := make([]int64, n)
	for i := range bots {
		if _, bots[i], err = connectBot(ctx, st, sealer, fake, i, models.WorkbenchOff); err != nil {
			return nil, err
		}
	}
	return bots, nil
}

// cluster is the failover scenario's botdesk processes by instance id.
type cluster struct {
	bin, dir, tgURL, url string
	db                   *sql.DB
	procs                map[string]*proc
	started              int // processes started, for their log names
}

// start starts the instance id and waits for its /healthz. A port picked
// and freed may be taken before serve binds it; then serve exits and
// another port is tried.
func (c *cluster) start(id string) error {
	for attempt := 0; ; attempt++ {
		c.started++
		p, err := startServe(c.bin, c.dir, c.tgURL, filepath.Join(c.dir, fmt.Sprintf("serve-%s-%d.log", id, c.started)),
			"BOTDESK_DATABASE_URL="+c.url, "BOTDESK_INSTANCE_ID="+id)
		if err != nil {
			return err
		}
		if _, err = p.waitHealthy(30 * time.Second); err == nil {
			c.procs[id] = p
			return nil
		}
		p.stop()
		if attempt == 3 || !strings.Contains(p.logTail(), "address already in use") {
			return fmt.Errorf("bench: failover: instance %s: %w", id, err)
		}
	}
}

// stop ends every instance still running.
func (c *cluster) stop() {
	for _, p := range c.procs {
		p.stop()
	}
}

// owners maps each bot to the instance holding a live lease on it.
func (c *cluster) owners() (map[int64]string, error) {
	rows, err := c.db.Query("SELECT bot_telegram_id, owner_id FROM bot_leases WHERE owner_id <> '' AND expires_at > $1", time.Now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("bench: failover: leases: %w", err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var bot int64
		var owner string
		if err := rows.Scan(&bot, &owner); err != nil {
			return nil, fmt.Errorf("bench: failover: leases: %w", err)
		}
		out[bot] = owner
	}
	return out, rows.Err()
}

// perOwner counts the bots each instance holds.
func (c *cluster) perOwner() (map[string]int, error) {
	owners, err := c.owners()
	per := map[string]int{}
	for _, o := range owners {
		per[o]++
	}
	return per, err
}

// waitFor polls cond every 20 ms until it holds, fails, or bound passes.
func (c *cluster) waitFor(what string, bound time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(bound)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("bench: failover: waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			per, _ := c.perOwner()
			return fmt.Errorf("bench: failover: gave up after %s waiting for %s; bots per instance %v", bound, what, per)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL, as a power loss would, and waits
// until it is gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}
