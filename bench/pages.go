package bench

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/store"
)

// PageSizes bound the page-throughput scenario.
type PageSizes struct {
	Channels, Conversations, Messages int
	Clients                           int
	Duration                          time.Duration // per measured run
	// ArrivalsPerSecond is the message rate of the run with live traffic.
	ArrivalsPerSecond int
}

// MeasurePages loads the real console (handlers.New over HTTP, signed-in
// admin) seeded with Messages messages in Conversations chats, with
// Clients concurrent closed-loop clients, and compares pages/s with a bare
// Echo handler returning a fixed string served and loaded the same way.
// The baseline runs before and after the pages; the mean is used.
func MeasurePages(ctx context.Context, root, admin string, sz PageSizes) ([]Figure, error) {
	name, target, minRatio, cache := "pages", "≥ 40 % of baseline, p99 < 20 ms", 0.4, "SQLite data_version"
	if admin != "" {
		name, target, minRatio, cache = "pg-pages", "≥ 30 % of baseline, p99 < 20 ms", 0.3, "pg_current_snapshot(), which changes on every commit"
	}
	d, drop, err := newBenchDB(ctx, admin, filepath.Join(root, name))
	if err != nil {
		return nil, err
	}
	defer drop()
	if err := seedDB(ctx, d, seedSpec{Channels: sz.Channels, Conversations: sz.Conversations, Messages: sz.Messages}); err != nil {
		return nil, err
	}
	st, sealer, err := openStoreOn(ctx, d)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	con, err := startConsole(ctx, st, sealer, nil, "")
	if err != nil {
		return nil, err
	}
	defer con.close()

	bare := echo.New()
	bare.HideBanner, bare.HidePort = true, true
	bare.GET("/", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	bareSrv := httptest.NewServer(bare)
	defer bareSrv.Close()

	hc := newLoadClient(sz.Clients)
	maxReq := 2_000_000
	baseline := func() (loadResult, error) {
		return runLoad(ctx, hc, sz.Clients, sz.Duration, maxReq, func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, bareSrv.URL+"/", nil)
		})
	}
	b1, err := baseline()
	if err != nil {
		return nil, err
	}
	var figs []Figure
	results, err := loadPages(ctx, hc, sz, con)
	if err != nil {
		return nil, err
	}
	b2, err := baseline()
	if err != nil {
		return nil, err
	}
	base := (b1.perSecond() + b2.perSecond()) / 2
	for _, p := range pagePaths {
		r := results[p.name]
		ratio := r.perSecond() / base
		figs = append(figs, Figure{
			Name:     fmt.Sprintf("%s page (GET %s) pages/s, %d clients%s", p.name, p.path, sz.Clients, d.suffix()),
			Value:    fmt.Sprintf("%.0f pages/s, p50 %s, p99 %s", r.perSecond(), ms(r.Lat.P50), ms(r.Lat.P99)),
			Baseline: fmt.Sprintf("%.0f req/s bare Echo", base),
			Ratio:    fmt.Sprintf("%.0f %%", ratio*100),
			Target:   target,
			Status:   check(ratio >= minRatio && r.Lat.P99 < 20*time.Millisecond),
			Notes: fmt.Sprintf("%s. full page (not the htmx partial) as a signed-in admin, %d channels, %d workbench conversations, %d messages; "+
				"%d closed-loop clients for %s after a warm-up, %d pages of %d bytes; baseline: bare Echo handler returning \"ok\" on the same "+
				"machine with the same client, before and after: %.0f and %.0f req/s (p99 %s / %s). Reads and rendered lists are cached per "+
				"%s (store/readcache.go); nothing is written during this run, so after the warm-up every load is a cache "+
				"hit: see the two rows below for loads while messages arrive and with the cache off.",
				d.dialect(), sz.Channels, sz.Conversations, sz.Messages, sz.Clients, sz.Duration, r.Requests, r.Bytes,
				b1.perSecond(), b2.perSecond(), ms(b1.Lat.P99), ms(b2.Lat.P99), cache),
		})
	}

	// The same pages while messages arrive: every arrival is a commit that
	// makes every cached read stale.
	live, arrived, err := withArrivals(ctx, d, sz, func() (map[string]loadResult, error) {
		return loadPages(ctx, hc, sz, con)
	})
	if err != nil {
		return nil, err
	}
	// And with the cache off: every load reads the database and renders.
	cold, err := uncachedPages(ctx, d, hc, sz)
	if err != nil {
		return nil, err
	}
	for _, v := range []struct {
		label   string
		results map[string]loadResult
		note    string
	}{
		{fmt.Sprintf("while %d messages/s arrive", sz.ArrivalsPerSecond), live, fmt.Sprintf("Same database and clients while a second "+
			"connection commits %d new messages per second (message row + its conversation bumped, as the ingest writes them; %d "+
			"committed during the two runs), so each commit invalidates every cached read.", sz.ArrivalsPerSecond, arrived)},
		{"read cache off", cold, "Same database and clients, served by a store opened with NoReadCache: every load runs its SQL " +
			"queries and renders the whole page (the figure before the cache was added)."},
	} {
		for _, p := range pagePaths {
			r := v.results[p.name]
			figs = append(figs, Figure{
				Name:     fmt.Sprintf("%s page (GET %s), %s%s", p.name, p.path, v.label, d.suffix()),
				Value:    fmt.Sprintf("%.0f pages/s, p50 %s, p99 %s", r.perSecond(), ms(r.Lat.P50), ms(r.Lat.P99)),
				Baseline: fmt.Sprintf("%.0f req/s bare Echo", base),
				Ratio:    fmt.Sprintf("%.0f %%", r.perSecond()/base*100),
				Target:   "— (context for the row above)",
				Status:   Info,
				Notes:    fmt.Sprintf("%s %d pages of %d bytes in %s.", v.note, r.Requests, r.Bytes, sz.Duration),
			})
		}
	}
	return figs, nil
}

// pagePaths are the two benchmarked pages.
var pagePaths = []struct{ name, path string }{{"workbench", "/workbench"}, {"channel list", "/channels"}}

// loadPages runs the closed-loop load against each page of con in turn.
func loadPages(ctx context.Context, hc *http.Client, sz PageSizes, con *console) (map[string]loadResult, error) {
	results := map[string]loadResult{}
	for _, p := range pagePaths {
		r, err := runLoad(ctx, hc, sz.Clients, sz.Duration, 2_000_000, func(ctx context.Context) (*http.Request, error) {
			return con.get(ctx, p.path)
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.path, err)
		}
		results[p.name] = r
	}
	return results, nil
}

// withArrivals runs fn while another connection to the database d
// commits sz.ArrivalsPerSecond new messages per second, spread over the
// seeded conversations, and returns how many it committed.
func withArrivals[T any](ctx context.Context, d benchDB, sz PageSizes, fn func() (T, error)) (T, int, error) {
	var zero T
	db, err := d.openSeed()
	if err != nil {
		return zero, 0, err
	}
	defer db.Close()
	actx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	var arrived int
	var arriveErr error
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second / time.Duration(max(sz.ArrivalsPerSecond, 1)))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-actx.Done():
				return
			case <-tick.C:
			}
			if arriveErr = arrive(actx, d, db, sz, i); arriveErr != nil {
				if actx.Err() != nil {
					arriveErr = nil
				}
				return
			}
			arrived++
		}
	}()
	out, err := fn()
	stop()
	<-done
	if err == nil {
		err = arriveErr
	}
	return out, arrived, err
}

// arrive commits message i: the row and its conversation's bump.
func arrive(ctx context.Context, d benchDB, db *sql.DB, sz PageSizes, i int) error {
	conv := i % sz.Conversations
	now := time.Now().UTC()
	text := fmt.Sprintf("Live message %d while the pages load", i)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, d.q(`INSERT INTO messages (channel_id, bot_telegram_id, update_id, chat_id, chat_type, telegram_message_id,
		direction, from_id, from_username, from_name, type, text, status, telegram_date, created_at)
		VALUES (?, ?, ?, ?, 'private', ?, 'in', ?, 'live', 'Live customer', 'text', ?, 'received', ?, ?)`),
		channelID(conv%sz.Channels), benchBotID(conv%sz.Channels), 1_000_000_000+i, chatID(conv), 1_000_000+i, chatID(conv), text, now, now); err != nil {
		return fmt.Errorf("bench: arrival: %w", err)
	}
	if _, err := tx.ExecContext(ctx, d.q(`UPDATE conversations SET last_message_at = ?, last_message_text = ?, unread = unread + 1
		WHERE channel_id = ? AND chat_id = ?`), now, text, channelID(conv%sz.Channels), chatID(conv)); err != nil {
		return fmt.Errorf("bench: arrival: %w", err)
	}
	return tx.Commit()
}

// uncachedPages serves the same data directory from a store opened
// without the read cache and loads both pages.
func uncachedPages(ctx context.Context, d benchDB, hc *http.Client, sz PageSizes) (map[string]loadResult, error) {
	cfg := d.config()
	cfg.NoReadCache = true
	st, err := store.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	sealer, err := newSealer()
	if err != nil {
		return nil, err
	}
	con, err := startConsole(ctx, st, sealer, nil, "")
	if err != nil {
		return nil, err
	}
	defer con.close()
	return loadPages(ctx, hc, sz, con)
}
