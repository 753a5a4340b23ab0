package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver of the PostgreSQL rows

	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/store/pgtest"
)

// The PostgreSQL rows: the ingest and page scenarios run a second time on
// PostgreSQL, beside the SQLite rows, in the same run on the same machine.
// The server is BOTDESK_BENCH_DATABASE_URL (a role that may create
// databases) or a throwaway cluster started from Debian's binaries with
// PostgreSQL's default durability (fsync and synchronous commit on). Each
// scenario gets a fresh database; the baselines write to the same server.

// EnvBenchURL names the PostgreSQL server of the bench's PostgreSQL rows.
const EnvBenchURL = "BOTDESK_BENCH_DATABASE_URL"

// postgresServer returns the admin URL of the server for the PostgreSQL
// rows, how it was found, and a stop func. durable (make bench) starts the
// throwaway cluster with PostgreSQL's default durability; the smoke run in
// make test only checks the scenarios run and takes the test cluster
// (fsync off), whose CREATE DATABASE checkpoints cost nothing.
func postgresServer(durable bool) (admin, how string, stop func(), err error) {
	if u := os.Getenv(EnvBenchURL); u != "" {
		return u, EnvBenchURL, func() {}, nil
	}
	start, how := pgtest.StartCluster, "a throwaway PostgreSQL test cluster on 127.0.0.1 (fsync off: smoke run)"
	if durable {
		start, how = pgtest.StartDurableCluster, "a throwaway PostgreSQL cluster on 127.0.0.1 started for the run, default durability (fsync, synchronous_commit, full_page_writes on), shared_buffers 128 MB, client and server on the same 2 CPUs"
	}
	c, err := start()
	if err != nil {
		return "", "", func() {}, err
	}
	return c.URL, how, c.Stop, nil
}

// benchDB is one scenario's database: a SQLite file in a data dir, or a
// fresh PostgreSQL database.
type benchDB struct {
	dir  string // the data dir
	path string // the SQLite file ("" on PostgreSQL)
	url  string // the PostgreSQL database ("" on SQLite)
}

// newBenchDB migrates a fresh database for a scenario: SQLite in dir when
// admin is empty, else a new database on admin's server (dropped by the
// returned func).
func newBenchDB(ctx context.Context, admin, dir string) (benchDB, func(), error) {
	if admin == "" {
		path, err := migrate(ctx, dir)
		return benchDB{dir: dir, path: path}, func() {}, err
	}
	url, drop, err := pgtest.NewDatabase(ctx, admin)
	if err != nil {
		return benchDB{}, nil, fmt.Errorf("bench: create database: %w", err)
	}
	st, err := store.Open(ctx, store.Config{DataDir: dir, DatabaseURL: url})
	if err != nil {
		drop()
		return benchDB{}, nil, fmt.Errorf("bench: migrate: %w", err)
	}
	if err := st.Close(); err != nil {
		drop()
		return benchDB{}, nil, err
	}
	return benchDB{dir: dir, url: url}, drop, nil
}

func (d benchDB) pg() bool { return d.url != "" }

// config is the store configuration that opens d.
func (d benchDB) config() store.Config { return store.Config{DataDir: d.dir, DatabaseURL: d.url} }

// dialect names the database in figure names and notes.
func (d benchDB) dialect() string {
	if d.pg() {
		return "PostgreSQL"
	}
	return "SQLite"
}

// suffix marks the PostgreSQL rows' names.
func (d benchDB) suffix() string {
	if d.pg() {
		return " — PostgreSQL"
	}
	return ""
}

// openWriter opens d with the store's writer settings (SQLite: WAL,
// synchronous=FULL, BEGIN IMMEDIATE; PostgreSQL: the server's), one
// connection.
func (d benchDB) openWriter() (*sql.DB, error) {
	driver, dsn := "sqlite3", storeDSN(d.path)
	if d.pg() {
		driver, dsn = "pgx", d.url
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// openSeed opens d for bulk seeding (on SQLite without synchronous
// writes; PostgreSQL's settings are the server's).
func (d benchDB) openSeed() (*sql.DB, error) {
	if !d.pg() {
		return openSeed(d.path)
	}
	return d.openWriter()
}

// q rewrites ? placeholders as PostgreSQL's $1, $2, … (none of the
// bench's statements has a ? inside a string literal).
func (d benchDB) q(s string) string {
	if !d.pg() {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// openStoreOn opens a real store on d and the sealer of benchKey.
func openStoreOn(ctx context.Context, d benchDB) (*store.Store, *store.Sealer, error) {
	st, err := store.Open(ctx, d.config())
	if err != nil {
		return nil, nil, err
	}
	sealer, err := newSealer()
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return st, sealer, nil
}

// serverVersion is the server's "PostgreSQL 15.x" line for the report.
func serverVersion(ctx context.Context, admin string) string {
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "unknown"
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "unknown: " + err.Error()
	}
	return "PostgreSQL " + v
}
