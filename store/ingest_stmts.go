package store

import (
	"context"
	"database/sql"
	"sync"

	"gorm.io/gorm"
)

// ingestConn runs the ingest's statements on its transaction, through
// statements prepared once and kept across batches when there are some
// (preparing the multi-row statements was ~15 % of the ingest's CPU), and
// notes the statements that were not prepared yet so IngestBatch prepares
// them after the commit, for the next batches.
type ingestConn struct {
	pool   gorm.ConnPool // the transaction, as GORM holds it
	tx     *sql.Tx       // the same, nil if GORM holds something else
	cache  *stmtCache
	missed []string
	s      *Store // for the dialect's placeholders
}

func (c *ingestConn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.pool.ExecContext(ctx, c.s.reboundSQL(q), args...)
}

func (c *ingestConn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.pool.QueryContext(ctx, c.s.reboundSQL(q), args...)
}

// queryOnce runs q unprepared, outside the statement cache (for queries
// whose text varies, such as IN lists), calling scan for each row.
func (c *ingestConn) queryOnce(ctx context.Context, q string, args []any, scan func(*sql.Rows) error) error {
	rows, err := c.pool.QueryContext(ctx, c.s.reboundSQL(q), args...)
	if err != nil {
		return err
	}
	return eachRow(rows, func() error { return scan(rows) })
}

// stmt returns the cached statement for q bound to the transaction, or nil.
func (c *ingestConn) stmt(ctx context.Context, q string) *sql.Stmt {
	if c.tx == nil {
		return nil
	}
	if st := c.cache.get(q); st != nil {
		return c.tx.StmtContext(ctx, st)
	}
	c.missed = append(c.missed, q)
	return nil
}

// maxIngestStmts bounds the prepared statements kept for the ingest: one
// per statement kind and row count seen, the oldest dropped first.
const maxIngestStmts = 64

// stmtCache holds statements prepared on the writer pool. Its zero value
// is ready to use. database/sql keeps a statement usable by a transaction
// that took it until that transaction ends, even if the cache closes it.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
	order []string
}

func (c *stmtCache) get(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[q]
}

// prepare adds the queries to the cache; a failure only means the next
// batch prepares the statement inline again.
func (c *stmtCache) prepare(ctx context.Context, s *Store, qs []string) {
	if len(qs) == 0 {
		return
	}
	db, err := s.write.DB()
	if err != nil {
		return
	}
	for _, q := range qs {
		if c.get(q) != nil {
			continue
		}
		st, err := db.PrepareContext(context.WithoutCancel(ctx), s.reboundSQL(q))
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.stmts == nil {
			c.stmts = map[string]*sql.Stmt{}
		}
		if _, dup := c.stmts[q]; dup {
			c.mu.Unlock()
			_ = st.Close()
			continue
		}
		if len(c.order) >= maxIngestStmts {
			old := c.order[0]
			c.order = c.order[1:]
			_ = c.stmts[old].Close()
			delete(c.stmts, old)
		}
		c.stmts[q] = st
		c.order = append(c.order, q)
		c.mu.Unlock()
	}
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		_ = st.Close()
	}
	c.stmts, c.order = nil, nil
}
