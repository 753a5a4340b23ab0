package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sizes is one run's scale: full under `make bench`, tiny in `make test`.
type sizes struct {
	Ingest  IngestSizes
	Assign  AssignSizes // ingest with auto-assignment off and on
	SSE     SSESizes
	Pages   PageSizes
	Webhook WebhookSizes
	RSSBots int
	Startup seedSpec
	Reports ReportSizes
	Live    LiveSizes
	Search  SearchSizes
	HA      FailoverSizes // two real instances on PostgreSQL, one killed each round
}

var fullSizes = sizes{
	Ingest:  IngestSizes{Updates: 20_000, Bots: 4, Chats: 500},
	Assign:  AssignSizes{IngestSizes{Updates: 4_000, Bots: 2, Chats: 500}, 4},
	SSE:     SSESizes{Messages: 5_000, Rate: 1_000, Streams: 4},
	Pages:   PageSizes{Channels: 20, Conversations: 1_000, Messages: 100_000, Clients: 32, Duration: 5 * time.Second, ArrivalsPerSecond: 200},
	Webhook: WebhookSizes{Events: 5_000, Chats: 200},
	RSSBots: 1_000,
	Startup: seedSpec{Channels: 20, Conversations: 1_000, Messages: 1_000_000},
	Reports: ReportSizes{Seed: seedSpec{Channels: 20, Conversations: 50_000, Messages: 1_000_000}, Reports: 200},
	Live:    LiveSizes{Streams: []int{500, 2_000}, Chats: 50, Rate: 100, Messages: 2_000},
	Search:  SearchSizes{Messages: 1_000_000, Conversations: 1_000, Channels: 20, Vocabulary: 5_000, Queries: 600},
	HA:      FailoverSizes{Bots: 4, Rounds: 3},
}

var smokeSizes = sizes{
	Ingest:  IngestSizes{Updates: 300, Bots: 2, Chats: 20},
	Assign:  AssignSizes{IngestSizes{Updates: 100, Bots: 1, Chats: 10}, 1},
	SSE:     SSESizes{Messages: 100, Rate: 1_000, Streams: 2},
	Pages:   PageSizes{Channels: 3, Conversations: 30, Messages: 600, Clients: 4, Duration: 300 * time.Millisecond, ArrivalsPerSecond: 50},
	Webhook: WebhookSizes{Events: 60, Chats: 7},
	RSSBots: 5,
	Startup: seedSpec{Channels: 2, Conversations: 10, Messages: 500},
	Reports: ReportSizes{Seed: seedSpec{Channels: 2, Conversations: 10, Messages: 500}, Reports: 5},
	Live:    LiveSizes{Streams: []int{5}, Chats: 5, Rate: 100, Messages: 30},
	Search:  SearchSizes{Messages: 2_000, Conversations: 20, Channels: 2, Vocabulary: 200, Queries: 30},
	HA:      FailoverSizes{Bots: 2, Rounds: 1},
}

// TestBench runs every scenario. With BOTDESK_BENCH=1 (make bench) it uses
// the full sizes and writes bench/results.md; otherwise it is a smoke test
// with tiny sizes that checks the scenarios still run and asserts nothing
// about timing.
func TestBench(t *testing.T) {
	full := os.Getenv("BOTDESK_BENCH") == "1"
	sz, mode := smokeSizes, "smoke"
	if full {
		sz, mode = fullSizes, "full"
	}
	ctx := context.Background()
	root := t.TempDir()
	started := time.Now()
	var figs []Figure
	// BOTDESK_BENCH_ONLY=ingest,sse runs a subset while working on one
	// figure; results.md is then left alone.
	only := os.Getenv("BOTDESK_BENCH_ONLY")
	run := func(name string, fn func() ([]Figure, error)) {
		t.Helper()
		if only != "" && !strings.Contains(","+only+",", ","+name+",") {
			return
		}
		t0 := time.Now()
		f, err := fn()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			figs = append(figs, Figure{Name: name, Value: "error: " + err.Error(), Status: Miss})
			return
		}
		for _, x := range f {
			t.Logf("%s: %s (baseline %s, ratio %s, target %s) %s", x.Name, x.Value, x.Baseline, x.Ratio, x.Target, x.Status)
			if only != "" { // results.md then goes to a temporary dir
				t.Logf("  notes: %s", x.Notes)
			}
		}
		t.Logf("%s took %s", name, time.Since(t0).Round(time.Millisecond))
		figs = append(figs, f...)
	}
	// The binary is built once for the figures that need it.
	var bin string
	binary := func() (string, error) {
		if bin != "" {
			return bin, nil
		}
		b, err := BuildBinary(ctx, "..", root)
		bin = b
		return b, err
	}
	run("ingest", func() ([]Figure, error) { return MeasureIngest(ctx, root, "", sz.Ingest) })
	run("ingest-assign", func() ([]Figure, error) { return MeasureIngestAssign(ctx, root, sz.Assign) })
	run("sse", func() ([]Figure, error) { return MeasureSSE(ctx, root, sz.SSE) })
	run("pages", func() ([]Figure, error) { return MeasurePages(ctx, root, "", sz.Pages) })
	// The same ingest and pages on PostgreSQL (bench/postgres.go).
	if only == "" || strings.Contains(only, "pg-") {
		admin, how, stop, err := postgresServer(full)
		if err != nil {
			t.Logf("*** PostgreSQL rows not measured: %v ***", err)
			figs = append(figs, Figure{Name: "PostgreSQL rows", Value: "not measured: " + err.Error(), Status: Info})
		} else {
			defer stop()
			figs = append(figs, Figure{Name: "PostgreSQL server of the rows marked PostgreSQL", Value: serverVersion(ctx, admin), Status: Info, Notes: how})
			run("pg-ingest", func() ([]Figure, error) { return MeasureIngest(ctx, root, admin, sz.Ingest) })
			run("pg-pages", func() ([]Figure, error) { return MeasurePages(ctx, root, admin, sz.Pages) })
			run("pg-sse-across", func() ([]Figure, error) { return MeasureSSEAcross(ctx, root, admin, sz.SSE) })
			// High availability: the same ingest split over two instances,
			// and how long a killed instance's bots take to move.
			run("pg-ingest-ha", func() ([]Figure, error) { return MeasureIngestHA(ctx, root, admin, sz.Ingest) })
			run("pg-failover", func() ([]Figure, error) {
				b, err := binary()
				if err != nil {
					return nil, err
				}
				return MeasureFailover(ctx, b, root, admin, sz.HA)
			})
			run("pg-startup", func() ([]Figure, error) {
				b, err := binary()
				if err != nil {
					return nil, err
				}
				return MeasureStartup(ctx, b, root, admin, sz.Startup)
			})
		}
	}
	run("webhook", func() ([]Figure, error) { return MeasureWebhooks(ctx, root, sz.Webhook) })
	run("reports", func() ([]Figure, error) { return MeasureReports(ctx, root, sz.Reports) })
	run("search", func() ([]Figure, error) { return MeasureSearch(ctx, root, sz.Search) })
	run("rss", func() ([]Figure, error) {
		b, err := binary()
		if err != nil {
			return nil, err
		}
		return MeasureRSS(ctx, b, root, sz.RSSBots)
	})
	run("live", func() ([]Figure, error) {
		b, err := binary()
		if err != nil {
			return nil, err
		}
		return MeasureLive(ctx, b, root, sz.Live)
	})
	run("startup", func() ([]Figure, error) {
		b, err := binary()
		if err != nil {
			return nil, err
		}
		return MeasureStartup(ctx, b, root, "", sz.Startup)
	})

	rep := Report{Date: time.Now(), Commit: GitCommit(".."), Machine: ReadMachine(), Mode: mode, Duration: time.Since(started), Figures: figs}
	if b, err := os.ReadFile("tuning.md"); err == nil {
		rep.Extra = string(b)
	}
	md := rep.Markdown()
	out := filepath.Join(root, "results.md")
	if full && only == "" {
		out = "results.md"
	}
	if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md, "| figure |") || len(figs) == 0 {
		t.Fatalf("results table missing:\n%s", md)
	}
	t.Logf("wrote %s", out)
}
