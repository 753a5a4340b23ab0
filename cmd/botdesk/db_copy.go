package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/botdesk/botdesk/store"
)

// cmdDBCopy is `botdesk db copy --to postgres://…`: the configured SQLite
// database into an empty PostgreSQL one, verified (store.CopyToPostgres).
// Progress goes to stderr, the summary to stdout.
func cmdDBCopy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("db copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, finish := bindConfig(fs)
	to := fs.String("to", "", "the empty PostgreSQL database to copy into (postgres://…)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	// The source is the SQLite file of the data dir, whatever
	// BOTDESK_DATABASE_URL says (it may already name the target).
	cfg.DatabaseURL = ""
	if err := finish(); err != nil {
		return err
	}
	if *to == "" {
		return fmt.Errorf("db copy: --to postgres://… is required")
	}
	if !store.IsPostgresURL(*to) {
		return fmt.Errorf("db copy: --to %s: unsupported scheme; want postgres://…", store.RedactURL(*to))
	}
	bar := &progressBar{w: stderr}
	tables, err := store.CopyToPostgres(ctx, cfg.DataDir, *to, bar.update)
	bar.done()
	if err != nil {
		return err
	}
	var rows int64
	for _, t := range tables {
		fmt.Fprintf(stdout, "%-22s %10d rows  checksum %s  ok\n", t.Name, t.Rows, t.Checksum)
		rows += t.Rows
	}
	fmt.Fprintf(stdout, "copied %d rows of %d tables into %s; every count and checksum verified\n", rows, len(tables), store.RedactURL(*to))
	fmt.Fprintf(stderr, "Next: set BOTDESK_DATABASE_URL to the target and BOTDESK_SECRET_KEY to the key the tokens are encrypted with (the contents of %s unless you already set BOTDESK_SECRET_KEY), then start botdesk serve.\n",
		filepath.Join(cfg.DataDir, store.KeyFileName))
	return nil
}

// progressBar draws one line per table on w, redrawn in place.
type progressBar struct {
	w     io.Writer
	table string
}

func (p *progressBar) update(table string, done, total int64) {
	if table != p.table && p.table != "" {
		fmt.Fprintln(p.w)
	}
	p.table = table
	const width = 30
	filled := width
	if total > 0 {
		filled = int(done * width / total)
	}
	fmt.Fprintf(p.w, "\r%-22s [%s%s] %d/%d", table, strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
}

func (p *progressBar) done() {
	if p.table != "" {
		fmt.Fprintln(p.w)
	}
}
