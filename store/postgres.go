package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// MinPostgresVersion is the oldest PostgreSQL botdesk runs on (15: MERGE,
// pg_current_snapshot, UNIQUE NULLS NOT DISTINCT are all there).
const MinPostgresVersion = 15

// postgresPoolSize bounds the connections one instance opens. Writers on
// PostgreSQL run concurrently (row locks, not one file lock), so the pool
// is shared by reads and writes.
const postgresPoolSize = 16

// IsPostgresURL reports whether a BOTDESK_DATABASE_URL names PostgreSQL.
func IsPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// RedactURL returns u with its password replaced, for messages and logs.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		// Unparseable: say nothing that might be the password.
		if i := strings.Index(u, "://"); i >= 0 {
			return u[:i+3] + "…"
		}
		return "…"
	}
	if p.User != nil {
		if _, has := p.User.Password(); has {
			p.User = url.UserPassword(p.User.Username(), "xxxxx")
		}
	}
	q := p.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		p.RawQuery = q.Encode()
	}
	return p.String()
}

// parsePostgresURL checks the URL and turns it into pgx's configuration.
// Its errors never contain the password.
func parsePostgresURL(u string) (*pgx.ConnConfig, error) {
	if !IsPostgresURL(u) {
		return nil, fmt.Errorf("store: BOTDESK_DATABASE_URL %s: unsupported scheme (want postgres://… or empty for SQLite)", RedactURL(u))
	}
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return nil, fmt.Errorf("store: BOTDESK_DATABASE_URL %s: not a valid PostgreSQL URL", RedactURL(u))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	// Every session runs in UTC: times are computed in Go and stored as
	// TIMESTAMPTZ; UTC keeps text output (db copy, psql) unambiguous.
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["timezone"] = "UTC"
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "botdesk"
	}
	return cfg, nil
}

// openPostgres connects, checks the server and returns one pool for reads
// and writes.
func openPostgres(ctx context.Context, u string) (*gorm.DB, error) {
	cfg, err := parsePostgresURL(u)
	if err != nil {
		return nil, err
	}
	where := fmt.Sprintf("PostgreSQL at %s", postgresWhere(cfg))
	sqlDB := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		// Scan TIMESTAMPTZ as UTC like SQLite's times, not in time.Local.
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID, Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}))
	sqlDB.SetMaxOpenConns(postgresPoolSize)
	sqlDB.SetMaxIdleConns(postgresPoolSize)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout+time.Second)
	defer cancel()
	var num string
	if err := sqlDB.QueryRowContext(pctx, "SHOW server_version_num").Scan(&num); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: %s: %s", where, describePostgresError(err, cfg))
	}
	if v, _ := strconv.Atoi(num); v < MinPostgresVersion*10000 {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: %s runs PostgreSQL %d.%d; botdesk needs %d or newer", where, v/10000, v%10000, MinPostgresVersion)
	}
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), gormConfig())
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: %s: %w", where, err)
	}
	return db, nil
}

// postgresWhere names the server and database without the password.
func postgresWhere(cfg *pgx.ConnConfig) string {
	host := cfg.Host
	if !strings.HasPrefix(host, "/") {
		host = net.JoinHostPort(host, strconv.Itoa(int(cfg.Port)))
	}
	return fmt.Sprintf("%s (database %q, user %q)", host, cfg.Database, cfg.User)
}

// describePostgresError says in one line what went wrong connecting.
func describePostgresError(err error, cfg *pgx.ConnConfig) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01":
			return fmt.Sprintf("password authentication failed for user %q", cfg.User)
		case "28000":
			return fmt.Sprintf("user %q is not allowed to connect (pg_hba.conf)", cfg.User)
		case "3D000":
			return fmt.Sprintf("database %q does not exist (create it first: createdb %s)", cfg.Database, cfg.Database)
		case "42501":
			return fmt.Sprintf("user %q may not connect to database %q", cfg.User, cfg.Database)
		}
		return fmt.Sprintf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	}
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &opErr):
		return fmt.Sprintf("cannot reach the server: %v", opErr.Err)
	case errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "cannot reach the server: timed out"
	}
	// pgconn's connect errors name host, user and database, never the
	// password; keep the innermost cause, which is the readable part.
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return "cannot connect: " + msg
}

// Postgres reports whether the store runs on PostgreSQL.
func (s *Store) Postgres() bool { return s.pg }

// rebind turns the ? placeholders of q into PostgreSQL's $n when the store
// runs on PostgreSQL. GORM does this for the statements it builds; the
// ingest's prepared statements go to database/sql directly and are rebound
// once, when they are built. A ? inside a quoted literal or identifier is
// left alone.
func (s *Store) rebind(q string) string {
	if !s.pg || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Rebind is rebind for tools and tests that run SQL of their own on the
// store's database.
func (s *Store) Rebind(q string) string { return s.rebind(q) }

// reboundSQL is rebind, memoised: the ingest builds the same few
// statement texts (per row count) over and over, and rebinds each once.
func (s *Store) reboundSQL(q string) string {
	if !s.pg {
		return q
	}
	if v, ok := s.rebound.Load(q); ok {
		return v.(string)
	}
	r := s.rebind(q)
	s.rebound.Store(q, r)
	return r
}

// skipLocked makes a claiming SELECT lock the rows it returns and pass
// over rows another transaction holds, on PostgreSQL, where several
// instances (and the pool's connections) claim at once: FOR UPDATE [OF
// table] SKIP LOCKED. A row another claimer updated and committed since
// the statement began is re-checked against the WHERE clause, so a lease
// just taken is never taken again. SQLite needs nothing: its one writer
// runs one claiming transaction at a time.
func (s *Store) skipLocked(db *gorm.DB, table string) *gorm.DB {
	if !s.pg {
		return db
	}
	l := clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked}
	if table != "" {
		l.Table = clause.Table{Name: table}
	}
	return db.Clauses(l)
}

// forUpdate locks the rows a check reads until the transaction ends, on
// PostgreSQL (waiting for a transaction that holds them): two concurrent
// checks of the same rows then run one after the other, as on SQLite.
func (s *Store) forUpdate(db *gorm.DB) *gorm.DB {
	if !s.pg {
		return db
	}
	return db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
}

// like is the case-insensitive LIKE of the dialect: SQLite's LIKE already
// ignores ASCII case, PostgreSQL's does not.
func (s *Store) like() string {
	if s.pg {
		return "ILIKE"
	}
	return "LIKE"
}

// retryable reports whether err is a serialization failure or a deadlock,
// after which PostgreSQL asks the client to run the transaction again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// maxTxAttempts bounds how often WithTx runs a transaction that keeps
// failing on serialization or deadlock.
const maxTxAttempts = 5

// messageInsertLockKey is the advisory lock (store/commit_order.go) that
// every message-inserting transaction on PostgreSQL takes.
const messageInsertLockKey = 0x626f746465736b01 // "botdesk" + 1

// migrationLockKey serialises instances migrating at the same time.
const migrationLockKey = 0x626f746465736b00

// lockMessageInserts makes the transaction of ctx the only one inserting
// messages until it ends. On PostgreSQL message ids come from a sequence
// at insert time, not at commit: without the lock a transaction holding
// id 11 may commit before the one holding id 10, and a reader whose
// cursor passed 11 would never see 10. Under the lock ids are handed out
// and committed in the same order (the lock is released after the commit
// is visible), so a cursor on id never skips a row. SQLite's single
// writer already gives this order.
func (s *Store) lockMessageInserts(ctx context.Context) error {
	if !s.pg {
		return nil
	}
	tx, ok := ctx.Value(txKey{}).(*gorm.DB)
	if !ok {
		return fmt.Errorf("store: message insert lock outside a transaction")
	}
	if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", int64(messageInsertLockKey)).Error; err != nil {
		return fmt.Errorf("store: message insert lock: %w", err)
	}
	return nil
}
