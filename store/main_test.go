package store

import (
	"context"
	"database/sql"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/mattn/go-sqlite3"

	"github.com/botdesk/botdesk/store/pgtest"
)

// TestMain runs the store suite on SQLite, then on PostgreSQL (store/pgtest),
// each test on a copy of a database the real migrations built.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, migrateTemplate)) }

func migrateTemplate(ctx context.Context, url string) error {
	s, err := Open(ctx, Config{DatabaseURL: url})
	if err != nil {
		return err
	}
	return s.Close()
}

// sqliteOnly skips a test of SQLite's own machinery (pragmas, the WAL, its
// query planner) in the PostgreSQL pass, where it has no counterpart.
func sqliteOnly(t testing.TB, why string) {
	t.Helper()
	if pgtest.Postgres() {
		t.Skip("SQLite only: " + why)
	}
}

// externalDB is a connection to the test store's database the store knows
// nothing about (another process: the CLI, an operator's psql or sqlite3).
// Its statements take ? placeholders on both dialects.
func externalDB(t testing.TB, s *Store) func(q string, args ...any) error {
	t.Helper()
	driver, dsn := "sqlite3", "file:"+s.Path()+"?_busy_timeout=10000"
	if s.pg {
		driver, dsn = "pgx", s.Path() // test URLs carry no password
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return func(q string, args ...any) error {
		_, err := db.Exec(s.rebind(q), args...)
		return err
	}
}
