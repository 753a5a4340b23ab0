// Package store owns the database: opening SQLite with the pragmas botdesk
// relies on, applying the embedded versioned migrations, and every query the
// rest of the program makes.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/botdesk/botdesk/models"
)

// Sentinel errors for the expected cases callers branch on.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("already exists")
	ErrForbidden = errors.New("forbidden")
)

// Config says where the database lives.
type Config struct {
	// DataDir holds the SQLite file and the key file; created 0700.
	DataDir string
	// DatabaseURL is empty for SQLite in DataDir, or postgres://… for
	// PostgreSQL 15 or newer (store/postgres.go).
	DatabaseURL string
	// PasswordCost is the argon2id cost for new password hashes; zero means
	// models.DefaultPasswordCost(). Only tests lower it.
	PasswordCost models.PasswordCost
	// NoReadCache turns the per-data-version read cache off (store/readcache.go):
	// every read goes to SQLite. The benchmarks use it to report the uncached cost.
	NoReadCache bool
	// SessionMaxAge is the absolute lifetime of a session, however active;
	// zero means DefaultSessionMaxAge.
	SessionMaxAge time.Duration
	// Clock replaces the wall clock; nil means time.Now. Tests use it to
	// hold time still where throttling delays would otherwise pass.
	Clock func() time.Time
	// InstanceID names this process among the instances sharing the
	// database (BOTDESK_INSTANCE_ID); empty means NewInstanceID().
	InstanceID string
}

// Store is the handle to the database. Writes go through a single
// connection (SQLite allows one writer; queueing in Go beats SQLITE_BUSY),
// reads through a pool.
type Store struct {
	write *gorm.DB
	read  *gorm.DB
	path  string
	// pg is true on PostgreSQL: one pool serves reads and writes, and the
	// dialect's differences are switched on it (store/postgres.go).
	pg  bool
	now func() time.Time
	hub *Hub
	// sessionHub carries SessionChange only (store/sessions.go).
	sessionHub *Hub
	cost       models.PasswordCost
	// maxAge is the absolute session lifetime (Config.SessionMaxAge).
	maxAge time.Duration

	// ingestGroup is IngestBatch's group commit (store/ingest_group.go).
	ingestGroup ingestCommitter

	// ingestStmts are IngestBatch's prepared statements (store/ingest.go).
	ingestStmts stmtCache
	// rebound memoises the ingest's statements with PostgreSQL's
	// placeholders (store/postgres.go).
	rebound sync.Map
	// cache memoises page-load reads per data version (store/readcache.go).
	cache *readCache
	// writes counts the writes started (store/pagescope.go).
	writes atomic.Uint64
	// presenceAt is when this instance last wrote each user's seen_at
	// (store/presence.go).
	presenceMu sync.Mutex
	presenceAt map[int64]time.Time
	// instance is the id leases and claims are made under (store/leases.go).
	instance string
	// feed carries changes to and from the other instances; nil on SQLite
	// (store/feed.go).
	feed *feed
	// checkpoints copies SQLite's WAL into the file in the background; nil
	// on PostgreSQL (store/wal.go).
	checkpoints *checkpointer
}

// DBFileName is the SQLite file inside the data dir.
const DBFileName = "botdesk.db"

// Open opens the database cfg names (SQLite in the data dir, or
// PostgreSQL) and migrates it.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.DatabaseURL != "" {
		return openPostgresStore(ctx, cfg)
	}
	return openSQLite(ctx, cfg)
}

// gormConfig is the GORM set-up both dialects share. Each pool gets its
// own Config: GORM keeps the connection pool and the prepared-statement
// cache in it, and they must not be shared.
func gormConfig() *gorm.Config {
	return &gorm.Config{Logger: logger.Discard, NowFunc: utcNow, TranslateError: true,
		PrepareStmtMaxSize: 256, PrepareStmtTTL: time.Hour}
}

// utcNow is the store's clock: UTC, cut to the microsecond PostgreSQL
// keeps, so a time read back equals the one written on both dialects.
func utcNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// newStore fills in what both dialects share.
func newStore(cfg Config, write, read *gorm.DB, path string, pg bool) *Store {
	s := &Store{write: write, read: read, path: path, pg: pg, now: utcNow, hub: NewHub(), sessionHub: NewHub(), cost: cfg.PasswordCost}
	if cfg.Clock != nil {
		s.now = func() time.Time { return cfg.Clock().UTC().Truncate(time.Microsecond) }
	}
	if s.maxAge = cfg.SessionMaxAge; s.maxAge <= 0 {
		s.maxAge = DefaultSessionMaxAge
	}
	if s.cost == (models.PasswordCost{}) {
		s.cost = models.DefaultPasswordCost()
	}
	if s.instance = cfg.InstanceID; s.instance == "" {
		s.instance = NewInstanceID()
	}
	return s
}

// openPostgresStore opens PostgreSQL: one pool for reads and writes, the
// migrations under an advisory lock, and the read cache probing the
// server's snapshot.
func openPostgresStore(ctx context.Context, cfg Config) (*Store, error) {
	db, err := openPostgres(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	s := newStore(cfg, db, db, RedactURL(cfg.DatabaseURL), true)
	if err := s.migrate(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	if !cfg.NoReadCache {
		pool, err := db.DB()
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("store: pool: %w", err)
		}
		s.cache = newPostgresReadCache(pool)
	}
	if err := s.startFeed(ctx, cfg.DatabaseURL); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// openSQLite creates the data dir if needed, opens the SQLite file and
// migrates it.
func openSQLite(ctx context.Context, cfg Config) (*Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	path := filepath.Join(cfg.DataDir, DBFileName)
	// Create the file 0600 before SQLite does, so it never exists world-readable.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create db file: %w", err)
	}
	_ = f.Close()
	_ = os.Chmod(path, 0o600)

	// synchronous=FULL: ingest commits an offset that Telegram then forgets,
	// so a commit must survive power loss. _txlock=immediate takes the write
	// lock at BEGIN, avoiding deadlocked read-to-write upgrades.
	base := "file:" + path + "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=FULL"
	write, err := gorm.Open(sqlite.Open(base+"&_txlock=immediate"), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("store: open writer: %w", err)
	}
	wdb, err := write.DB()
	if err != nil {
		return nil, fmt.Errorf("store: writer pool: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)

	read, err := gorm.Open(sqlite.Open(base+"&_query_only=on"), gormConfig())
	if err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("store: open reader: %w", err)
	}
	rdb, err := read.DB()
	if err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("store: reader pool: %w", err)
	}
	rdb.SetMaxOpenConns(8)
	rdb.SetMaxIdleConns(8)

	s := newStore(cfg, write, read, path, false)
	if err := s.migrate(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	if err := s.tuneWriter(ctx); err != nil { // store/wal.go
		_ = s.Close()
		return nil, err
	}
	if s.checkpoints, err = startCheckpointer(base, checkpointEvery); err != nil {
		_ = s.Close()
		return nil, err
	}
	// Reads outside a transaction go through a cache of prepared
	// statements: preparing was ~15% of the CPU of a page load
	// (bench/results.md). Not the writer: inside transactions GORM
	// re-binds each cached statement to the tx, which measured slower
	// than preparing afresh. The LRU bound keeps queries with variable IN
	// lists from piling up. (On PostgreSQL pgx caches the statements of
	// each connection itself.)
	s.read = s.read.Session(&gorm.Session{PrepareStmt: true})
	if !cfg.NoReadCache {
		if s.cache, err = newReadCache(base + "&_query_only=on"); err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Hub is where committed changes are announced to live views. Publish
// only after the transaction that made the change has committed.
func (s *Store) Hub() *Hub { return s.hub }

// Path is the SQLite file, or the PostgreSQL URL without its password,
// for tests and diagnostics.
func (s *Store) Path() string { return s.path }

// Close closes the pools.
func (s *Store) Close() error {
	s.feed.stop()
	s.ingestStmts.close()
	errs := []error{s.cache.close(), s.checkpoints.stop()}
	pools := []*gorm.DB{s.read, s.write}
	if s.pg {
		pools = pools[1:] // one pool for both
	}
	for _, g := range pools {
		if db, err := g.DB(); err == nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// Ping checks the database answers, for /healthz.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.read.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// IntegrityCheck runs PRAGMA integrity_check and returns its verdict
// ("ok" on PostgreSQL, which checks its pages itself).
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	if s.pg {
		return "ok", s.Ping(ctx)
	}
	var res string
	if err := s.read.WithContext(ctx).Raw("PRAGMA integrity_check").Scan(&res).Error; err != nil {
		return "", fmt.Errorf("store: integrity check: %w", err)
	}
	return res, nil
}

type txKey struct{}

// txHooksKey holds the outermost transaction's functions to run after its
// commit, and its changes for the other instances.
type txHooksKey struct{}

type txHooks struct {
	// local is published after the commit, each hub's changes in one
	// PublishAll.
	local []hubBatch
	// changes go to the other instances before the commit (notifyFeed).
	changes []Change
}

// hubBatch is a transaction's changes for one hub, in the order made.
type hubBatch struct {
	hub *Hub
	cs  []Change
}

// add puts c in its hub's batch (a store has two hubs at most).
func (h *txHooks) add(hub *Hub, c Change) {
	for i := range h.local {
		if h.local[i].hub == hub {
			h.local[i].cs = append(h.local[i].cs, c)
			return
		}
	}
	h.local = append(h.local, hubBatch{hub: hub, cs: []Change{c}})
}

// WithTx runs fn in one write transaction. Nested calls join the outer
// transaction, so store functions can be composed freely. On PostgreSQL a
// transaction that fails on a serialization failure or a deadlock is run
// again from the start (fn must not keep state from a failed attempt
// outside the database), a few times at most.
func (s *Store) WithTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	run := func() error {
		s.writeStarted()
		hooks := &txHooks{}
		err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := fn(context.WithValue(context.WithValue(ctx, txKey{}, tx), txHooksKey{}, hooks)); err != nil {
				return err
			}
			// In the transaction: delivered at its commit, never without it.
			return s.notifyFeed(tx, hooks.changes)
		})
		if err == nil {
			for _, b := range hooks.local {
				b.hub.PublishAll(b.cs)
			}
		}
		return err
	}
	if !s.pg {
		return run()
	}
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		if err = run(); err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt*attempt) * time.Millisecond)
	}
	return err
}

// publish announces c on the hub once the change is committed (at once
// outside a transaction; never if it rolls back), so live views told of a
// change can already read it; and to the other instances (store/feed.go).
func (s *Store) publish(ctx context.Context, c Change) { s.announce(ctx, s.hub, c) }

// Publish is publish for the other packages: called inside a WithTx, the
// change is announced when (and if) that transaction commits; outside
// one, at once (the change it describes must be committed already).
func (s *Store) Publish(ctx context.Context, c Change) { s.announce(ctx, s.hub, c) }

// announce publishes c on hub after the commit of ctx's transaction and
// sends it to the other instances in that transaction (outside one: at
// once, in a statement of its own).
func (s *Store) announce(ctx context.Context, hub *Hub, c Change) {
	if h, ok := ctx.Value(txHooksKey{}).(*txHooks); ok {
		h.add(hub, c)
		h.changes = append(h.changes, c)
		return
	}
	hub.Publish(c)
	s.writeStarted()
	if err := s.notifyFeed(s.write.WithContext(context.WithoutCancel(ctx)), []Change{c}); err != nil {
		// The change is committed; other instances show it at their next
		// change or resync. Counted, nothing to hand back.
		s.feed.notifyErrors.Add(1)
	}
}

// savepoint runs fn inside the current transaction under a savepoint and,
// when fn fails, rolls back to it: the transaction stays usable after an
// expected failure (a duplicate key that the caller then explains with
// another query). PostgreSQL refuses every statement after an error until
// the transaction or a savepoint is rolled back; SQLite does not, but the
// same code runs on both. Outside a transaction fn runs as it is.
func (s *Store) savepoint(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	tx, ok := ctx.Value(txKey{}).(*gorm.DB)
	if !ok {
		return fn(ctx)
	}
	if err := tx.SavePoint(name).Error; err != nil {
		return fmt.Errorf("store: savepoint %s: %w", name, err)
	}
	if err := fn(ctx); err != nil {
		if rerr := tx.RollbackTo(name).Error; rerr != nil {
			return errors.Join(err, fmt.Errorf("store: roll back to %s: %w", name, rerr))
		}
		return err
	}
	return nil
}

// w returns the handle for writes: the current transaction if any.
func (s *Store) w(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx
	}
	s.writeStarted()
	return s.write.WithContext(ctx)
}

// r returns the handle for reads: inside a transaction reads must see its
// own writes, so they go through it too.
func (s *Store) r(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx
	}
	return s.read.WithContext(ctx)
}

// eachRow calls scan for every row of rows, stopping at its first error,
// and closes rows. It returns scan's error or the iteration's.
func eachRow(rows *sql.Rows, scan func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// notFound maps gorm's not-found to ErrNotFound with context.
func notFound(what string, err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("store: %s: %w", what, ErrConflict)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// Snapshot writes a consistent copy of the database to path (which must
// not exist) with VACUUM INTO: one read transaction, so it sees one
// committed state and never blocks the writer of a running server.
func (s *Store) Snapshot(ctx context.Context, path string) error {
	if s.pg {
		return errors.New("store: snapshot: PostgreSQL is backed up with pg_dump")
	}
	if err := s.write.WithContext(ctx).Exec("VACUUM INTO ?", path).Error; err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	return nil
}
