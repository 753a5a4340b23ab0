package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// CopyProgress is told, after every batch, how far the copy of a table is.
type CopyProgress func(table string, done, total int64)

// CopyTable is what was copied of one table and its verification.
type CopyTable struct {
	Name     string
	Rows     int64
	Checksum string // the same on both sides, or the copy fails
}

// copyBatch is the rows one multi-row INSERT carries.
const copyBatch = 500

// CopyToPostgres copies the SQLite database in dataDir into the empty
// PostgreSQL database at dstURL ("botdesk db copy"):
//
//   - the source is opened read-only and read in ONE transaction, so the
//     copy is one consistent snapshot even while botdesk keeps running; it
//     must already be at this binary's schema version (nothing migrates
//     it: the source stays untouched);
//   - the target must have no tables of botdesk; its schema (the PostgreSQL
//     migrations), every row, the identity sequences and the verification
//     happen in ONE transaction, so a failed copy leaves it empty;
//   - every table's row count and an order-independent checksum of its
//     values (the same value reads the same on both: 0/1 and false/true,
//     times in UTC to the microsecond) must match, or nothing is committed.
func CopyToPostgres(ctx context.Context, dataDir, dstURL string, progress CopyProgress) ([]CopyTable, error) {
	path := filepath.Join(dataDir, DBFileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: copy: no SQLite database at %s: %w", path, err)
	}
	src, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_query_only=on&_busy_timeout=10000")
	if err != nil {
		return nil, fmt.Errorf("store: copy: open %s: %w", path, err)
	}
	defer src.Close()
	dst, err := openPostgres(ctx, dstURL)
	if err != nil {
		return nil, err
	}
	defer func() {
		if db, err := dst.DB(); err == nil {
			_ = db.Close()
		}
	}()
	target := &Store{write: dst, read: dst, pg: true, now: utcNow}
	var existing int64
	if err := dst.WithContext(ctx).Raw(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()
		AND table_name IN ('schema_migrations', 'users', 'channels', 'messages')`).Scan(&existing).Error; err != nil {
		return nil, fmt.Errorf("store: copy: inspect the target: %w", err)
	}
	if existing > 0 {
		return nil, fmt.Errorf("store: copy: %w: it already has botdesk tables; db copy only writes into an empty database (nothing was written)", ErrCopyTargetNotEmpty)
	}

	stx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store: copy: begin the source snapshot: %w", err)
	}
	defer func() { _ = stx.Rollback() }()
	if err := checkSourceVersion(ctx, stx); err != nil {
		return nil, err
	}
	tables, err := sourceTables(ctx, stx)
	if err != nil {
		return nil, err
	}
	migs, err := loadMigrations(migrationFiles, "migrations/postgres")
	if err != nil {
		return nil, err
	}
	var report []CopyTable
	err = dst.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := target.applyMigrations(tx, migs); err != nil {
			return err
		}
		for _, table := range tables {
			ct, err := copyTable(ctx, stx, tx, table, progress)
			if err != nil {
				return err
			}
			report = append(report, ct)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return report, nil
}

// checkSourceVersion refuses a source whose migrations differ from this
// binary's: the target gets this binary's schema, and copying rows of
// another one would lose columns.
func checkSourceVersion(ctx context.Context, tx *sql.Tx) error {
	migs, err := loadMigrations(migrationFiles, "migrations/sqlite")
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("store: copy: the source has no schema version (is it a botdesk database?): %w", err)
	}
	applied := map[int]bool{}
	if err := eachRow(rows, func() error {
		var v int
		err := rows.Scan(&v)
		applied[v] = true
		return err
	}); err != nil {
		return fmt.Errorf("store: copy: read the source's versions: %w", err)
	}
	for _, m := range migs {
		if !applied[m.version] {
			return fmt.Errorf("store: copy: the source lacks migration %s; run this botdesk version on it once (botdesk serve) before copying", m.name)
		}
	}
	if len(applied) != len(migs) {
		return fmt.Errorf("store: copy: the source has migrations this botdesk does not know; copy with the version that wrote it")
	}
	return nil
}

// sourceTables lists the tables in an order in which every foreign key
// points to a table already copied (creation order, referenced first). The FTS4
// tables of the search index are SQLite's own: PostgreSQL indexes the
// copied messages itself (migrations/postgres/0006).
func sourceTables(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' AND name NOT LIKE 'messages_fts%' ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("store: copy: list tables: %w", err)
	}
	var names []string
	err = eachRow(rows, func() error {
		var n string
		err := rows.Scan(&n)
		names = append(names, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return referencedFirst(ctx, tx, names)
}

// referencedFirst orders tables (given in creation order) so that every
// table comes after the tables its foreign keys point to: a table rebuilt
// by a later migration (migrate_rebuild.go) is last in creation order but
// still referenced by older ones.
func referencedFirst(ctx context.Context, tx *sql.Tx, names []string) ([]string, error) {
	refs := map[string][]string{}
	for _, n := range names {
		rows, err := tx.QueryContext(ctx, `SELECT "table" FROM pragma_foreign_key_list(?)`, n)
		if err == nil {
			err = eachRow(rows, func() error {
				var r string
				err := rows.Scan(&r)
				refs[n] = append(refs[n], r)
				return err
			})
		}
		if err != nil {
			return nil, fmt.Errorf("store: copy: foreign keys of %s: %w", n, err)
		}
	}
	out := make([]string, 0, len(names))
	listed := make(map[string]bool, len(names))
	for _, n := range names {
		listed[n] = true
	}
	placed := map[string]bool{}
	var place func(n string, depth int)
	place = func(n string, depth int) {
		if placed[n] || !listed[n] || depth > len(names) {
			return
		}
		for _, r := range refs[n] {
			if r != n {
				place(r, depth+1)
			}
		}
		if !placed[n] {
			placed[n] = true
			out = append(out, n)
		}
	}
	for _, n := range names {
		place(n, 0)
	}
	return out, nil
}

// targetColumns returns the table's columns on PostgreSQL and their types.
func targetColumns(tx *gorm.DB, table string) (map[string]string, error) {
	var cols []struct{ ColumnName, DataType string }
	if err := tx.Raw(`SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ?`, table).Scan(&cols).Error; err != nil {
		return nil, fmt.Errorf("store: copy: columns of %s: %w", table, err)
	}
	out := make(map[string]string, len(cols))
	for _, c := range cols {
		out[c.ColumnName] = c.DataType
	}
	return out, nil
}

func copyTable(ctx context.Context, stx *sql.Tx, tx *gorm.DB, table string, progress CopyProgress) (CopyTable, error) {
	ct := CopyTable{Name: table}
	types, err := targetColumns(tx, table)
	if err != nil {
		return ct, err
	}
	if len(types) == 0 {
		return ct, fmt.Errorf("store: copy: table %s has no PostgreSQL twin", table)
	}
	var total int64
	if err := stx.QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+table+`"`).Scan(&total); err != nil {
		return ct, fmt.Errorf("store: copy: count %s: %w", table, err)
	}
	rows, err := stx.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
	if err != nil {
		return ct, fmt.Errorf("store: copy: read %s: %w", table, err)
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return ct, err
	}
	for _, c := range cols {
		if _, ok := types[c]; !ok {
			rows.Close()
			return ct, fmt.Errorf("store: copy: column %s.%s has no PostgreSQL twin", table, c)
		}
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = `"` + c + `"`
	}
	insert := func(batch [][]any) error {
		if len(batch) == 0 {
			return nil
		}
		args := make([]any, 0, len(batch)*len(cols))
		for _, r := range batch {
			args = append(args, r...)
		}
		q := `INSERT INTO "` + table + `" (` + strings.Join(quoted, ", ") + `) OVERRIDING SYSTEM VALUE VALUES ` + valuesList(len(batch), len(cols))
		if err := tx.Exec(q, args...).Error; err != nil {
			return fmt.Errorf("store: copy: write %s: %w", table, err)
		}
		return nil
	}
	var sum checksum
	var batch [][]any
	err = eachRow(rows, func() error {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, c := range cols {
			v, err := toPostgres(vals[i], types[c])
			if err != nil {
				return fmt.Errorf("store: copy: %s.%s: %w", table, c, err)
			}
			vals[i] = v
		}
		sum.add(vals)
		batch = append(batch, vals)
		ct.Rows++
		if len(batch) == copyBatch {
			if err := insert(batch); err != nil {
				return err
			}
			batch = batch[:0]
			if progress != nil {
				progress(table, ct.Rows, total)
			}
		}
		return nil
	})
	if err != nil {
		return ct, err
	}
	if err := insert(batch); err != nil {
		return ct, err
	}
	if progress != nil {
		progress(table, ct.Rows, total)
	}
	if _, ok := types["id"]; ok && strings.Contains(types["id"], "int") {
		if err := tx.Exec(`SELECT setval(pg_get_serial_sequence(?, 'id'), COALESCE((SELECT MAX(id) FROM "`+table+`"), 0) + 1, false)`, table).Error; err != nil {
			return ct, fmt.Errorf("store: copy: reset the id sequence of %s: %w", table, err)
		}
	}
	// Verify what PostgreSQL now holds, read back.
	back, err := tx.Raw(`SELECT ` + strings.Join(quoted, ", ") + ` FROM "` + table + `"`).Rows()
	if err != nil {
		return ct, fmt.Errorf("store: copy: read back %s: %w", table, err)
	}
	var got checksum
	var n int64
	err = eachRow(back, func() error {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := back.Scan(ptrs...); err != nil {
			return err
		}
		got.add(vals)
		n++
		return nil
	})
	if err != nil {
		return ct, fmt.Errorf("store: copy: read back %s: %w", table, err)
	}
	if n != ct.Rows || n != total {
		return ct, fmt.Errorf("store: copy: %s: %d rows in the source, %d written, %d read back", table, total, ct.Rows, n)
	}
	if got != sum {
		return ct, fmt.Errorf("store: copy: %s: the checksum of the copy differs from the source's", table)
	}
	ct.Checksum = sum.String()
	return ct, nil
}

// toPostgres converts a value SQLite returned to what the PostgreSQL
// column of type typ takes: flags were INTEGER 0/1, times may come back
// as text.
func toPostgres(v any, typ string) (any, error) {
	switch typ {
	case "boolean":
		switch x := v.(type) {
		case int64:
			return x != 0, nil
		case bool, nil:
			return x, nil
		}
		return nil, fmt.Errorf("want a 0/1 flag, found %T", v)
	case "timestamp with time zone":
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Truncate(time.Microsecond), nil
		case string:
			t, ok := parseDBTime(x)
			if !ok {
				return nil, fmt.Errorf("unreadable time %q", x)
			}
			return t.Truncate(time.Microsecond), nil
		case nil:
			return nil, nil
		}
		return nil, fmt.Errorf("want a time, found %T", v)
	case "text":
		if b, ok := v.([]byte); ok {
			return string(b), nil
		}
	}
	return v, nil
}

// checksum is an order-independent digest of rows: the sum, mod 2^64 per
// lane, of a SHA-256 of each row's canonical form (see canonical).
type checksum [4]uint64

func (c *checksum) add(vals []any) {
	h := sha256.New()
	for _, v := range vals {
		h.Write([]byte(canonical(v)))
		h.Write([]byte{0})
	}
	d := h.Sum(nil)
	for i := range c {
		c[i] += binary.BigEndian.Uint64(d[i*8:])
	}
}

func (c checksum) String() string {
	b := make([]byte, 32)
	for i, x := range c {
		binary.BigEndian.PutUint64(b[i*8:], x)
	}
	return hex.EncodeToString(b[:8])
}

// canonical renders a value the same whichever database it was read from.
func canonical(v any) string {
	switch x := v.(type) {
	case nil:
		return "\x01null"
	case bool:
		if x {
			return "1"
		}
		return "0"
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return x.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
	case []byte:
		return "\x02" + hex.EncodeToString(x)
	case string:
		return x
	}
	return fmt.Sprintf("%T:%v", v, v)
}

// ErrCopyTargetNotEmpty is CopyToPostgres's refusal of a target that
// already holds botdesk tables.
var ErrCopyTargetNotEmpty = errors.New("the target database is not empty")
