package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrationDir is the dialect's directory in migrationFiles; the two hold
// the same version numbers (store/parity_test.go).
func (s *Store) migrationDir() string {
	if s.pg {
		return "migrations/postgres"
	}
	return "migrations/sqlite"
}

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the numbered files (NNNN_name.sql) of a dialect.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("store: list migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		if !ok || !strings.HasSuffix(name, ".sql") {
			continue
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("store: migration %s: bad number: %w", name, err)
		}
		body, err := fs.ReadFile(fsys, dir+"/"+name)
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", name, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate applies every migration not yet recorded, in version order, each in
// its own transaction together with its version row, so a crash mid-way
// leaves the schema at a known version. Instances starting together take
// turns: on PostgreSQL under a session advisory lock held for the whole
// run, on SQLite under the write lock each migration's transaction takes
// (BEGIN IMMEDIATE); either way a version is re-checked inside its
// transaction, so what another instance applied meanwhile is skipped.
func (s *Store) migrate(ctx context.Context) error {
	migs, err := loadMigrations(migrationFiles, s.migrationDir())
	if err != nil {
		return err
	}
	if !s.pg {
		return s.applyMigrations(s.write.WithContext(ctx), migs)
	}
	// A session lock belongs to one connection: hold one for the run.
	return s.write.WithContext(ctx).Connection(func(db *gorm.DB) error {
		if err := db.Exec("SELECT pg_advisory_lock(?)", int64(migrationLockKey)).Error; err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		defer db.Exec("SELECT pg_advisory_unlock(?)", int64(migrationLockKey))
		return s.applyMigrations(db, migs)
	})
}

// applyMigrations runs the unrecorded migrations on db.
func (s *Store) applyMigrations(db *gorm.DB, migs []migration) error {
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DATETIME NOT NULL)`
	if s.pg {
		create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)`
	}
	if err := db.Exec(create).Error; err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	// Apply every version not yet recorded, not just those above the newest:
	// features land on separate branches with their own numbers, so a data
	// dir may have 0005 applied before 0004 arrives.
	var applied []int
	if err := db.Raw("SELECT version FROM schema_migrations").Scan(&applied).Error; err != nil {
		return fmt.Errorf("store: read schema versions: %w", err)
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[v] = true
	}
	for _, m := range migs {
		if done[m.version] {
			continue
		}
		if err := s.applyMigration(db, m); err != nil {
			return fmt.Errorf("store: apply migration %s: %w", m.name, err)
		}
	}
	return nil
}

// applyMigration runs one migration in its own transaction with its
// version row; a SQLite table rebuild (sqliteRebuilds) runs in the same
// transaction, on one connection with foreign keys off around it.
func (s *Store) applyMigration(db *gorm.DB, m migration) error {
	rebuild := sqliteRebuilds[m.version]
	if s.pg {
		rebuild = nil
	}
	apply := func(db *gorm.DB) error {
		return db.Transaction(func(tx *gorm.DB) error {
			var n int64
			if err := tx.Raw("SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n).Error; err != nil {
				return err
			}
			if n > 0 { // another instance applied it meanwhile
				return nil
			}
			if err := tx.Exec(m.sql).Error; err != nil {
				return err
			}
			if rebuild != nil {
				if err := rebuild(tx); err != nil {
					return err
				}
			}
			return tx.Exec("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)", m.version, m.name, s.now()).Error
		})
	}
	if rebuild == nil {
		return apply(db)
	}
	// PRAGMA foreign_keys is a no-op inside a transaction: set it on the
	// connection first, and back on whatever happens.
	return db.Connection(func(conn *gorm.DB) error {
		if err := conn.Exec("PRAGMA foreign_keys = OFF").Error; err != nil {
			return err
		}
		defer conn.Exec("PRAGMA foreign_keys = ON")
		return apply(conn)
	})
}

// PendingMigrations names the migrations this binary has that the
// database has not recorded (none once Open succeeded, unless the
// database was replaced under a running instance).
func (s *Store) PendingMigrations(ctx context.Context) ([]string, error) {
	migs, err := loadMigrations(migrationFiles, s.migrationDir())
	if err != nil {
		return nil, err
	}
	var applied []int
	if err := s.r(ctx).Raw("SELECT version FROM schema_migrations").Scan(&applied).Error; err != nil {
		return nil, fmt.Errorf("store: read schema versions: %w", err)
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[v] = true
	}
	var pending []string
	for _, m := range migs {
		if !done[m.version] {
			pending = append(pending, m.name)
		}
	}
	return pending, nil
}

// SchemaVersion reports the newest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.r(ctx).Raw("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&v).Error; err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}
