package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"time"

	"github.com/labstack/echo/v4"
)

// PageSizes bound the page-throughput scenario.
type PageSizes struct {
	Channels, Conversations, Messages int
	Clients                           int
	Duration                          time.Duration // per measured run
}

// MeasurePages loads the real console (handlers.New over HTTP, signed-in
// admin) seeded with Messages messages in Conversations chats, with
// Clients concurrent closed-loop clients, and compares pages/s with a bare
// Echo handler returning a fixed string served and loaded the same way.
// The baseline runs before and after the pages; the mean is used.
func MeasurePages(ctx context.Context, root string, sz PageSizes) ([]Figure, error) {
	dir := filepath.Join(root, "pages")
	path, err := migrate(ctx, dir)
	if err != nil {
		return nil, err
	}
	if err := seedWorkspace(ctx, path, seedSpec{Channels: sz.Channels, Conversations: sz.Conversations, Messages: sz.Messages}); err != nil {
		return nil, err
	}
	st, sealer, err := openStore(ctx, dir)
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
	results := map[string]loadResult{}
	for _, p := range []struct{ name, path string }{{"workbench", "/workbench"}, {"channel list", "/channels"}} {
		r, err := runLoad(ctx, hc, sz.Clients, sz.Duration, maxReq, func(ctx context.Context) (*http.Request, error) {
			return con.get(ctx, p.path)
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.path, err)
		}
		results[p.name] = r
	}
	b2, err := baseline()
	if err != nil {
		return nil, err
	}
	base := (b1.perSecond() + b2.perSecond()) / 2
	for _, p := range []struct{ name, path string }{{"workbench", "/workbench"}, {"channel list", "/channels"}} {
		r := results[p.name]
		ratio := r.perSecond() / base
		figs = append(figs, Figure{
			Name:     fmt.Sprintf("%s page (GET %s) pages/s, %d clients", p.name, p.path, sz.Clients),
			Value:    fmt.Sprintf("%.0f pages/s, p50 %s, p99 %s", r.perSecond(), ms(r.Lat.P50), ms(r.Lat.P99)),
			Baseline: fmt.Sprintf("%.0f req/s bare Echo", base),
			Ratio:    fmt.Sprintf("%.0f %%", ratio*100),
			Target:   "≥ 40 % of baseline, p99 < 20 ms",
			Status:   check(ratio >= 0.4 && r.Lat.P99 < 20*time.Millisecond),
			Notes: fmt.Sprintf("full page (not the htmx partial) as a signed-in admin, %d channels, %d workbench conversations, %d messages; "+
				"%d closed-loop clients for %s after a warm-up, %d pages of %d bytes; baseline: bare Echo handler returning \"ok\" on the same "+
				"machine with the same client, before and after: %.0f and %.0f req/s (p99 %s / %s).",
				sz.Channels, sz.Conversations, sz.Messages, sz.Clients, sz.Duration, r.Requests, r.Bytes,
				b1.perSecond(), b2.perSecond(), ms(b1.Lat.P99), ms(b2.Lat.P99)),
		})
	}
	return figs, nil
}
