package bench

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	// The same CGO driver GORM's sqlite dialect uses, opened directly for
	// seeding and for the raw-insert baseline.
	_ "github.com/mattn/go-sqlite3"

	"github.com/botdesk/botdesk/store"
)

// storeDSN is the DSN store.Open uses for its writer (WAL, busy_timeout,
// foreign keys, synchronous=FULL, BEGIN IMMEDIATE). The ingest baseline
// opens the database with exactly these settings so that the ratio
// compares botdesk's work per update, not different durability settings.
func storeDSN(path string) string {
	return "file:" + path + "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=FULL&_txlock=immediate"
}

// openSeed opens the SQLite file for bulk seeding only: durability is not
// needed while the suite builds its fixture, so synchronous is off.
func openSeed(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=OFF")
	if err != nil {
		return nil, fmt.Errorf("bench: open %s for seeding: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// migrate creates (or upgrades) the schema in dataDir with the real
// migrations and closes the store again.
func migrate(ctx context.Context, dataDir string) (string, error) {
	st, err := store.Open(ctx, store.Config{DataDir: dataDir})
	if err != nil {
		return "", fmt.Errorf("bench: migrate: %w", err)
	}
	path := st.Path()
	if err := st.Close(); err != nil {
		return "", err
	}
	return path, nil
}

const base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567"

// channelID is a valid, deterministic channel id ("tg-" + 10 base32 chars).
func channelID(i int) string {
	b := []byte("tg-bench000000")[:13]
	n := i
	for k := 12; k >= 3+5; k-- { // the last 5 chars encode i (32^5 ids)
		b[k] = base32Alphabet[n%32]
		n /= 32
	}
	copy(b[3:8], "bench")
	return string(b)
}

// inTx runs fn in one transaction of db, with a prepared statement for q.
func inTx(ctx context.Context, db *sql.DB, q string, fn func(stmt *sql.Stmt) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := fn(stmt); err != nil {
		_ = stmt.Close()
		_ = tx.Rollback()
		return err
	}
	_ = stmt.Close()
	return tx.Commit()
}

// seedSpec is a workspace to create with raw SQL.
type seedSpec struct {
	Channels      int
	Conversations int // spread evenly over the channels, all in the workbench
	Messages      int // spread evenly over the conversations
}

// seedWorkspace writes channels, conversations (private chats, in the
// workbench, a few resolved), their group chats rows and messages, in big
// transactions. Message timestamps increase with id, like real traffic.
func seedWorkspace(ctx context.Context, dbPath string, sp seedSpec) error {
	return seedDB(ctx, benchDB{path: dbPath}, sp)
}

// seedDB is seedWorkspace on either database.
func seedDB(ctx context.Context, d benchDB, sp seedSpec) error {
	db, err := d.openSeed()
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now().UTC()
	start := now.Add(-time.Duration(sp.Messages) * time.Second)
	err = inTx(ctx, db, d.q(`INSERT INTO channels (id, name, created_at, updated_at, workbench_mode, keywords) VALUES (?, ?, ?, ?, 'all', '[]')`),
		func(stmt *sql.Stmt) error {
			for i := 0; i < sp.Channels; i++ {
				at := now.Add(-time.Duration(sp.Channels-i) * time.Minute)
				if _, err := stmt.ExecContext(ctx, channelID(i), fmt.Sprintf("Bench channel %04d", i), at, at); err != nil {
					return err
				}
			}
			return nil
		})
	if err != nil {
		return fmt.Errorf("bench: seed channels: %w", err)
	}
	if sp.Conversations == 0 {
		return nil
	}
	err = inTx(ctx, db, d.q(`INSERT INTO conversations (channel_id, chat_id, chat_type, title, status, in_workbench, unread, last_message_at, last_message_text)
		VALUES (?, ?, 'private', ?, ?, TRUE, ?, ?, ?)`), func(stmt *sql.Stmt) error {
		for i := 0; i < sp.Conversations; i++ {
			status := "open"
			if i%10 == 9 {
				status = "resolved"
			}
			// The conversation's last message is its last seeded one.
			last := start.Add(time.Duration(sp.Messages-sp.Conversations+i) * time.Second)
			if _, err := stmt.ExecContext(ctx, channelID(i%sp.Channels), chatID(i), fmt.Sprintf("Customer %d", i), status, i%3,
				last, fmt.Sprintf("Hello, this is message text number %d from a customer", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bench: seed conversations: %w", err)
	}
	rebuild, err := deferTextIndex(ctx, d, db)
	if err != nil {
		return err
	}
	const perTx = 50_000
	for lo := 0; lo < sp.Messages; lo += perTx {
		hi := min(lo+perTx, sp.Messages)
		if d.pg() {
			err = seedMessagesMulti(ctx, d, db, lo, hi, sp, start)
		} else {
			err = inTx(ctx, db, seedMessageHead+seedMessageValues, func(stmt *sql.Stmt) error {
				for i := lo; i < hi; i++ {
					if _, err := stmt.ExecContext(ctx, seedMessageArgs(i, sp, start)...); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err != nil {
			return fmt.Errorf("bench: seed messages: %w", err)
		}
	}
	return rebuild()
}

// The seeded message rows: seedMessageArgs are the arguments of message i
// for seedMessageValues.
const (
	seedMessageHead = `INSERT INTO messages (channel_id, bot_telegram_id, update_id, chat_id, chat_type, telegram_message_id,
	direction, from_id, from_username, from_name, type, text, status, telegram_date, created_at) VALUES `
	seedMessageValues = `(?, ?, ?, ?, 'private', ?, ?, ?, ?, ?, 'text', ?, ?, ?, ?)`
)

func seedMessageArgs(i int, sp seedSpec, start time.Time) []any {
	conv := i % sp.Conversations
	dir, status := "in", "received"
	if i%5 == 4 {
		dir, status = "out", "sent"
	}
	at := start.Add(time.Duration(i) * time.Second)
	return []any{channelID(conv % sp.Channels), benchBotID(conv % sp.Channels), i + 1, chatID(conv), i/sp.Conversations + 1,
		dir, chatID(conv), fmt.Sprintf("user%d", conv), fmt.Sprintf("Customer %d", conv),
		fmt.Sprintf("Hello, this is message text number %d from a customer", i), status, at, at}
}

// seedMessagesMulti writes messages [lo, hi) in one transaction of
// multi-row INSERTs: on PostgreSQL each statement is a round trip, and a
// million of them would be most of the bench's time.
func seedMessagesMulti(ctx context.Context, d benchDB, db *sql.DB, lo, hi int, sp seedSpec, start time.Time) error {
	const perStmt = 1000 // 13 arguments a row: far below PostgreSQL's 65535
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for from := lo; from < hi; from += perStmt {
		var m multiInsert
		for i := from; i < min(from+perStmt, hi); i++ {
			m.row(seedMessageArgs(i, sp, start)...)
		}
		if _, err := tx.ExecContext(ctx, d.q(m.sql(seedMessageHead, seedMessageValues, "")), m.args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// deferTextIndex takes the full-text index of migration 0006 off the
// message inserts of a bulk seed and returns the func that builds it in
// one go afterwards and puts it back, as a restore would: the database
// ends exactly as if every row had gone through the index, four times
// sooner (SQLite: the insert trigger and FTS4's 'rebuild'; PostgreSQL: the
// GIN index, created again).
func deferTextIndex(ctx context.Context, d benchDB, db *sql.DB) (func() error, error) {
	find, drop := "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_fts_ai'", "DROP TRIGGER messages_fts_ai"
	if d.pg() {
		find, drop = "SELECT indexdef FROM pg_indexes WHERE indexname = 'messages_fts'", "DROP INDEX messages_fts"
	}
	var create string
	if err := db.QueryRowContext(ctx, find).Scan(&create); err != nil {
		return nil, fmt.Errorf("bench: seed: find the full-text index: %w", err)
	}
	if _, err := db.ExecContext(ctx, drop); err != nil {
		return nil, fmt.Errorf("bench: seed: %s: %w", drop, err)
	}
	return func() error {
		if !d.pg() {
			if _, err := db.ExecContext(ctx, "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')"); err != nil {
				return fmt.Errorf("bench: seed: rebuild the full-text index: %w", err)
			}
		}
		if _, err := db.ExecContext(ctx, create); err != nil {
			return fmt.Errorf("bench: seed: put the full-text index back: %w", err)
		}
		return nil
	}, nil
}

// chatID is the private chat (= user) id of seeded conversation i.
func chatID(i int) int64 { return 5_000_000_000 + int64(i) }

// dataDir returns a fresh directory under root.
func dataDir(root, name string) string { return filepath.Join(root, name) }

// Latencies summarises a set of durations.
type Latencies struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

func summarize(d []time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	pick := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.5) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return Latencies{N: len(s), P50: pick(0.50), P90: pick(0.90), P99: pick(0.99), Max: s[len(s)-1]}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
