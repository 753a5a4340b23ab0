// Package pgtest runs a test package's suite on both databases: first on
// SQLite, then once more on PostgreSQL, each test there with a fresh
// database of its own.
//
// A package opts in with
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, migrate)) }
//
// and opens its store with store.Config{DatabaseURL: pgtest.URL(t)}, which
// is empty (SQLite) in the first pass. migrate (may be nil) prepares a
// template database once per pass, typically by opening a store on it, so
// each test's database is a cheap copy of an already migrated one. The PostgreSQL pass re-runs the same
// test binary with the same flags. It uses BOTDESK_TEST_DATABASE_URL (a
// role that may create databases) when set; otherwise it starts a
// throwaway cluster of its own when PostgreSQL's binaries are installed
// (initdb in a temp dir, as the postgres user when run as root, on a free
// loopback port, stopped at the end). Without either it skips the pass
// with one loud line, or fails when BOTDESK_PG_REQUIRED=1 (CI).
//
// BOTDESK_TEST_DIALECT=sqlite or =postgres runs one pass only.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // OpenDB's "pgx"
	_ "github.com/mattn/go-sqlite3"    // OpenDB's "sqlite3"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Environment variables of the test passes.
const (
	EnvURL      = "BOTDESK_TEST_DATABASE_URL"
	EnvRequired = "BOTDESK_PG_REQUIRED"
	EnvDialect  = "BOTDESK_TEST_DIALECT"
	// envPass marks the child process that runs the PostgreSQL pass.
	envPass = "BOTDESK_TEST_PG_PASS"
)

// binDir finds the newest PostgreSQL server binaries Debian installed
// (/usr/lib/postgresql/<major>/bin, 15 or newer), or "".
func binDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	best, bestMajor := "", 0
	for _, d := range dirs {
		major, err := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(d))))
		if err == nil && major >= 15 && major > bestMajor {
			best, bestMajor = filepath.Dir(d), major
		}
	}
	return best
}

// Main runs m on SQLite and then, in a child process, on PostgreSQL, and
// returns the exit code for os.Exit.
func Main(m *testing.M, prepare func(ctx context.Context, url string) error) int {
	if os.Getenv(envPass) != "" {
		templatePrepare = prepare
		code := m.Run() // the PostgreSQL pass itself
		if templateName != "" {
			_ = adminExec(context.Background(), os.Getenv(EnvURL), "DROP DATABASE IF EXISTS "+templateName+" WITH (FORCE)")
		}
		return code
	}
	dialect := os.Getenv(EnvDialect)
	code := 0
	if dialect != "postgres" {
		code = m.Run()
	}
	if dialect == "sqlite" {
		return code
	}
	admin := os.Getenv(EnvURL)
	if admin == "" {
		c, err := StartCluster()
		switch {
		case errors.Is(err, errNoBinaries) && os.Getenv(EnvRequired) != "1":
			fmt.Fprintf(os.Stderr, "pgtest: *** PostgreSQL half SKIPPED: %v; set %s or install PostgreSQL 15 ***\n", err, EnvURL)
			return code
		case err != nil:
			fmt.Fprintf(os.Stderr, "pgtest: PostgreSQL half cannot run: %v\n", err)
			return 1
		}
		defer c.Stop()
		admin = c.URL
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), envPass+"=1", EnvURL+"="+admin)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fmt.Fprintln(os.Stdout, "pgtest: the same tests on PostgreSQL")
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			fmt.Fprintf(os.Stderr, "pgtest: run the PostgreSQL pass: %v\n", err)
		}
		return 1
	}
	return code
}

// Postgres reports whether this process runs the PostgreSQL pass.
func Postgres() bool { return os.Getenv(envPass) != "" }

var seq atomic.Int64

// The template of the PostgreSQL pass: made on first use by the prepare
// func Main got.
var (
	templatePrepare func(ctx context.Context, url string) error
	templateOnce    sync.Once
	templateName    string
	templateErr     error
)

// URL returns "" in the SQLite pass. In the PostgreSQL pass it creates a
// fresh database (a copy of the migrated template when the package has
// one), dropped when t ends, and returns its URL.
func URL(t testing.TB) string {
	t.Helper()
	if !Postgres() {
		return ""
	}
	admin := os.Getenv(EnvURL)
	templateOnce.Do(func() {
		if templatePrepare == nil {
			return
		}
		var u string
		name := fmt.Sprintf("botdesk_template_%d", os.Getpid())
		if u, templateErr = createDatabase(context.Background(), admin, name, ""); templateErr != nil {
			return
		}
		templateName = name
		templateErr = templatePrepare(context.Background(), u)
	})
	if templateErr != nil {
		t.Fatalf("pgtest: prepare the template database: %v", templateErr)
	}
	u, drop, err := newDatabase(context.Background(), admin, templateName)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(drop)
	return u
}

// EmptyURL is URL without the template: a database with no tables (or ""
// in the SQLite pass).
func EmptyURL(t testing.TB) string {
	t.Helper()
	if !Postgres() {
		return ""
	}
	u, drop, err := NewDatabase(context.Background(), os.Getenv(EnvURL))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(drop)
	return u
}

// NewDatabase creates an empty database on the server of admin (a URL
// whose role may create databases) and returns its URL and a func that
// drops it.
func NewDatabase(ctx context.Context, admin string) (string, func(), error) {
	return newDatabase(ctx, admin, "")
}

func newDatabase(ctx context.Context, admin, template string) (string, func(), error) {
	name := fmt.Sprintf("botdesk_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, seq.Add(1))
	u, err := createDatabase(ctx, admin, name, template)
	if err != nil {
		return "", nil, err
	}
	drop := func() {
		// FORCE ends what a test left open (a store it never closed).
		_ = adminExec(context.Background(), admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return u, drop, nil
}

// createDatabase creates name (a copy of template if not empty) and
// returns its URL. FILE_COPY copies the few files of a small database
// instead of logging every page of it, several times faster here.
func createDatabase(ctx context.Context, admin, name, template string) (string, error) {
	q := "CREATE DATABASE " + name + " STRATEGY FILE_COPY"
	if template != "" {
		q += " TEMPLATE " + template
	}
	if err := adminExec(ctx, admin, q); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func adminExec(ctx context.Context, admin, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, sql)
	return err
}

var errNoBinaries = errors.New("no PostgreSQL 15+ server binaries in /usr/lib/postgresql/*/bin")

// Cluster is a throwaway PostgreSQL server.
type Cluster struct {
	// URL connects as the superuser to the postgres database.
	URL  string
	dir  string
	bin  string
	asPG bool
}

// StartCluster initialises and starts a cluster in a temp dir on a free
// loopback port. Durability is off (fsync, full pages): it only lives for
// a test run.
func StartCluster() (*Cluster, error) {
	return startCluster("-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
}

// StartDurableCluster is StartCluster with PostgreSQL's default
// durability (fsync, synchronous commit, full page writes) and its default
// 128 MB of shared buffers, for benchmarks whose figures must mean what a
// production server does.
func StartDurableCluster() (*Cluster, error) { return startCluster("-c shared_buffers=128MB") }

func startCluster(settings string) (*Cluster, error) {
	bin := binDir()
	if bin == "" {
		return nil, errNoBinaries
	}
	dir, err := os.MkdirTemp("", "botdesk-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin, asPG: os.Geteuid() == 0}
	if c.asPG {
		// PostgreSQL refuses to run as root: the cluster belongs to postgres.
		pg, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	data, sock := filepath.Join(dir, "data"), dir
	if out, err := c.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		c.remove()
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		c.remove()
		return nil, err
	}
	// settings come last: a later -c of the same name wins.
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c shared_buffers=32MB -c max_connections=300 %s", port, sock, settings)
	if out, err := c.run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		c.remove()
		return nil, fmt.Errorf("pg_ctl start: %v: %s %s", err, out, log)
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

// Stop stops the server at once and removes its files.
func (c *Cluster) Stop() {
	_, _ = c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	c.remove()
}

func (c *Cluster) remove() { _ = os.RemoveAll(c.dir) }

// run runs one of PostgreSQL's binaries, as postgres when we are root.
func (c *Cluster) run(bin string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, bin)
	var cmd *exec.Cmd
	if c.asPG {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	out, err := cmd.CombinedOutput()
	return []byte(strings.TrimSpace(string(out))), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// OpenDB opens a connection of its own to a test store's database, given
// its Path (a SQLite file, or in the PostgreSQL pass its URL), for tests
// that inspect or poke rows behind the store's back. Pass queries through
// the store's Rebind so ? placeholders work on both.
func OpenDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite3", "file:"+path+"?_busy_timeout=10000&_foreign_keys=on"
	if strings.HasPrefix(path, "postgres://") {
		driver, dsn = "pgx", path // test URLs carry no password
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// OpenGorm is OpenDB through GORM, whose placeholders suit either dialect.
func OpenGorm(t testing.TB, path string) *gorm.DB {
	t.Helper()
	db := OpenDB(t, path)
	var d gorm.Dialector = &sqlite.Dialector{Conn: db}
	if strings.HasPrefix(path, "postgres://") {
		d = postgres.New(postgres.Config{Conn: db})
	}
	g, err := gorm.Open(d, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	return g
}
