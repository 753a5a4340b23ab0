package bench

import (
	"github.com/botdesk/botdesk/callbacks"

	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram"
	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// IngestSizes bound the ingest scenario.
type IngestSizes struct {
	Updates int // in total, split evenly over the bots
	Bots    int
	Chats   int // distinct private chats the updates come from
}

// ingestText is the text of update i: a realistic short customer message.
func ingestText(i int) string {
	return fmt.Sprintf("Hello, I have a question about my order number %d, can you help?", 100000+i)
}

// MeasureIngest runs the real poller Supervisor against the fake Bot API
// over HTTP, with every update injected up front so each getUpdates returns
// a full batch of 100, and times until the fake holds nothing unconfirmed
// (every batch committed). The baseline writes the same rows (update id,
// message, conversation, outbox event, offset) with raw prepared
// statements, one transaction per 100, into a database opened with the
// store's own settings; it runs before and after the poller and the mean
// is used, to damp drift on a shared machine. A narrower baseline that
// inserts only the message rows is reported alongside.
func MeasureIngest(ctx context.Context, root, admin string, sz IngestSizes) ([]Figure, error) {
	prefix := ""
	if admin != "" {
		prefix = "pg-"
	}
	// Each run on a fresh database of the same kind.
	fresh := func(name string) (benchDB, func(), error) {
		return newBenchDB(ctx, admin, filepath.Join(root, prefix+name))
	}
	var d benchDB
	run := func(name string, fn func(benchDB) (float64, error)) (float64, error) {
		db, drop, err := fresh(name)
		if err != nil {
			return 0, err
		}
		defer drop()
		d = db
		return fn(db)
	}
	same := func(db benchDB) (float64, error) { return sameRowsBaseline(ctx, db, sz) }
	msgs := func(db benchDB) (float64, error) { return rawInsertBaseline(ctx, db, sz) }
	same1, err := run("ingest-same-rows-1", same)
	if err != nil {
		return nil, err
	}
	msg1, err := run("ingest-baseline-1", msgs)
	if err != nil {
		return nil, err
	}
	rate, err := run("ingest-poller", func(db benchDB) (float64, error) { return pollerIngest(ctx, db, sz) })
	if err != nil {
		return nil, err
	}
	msg2, err := run("ingest-baseline-2", msgs)
	if err != nil {
		return nil, err
	}
	same2, err := run("ingest-same-rows-2", same)
	if err != nil {
		return nil, err
	}
	settings := "same DSN (WAL, synchronous=FULL, foreign_keys, BEGIN IMMEDIATE)"
	perUpdate := "per update INSERT ingested_updates, INSERT messages, conversation upsert, INSERT outbox"
	if d.pg() {
		settings = "same PostgreSQL server and settings, one connection through pgx"
		perUpdate = "per batch one multi-row INSERT each into ingested_updates, messages and outbox and one multi-row conversation upsert (a round trip per statement is what costs on PostgreSQL, and the store batches the same way)"
	}
	base, msgBase := (same1+same2)/2, (msg1+msg2)/2
	ratio := rate / base
	return []Figure{{
		Name:     fmt.Sprintf("Telegram updates ingested/s, real poller (%d bot%s) over HTTP, batches of 100%s", sz.Bots, plural(sz.Bots), d.suffix()),
		Value:    fmt.Sprintf("%.0f updates/s", rate),
		Baseline: fmt.Sprintf("%.0f updates/s raw INSERT of the same rows", base),
		Ratio:    fmt.Sprintf("%.0f %%", ratio*100),
		Target:   "≥ 50 % of baseline",
		Status:   check(ratio >= 0.5),
		Notes: fmt.Sprintf("%s. %d private text updates from %d chats, workbench mode \"all\", each update stored with its conversation, "+
			"ingested_updates row and \"mo\" outbox event (store.IngestBatch via telegram.Supervisor → telegramtest over 127.0.0.1). "+
			"Baseline: the same rows written by raw SQL, one transaction per 100, %s: "+
			"%s (real MO payload, made before the clock starts), per batch the bot's offset; runs before and after: %.0f and %.0f updates/s. "+
			"Narrower baseline, the message rows alone (one prepared INSERT INTO messages per update): %.0f and %.0f rows/s, "+
			"the poller is %.0f %% of it.", d.dialect(), sz.Updates, sz.Chats, settings, perUpdate, same1, same2, msg1, msg2, rate/msgBase*100),
	}}, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// rawInsertBaseline returns rows/s for the raw batched insert.
func rawInsertBaseline(ctx context.Context, d benchDB, sz IngestSizes) (float64, error) {
	db, err := openBaseline(ctx, d)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	start := time.Now()
	for lo := 0; lo < sz.Updates; lo += 100 {
		hi := min(lo+100, sz.Updates)
		err := inTx(ctx, db, d.q(baselineMessageSQL), func(stmt *sql.Stmt) error {
			for i := lo; i < hi; i++ {
				if err := execBaselineMessage(ctx, stmt, i, sz, ingestText(i), time.Now().UTC()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("bench: baseline insert: %w", err)
		}
	}
	return float64(sz.Updates) / time.Since(start).Seconds(), nil
}

// pollerIngest returns updates/s through the real Supervisor.
func pollerIngest(ctx context.Context, d benchDB, sz IngestSizes) (float64, error) {
	return pollerIngestWith(ctx, d, sz, nil)
}

// pollerIngestWith is pollerIngest with setup, when set, run on the
// channels before the clock starts (bench/ingest_assign.go).
func pollerIngestWith(ctx context.Context, d benchDB, sz IngestSizes, setup func(context.Context, *store.Store, []string) error) (float64, error) {
	st, sealer, err := openStoreOn(ctx, d)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	rig, err := newIngestRig(ctx, st, sealer, sz.Bots)
	if err != nil {
		return 0, err
	}
	defer rig.close()
	if setup != nil {
		if err := setup(ctx, st, rig.channels); err != nil {
			return 0, err
		}
	}
	rig.inject(sz)
	sup := rig.supervisor(st, sealer)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- sup.Run(rctx) }()
	err = rig.waitConfirmed()
	elapsed := time.Since(start)
	cancel()
	if serr := <-done; err == nil && serr != nil {
		err = fmt.Errorf("bench: ingest: supervisor: %w", serr)
	}
	if err != nil {
		return 0, err
	}
	if err := checkIngested(ctx, st, sz); err != nil {
		return 0, err
	}
	return float64(sz.Updates) / elapsed.Seconds(), nil
}

// ingestRig is an ingest run's fake Bot API and the bots connected to it.
type ingestRig struct {
	fake     *telegramtest.Server
	url      string
	bots     []int64
	channels []string
}

// newIngestRig starts the fake and connects n bench bots through st, each
// in its own channel with the workbench on for every message.
func newIngestRig(ctx context.Context, st *store.Store, sealer *store.Sealer, n int) (*ingestRig, error) {
	r := &ingestRig{fake: telegramtest.New(), bots: make([]int64, n), channels: make([]string, n)}
	r.url = r.fake.Start()
	for b := range n {
		var err error
		if r.channels[b], r.bots[b], err = connectBot(ctx, st, sealer, r.fake, b, models.WorkbenchAll); err != nil {
			r.close()
			return nil, err
		}
	}
	return r, nil
}

func (r *ingestRig) close() { r.fake.Close() }

// inject queues every update of the run on the fake, round-robin over
// the bots.
func (r *ingestRig) inject(sz IngestSizes) {
	for i := 0; i < sz.Updates; i++ {
		r.fake.Inject(r.bots[i%len(r.bots)], telegramtest.PrivateText(newUser(i%sz.Chats), ingestText(i)))
	}
}

// supervisor is a real poller Supervisor on st against the fake.
func (r *ingestRig) supervisor(st *store.Store, sealer *store.Sealer) *telegram.Supervisor {
	return telegram.NewSupervisor(telegram.SupervisorConfig{Events: callbacks.Payloads{}, Store: st, Sealer: sealer, APIBase: r.url, PollTimeout: 2 * time.Second})
}

// waitConfirmed returns once the fake holds no unconfirmed update: every
// batch was committed and its offset asked for.
func (r *ingestRig) waitConfirmed() error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		left := 0
		for _, b := range r.bots {
			left += r.fake.Pending(b)
		}
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: ingest: %d updates still unconfirmed after 3 minutes", left)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// checkIngested checks that every update is a stored message, once: each
// is a new text message, so a replay stored twice or a lost one shows.
func checkIngested(ctx context.Context, st *store.Store, sz IngestSizes) error {
	g, err := st.Gauges(ctx)
	if err != nil {
		return err
	}
	if g.Messages != int64(sz.Updates) {
		return fmt.Errorf("bench: ingest: %d messages stored, want %d", g.Messages, sz.Updates)
	}
	return nil
}
