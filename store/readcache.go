package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"

	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// readCache memoises what every page load repeats against SQLite's
// data_version: here the session lookup and the newest message id; in
// handlers (through Cached) the rendered workbench list and frame and the
// Channel Management table, whose loaders read the store uncached.
//
// PRAGMA data_version, asked on a connection that never writes, changes
// whenever any other connection commits: the store's writer, the CLI in
// another process, a test poking the file. The version is read before the
// query runs, so an entry is only reused while nothing has been committed
// since it was read, and a cached answer is never older than the database.
// It pays off wherever the same read repeats between two commits: every
// agent's browser re-fetching the list after the same new message, the
// session lookup of each request, a busy Channel Management page.
//
// On PostgreSQL the version is the server's current snapshot
// (pg_current_snapshot(): xmin, xmax and the transactions in progress).
// Two equal snapshots see exactly the same committed transactions, and
// every commit removes its transaction from the in-progress list or moves
// xmax, so the text changes with every commit of any instance and an
// entry can never outlive the data it was read from (store/postgres.go).
type readCache struct {
	// probe is a raw driver connection of its own, only ever asked for
	// data_version (the value is per connection). Going around
	// database/sql keeps the probe to a few cgo calls and no allocation
	// to speak of; every page load asks at least twice.
	probeMu sync.Mutex
	conn    driver.Conn
	probe   driver.StmtQueryContext
	row     []driver.Value
	// pgProbe, on PostgreSQL, asks the pool for the snapshot (conn and
	// probe are nil then).
	pgProbe *snapshotProbe

	mu      sync.Mutex
	version cacheVersion
	items   map[string]any
	loading map[string]*loading
	// onWait, if set (tests only), runs when a caller starts waiting for
	// another's load.
	onWait func()
}

// cacheVersion is SQLite's data_version or PostgreSQL's snapshot text.
type cacheVersion struct {
	n int64
	s string
}

// maxCachedReads bounds the entries kept for one data version; past it the
// map starts afresh (entries of a version are useless after the next commit
// anyway, so no finer eviction is worth its cost).
const maxCachedReads = 512

// newReadCache opens the probe connection with dsn (read-only).
func newReadCache(dsn string) (*readCache, error) {
	conn, err := (&sqlite3.SQLiteDriver{}).Open(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open data_version probe: %w", err)
	}
	stmt, err := conn.Prepare("PRAGMA data_version")
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("store: prepare data_version probe: %w", err)
	}
	q, ok := stmt.(driver.StmtQueryContext)
	if !ok {
		_ = stmt.Close()
		_ = conn.Close()
		return nil, fmt.Errorf("store: data_version probe: driver statement cannot query")
	}
	return &readCache{conn: conn, probe: q, row: make([]driver.Value, 1), items: map[string]any{}, loading: map[string]*loading{}}, nil
}

// newPostgresReadCache probes the snapshot through pool.
func newPostgresReadCache(pool *sql.DB) *readCache {
	return &readCache{pgProbe: &snapshotProbe{pool: pool}, items: map[string]any{}, loading: map[string]*loading{}}
}

// pgSnapshotSQL is the PostgreSQL version probe (see readCache).
const pgSnapshotSQL = "SELECT pg_current_snapshot()::text"

// currentVersion asks the database for its version; ok is false if it
// could not, and the caller then reads without the cache.
func (c *readCache) currentVersion() (cacheVersion, bool) {
	if c.pgProbe != nil {
		return c.pgProbe.current()
	}
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	// A context that can never be cancelled keeps the driver from starting
	// a watcher goroutine for the statement (see shortRead).
	rows, err := c.probe.QueryContext(context.Background(), nil)
	if err != nil {
		return cacheVersion{}, false
	}
	defer rows.Close()
	if err := rows.Next(c.row); err != nil {
		return cacheVersion{}, false
	}
	v, ok := c.row[0].(int64)
	return cacheVersion{n: v}, ok
}

// loading is a load in progress for one key under one version: callers
// missing the same key meanwhile wait for it instead of loading again
// (after a new message every agent's stream asks for the same list at once).
type loading struct {
	version cacheVersion
	done    chan struct{}
	val     any
	ok      bool // the load succeeded and val is its result
}

// begin looks key up under version: a hit, a load to wait for, or (own) a
// load the caller must run and then finish.
func (c *readCache) begin(version cacheVersion, key string) (val any, hit bool, wait, own *loading) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version == version {
		if v, ok := c.items[key]; ok {
			return v, true, nil, nil
		}
	}
	if l := c.loading[key]; l != nil && l.version == version {
		return nil, false, l, nil
	}
	own = &loading{version: version, done: make(chan struct{})}
	c.loading[key] = own
	return nil, false, nil, own
}

// finish ends a load begun by begin; a successful one is kept for its
// version and handed to the callers that waited for it.
func (c *readCache) finish(key string, l *loading, val any, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loading[key] == l {
		delete(c.loading, key)
	}
	l.val, l.ok = val, ok
	close(l.done)
	if !ok {
		return
	}
	if c.version != l.version || len(c.items) >= maxCachedReads {
		// A new version makes every older entry stale; a racing reader
		// holding an older version merely resets the map, never serves it.
		clear(c.items)
		c.version = l.version
	}
	c.items[key] = val
}

func (c *readCache) close() error {
	if c == nil || c.pgProbe != nil { // the pool is the store's
		return nil
	}
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	if st, ok := c.probe.(driver.Stmt); ok {
		_ = st.Close()
	}
	return c.conn.Close()
}

// Cached returns load's result for key, reusing the one computed under the
// current data version if there is one. load must depend only on what it
// reads from the database and on what key spells out (handlers use it for
// HTML rendered from store reads). Inside a write transaction it always
// loads: the transaction's own uncommitted writes must be seen. Callers
// must treat a returned value as read-only (it is shared), which is why the
// cached types are values or slices the callers never modify. Callers that
// miss the same key at the same time share one load; so a load may use
// Cached for other keys (a page frame uses its list) but never, through
// any chain, for its own.
func Cached[T any](ctx context.Context, s *Store, key string, load func() (T, error)) (T, error) {
	if _, inTx := ctx.Value(txKey{}).(*gorm.DB); inTx || s.cache == nil {
		return load()
	}
	version, ok := s.cacheVersion(ctx)
	if !ok {
		return load()
	}
	v, hit, wait, own := s.cache.begin(version, key)
	if hit {
		return v.(T), nil
	}
	if wait != nil {
		if s.cache.onWait != nil {
			s.cache.onWait()
		}
		if <-wait.done; wait.ok {
			return wait.val.(T), nil
		}
		// The load failed, perhaps only for its own caller's context.
		return load()
	}
	finished := false
	defer func() {
		if !finished { // load panicked: release the waiters, who load themselves
			s.cache.finish(key, own, nil, false)
		}
	}()
	val, err := load()
	finished = true
	s.cache.finish(key, own, val, err == nil)
	return val, err
}
