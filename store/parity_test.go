package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/botdesk/botdesk/store/pgtest"
)

// The schema-parity test: store/migrations/sqlite and .../postgres must
// hold the same version numbers and, applied, build the same schema —
// tables, columns, what each column's type means, nullability, defaults,
// primary keys, indexes (unique or not, columns, partial predicate),
// foreign keys and CHECK constraints. A migration added to one directory
// only, or a twin that drifts, fails here.

// legacyBoolColumns are the flags 0001 declared INTEGER in SQLite; their
// PostgreSQL twins are BOOLEAN. New SQLite flags are declared BOOLEAN, so
// the type says what they mean.
var legacyBoolColumns = map[string]bool{
	"users.active": true, "channels.http_enabled": true, "channels.queue_enabled": true,
	"bots.can_join_groups": true, "bots.can_read_all_group_messages": true, "bots.supports_inline_queries": true,
	"conversations.in_workbench": true,
}

func TestMigrationVersionsMatch(t *testing.T) {
	versions := func(dir string) []string {
		t.Helper()
		entries, err := fs.ReadDir(migrationFiles, dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			if num, _, ok := strings.Cut(e.Name(), "_"); ok && strings.HasSuffix(e.Name(), ".sql") {
				out = append(out, num)
			}
		}
		return out
	}
	lite, pg := versions("migrations/sqlite"), versions("migrations/postgres")
	for _, v := range lite {
		if !slices.Contains(pg, v) {
			t.Errorf("migration %s exists for SQLite only: add its twin to store/migrations/postgres (same number)", v)
		}
	}
	for _, v := range pg {
		if !slices.Contains(lite, v) {
			t.Errorf("migration %s exists for PostgreSQL only: add its twin to store/migrations/sqlite (same number)", v)
		}
	}
}

func TestSchemaParity(t *testing.T) {
	if !pgtest.Postgres() {
		t.Skip("runs in the PostgreSQL pass (it needs both databases)")
	}
	ctx := context.Background()
	lite, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg := openTestStore(t)
	a, b := sqliteSchema(t, lite), postgresSchema(t, pg)
	for _, name := range sortedKeys(a, b) {
		ta, tb := a[name], b[name]
		switch {
		case ta == nil:
			t.Errorf("table %s exists on PostgreSQL only", name)
			continue
		case tb == nil:
			t.Errorf("table %s exists on SQLite only", name)
			continue
		}
		for _, col := range sortedKeys(ta.cols, tb.cols) {
			ca, cb := ta.cols[col], tb.cols[col]
			switch {
			case ca == "":
				t.Errorf("%s.%s exists on PostgreSQL only", name, col)
			case cb == "":
				t.Errorf("%s.%s exists on SQLite only", name, col)
			case ca != cb:
				t.Errorf("%s.%s differs:\n  sqlite:   %s\n  postgres: %s", name, col, ca, cb)
			}
		}
		for _, kind := range []struct {
			what string
			a, b []string
		}{{"index", ta.indexes, tb.indexes}, {"foreign key", ta.fks, tb.fks}, {"check", ta.checks, tb.checks}} {
			for _, x := range kind.a {
				if !slices.Contains(kind.b, x) {
					t.Errorf("%s: %s %q on SQLite only (PostgreSQL has %q)", name, kind.what, x, kind.b)
				}
			}
			for _, x := range kind.b {
				if !slices.Contains(kind.a, x) {
					t.Errorf("%s: %s %q on PostgreSQL only (SQLite has %q)", name, kind.what, x, kind.a)
				}
			}
		}
	}
}

// schemaTable is one table as both dialects can describe it.
type schemaTable struct {
	cols    map[string]string // name → "type null default pk"
	indexes []string          // "unique (a, lower(b)) where …"
	fks     []string          // "a → t(b) on delete cascade"
	checks  []string          // normalised CHECK expressions
}

func sortedKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// typeMeaning maps a declared type to what it means for botdesk. SQLite's
// INTEGER is 64-bit, PostgreSQL's integer is not: ids and Telegram ids
// (chat ids are -100…) must be bigint there.
func typeMeaning(pg bool, table, col, decl string) string {
	d := strings.ToLower(decl)
	switch {
	case d == "boolean" || (!pg && legacyBoolColumns[table+"."+col] && d == "integer"):
		return "bool"
	case d == "bigint" || (!pg && (d == "integer" || d == "int")):
		return "int64"
	case d == "text":
		return "text"
	case d == "datetime" || d == "timestamp with time zone":
		return "time"
	case d == "blob" || d == "bytea":
		return "bytes"
	}
	return "other:" + d
}

var castRE = regexp.MustCompile(`::[a-z ]+(\[\])?`)

// normExpr makes a default, predicate or check comparable across dialects.
func normExpr(e string) string {
	e = strings.ToLower(e)
	e = castRE.ReplaceAllString(e, "")
	// PostgreSQL writes IN (…) as = ANY (ARRAY[…]).
	e = regexp.MustCompile(`= any \(array\[(.*?)\]\)`).ReplaceAllString(e, "in ($1)")
	e = strings.NewReplacer("(", "", ")", "", " ", "", "\n", "", "\t", "", "true", "1", "false", "0").Replace(e)
	return e
}

// sqliteIndexColumns is the column list of an index's CREATE INDEX, as
// written (with its expressions).
func sqliteIndexColumns(t *testing.T, db *gorm.DB, name string) string {
	t.Helper()
	var def string
	if err := db.Raw("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", name).Scan(&def).Error; err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(def, " ON ")
	_, rest, _ = strings.Cut(rest, "(")
	depth := 1
	for i, r := range rest {
		switch r {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return rest[:i]
			}
		}
	}
	t.Fatalf("index %s: cannot read %q", name, def)
	return ""
}

func sqliteSchema(t *testing.T, s *Store) map[string]*schemaTable {
	t.Helper()
	ctx := context.Background()
	db := s.write.WithContext(ctx)
	var tables []struct{ Name, SQL string }
	// The full-text index is each dialect's own (store/search.go): FTS4
	// tables here, a GIN expression index there.
	if err := db.Raw("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' AND name NOT LIKE 'messages_fts%'").Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]*schemaTable{}
	for _, tb := range tables {
		st := &schemaTable{cols: map[string]string{}}
		out[tb.Name] = st
		var cols []struct {
			Name      string
			Type      string
			NotNull   int `gorm:"column:notnull"`
			DfltValue *string
			PK        int `gorm:"column:pk"`
		}
		if err := db.Raw("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", tb.Name).Scan(&cols).Error; err != nil {
			t.Fatal(err)
		}
		nocase := map[string]bool{}
		var pk []string
		for _, c := range cols {
			def := ""
			if c.DfltValue != nil {
				def = normExpr(*c.DfltValue)
			}
			null := "null"
			if c.NotNull == 1 || c.PK > 0 {
				null = "not null"
			}
			st.cols[c.Name] = fmt.Sprintf("%s %s default=%s", typeMeaning(false, tb.Name, c.Name, c.Type), null, def)
			if c.PK > 0 {
				pk = append(pk, c.Name)
			}
			if regexp.MustCompile(`(?i)\b` + c.Name + `\b[^,]*COLLATE NOCASE`).MatchString(tb.SQL) {
				nocase[c.Name] = true
			}
		}
		st.indexes = append(st.indexes, "primary ("+strings.Join(pk, ", ")+")")
		var idx []struct {
			Name    string
			Unique  int
			Origin  string
			Partial int
		}
		if err := db.Raw("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)", tb.Name).Scan(&idx).Error; err != nil {
			t.Fatal(err)
		}
		for _, ix := range idx {
			if ix.Origin == "pk" {
				continue
			}
			var named []sql.NullString
			if err := db.Raw("SELECT name FROM pragma_index_info(?) ORDER BY seqno", ix.Name).Scan(&named).Error; err != nil {
				t.Fatal(err)
			}
			var icols []string
			expr := false
			for _, c := range named {
				icols = append(icols, c.String)
				expr = expr || !c.Valid // an expression has no column name
			}
			for i, c := range icols {
				if nocase[c] && ix.Unique == 1 && len(icols) == 1 {
					icols[i] = "lower(" + c + ")"
				}
			}
			list := strings.Join(icols, ", ")
			if expr {
				list = sqliteIndexColumns(t, db, ix.Name)
			}
			if strings.Contains(list, "(") { // expressions: compared normalised
				list = normExpr(list)
			}
			desc := "(" + list + ")"
			if ix.Unique == 1 {
				desc = "unique " + desc
			}
			if ix.Partial == 1 {
				var sql string
				if err := db.Raw("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", ix.Name).Scan(&sql).Error; err != nil {
					t.Fatal(err)
				}
				_, where, _ := strings.Cut(sql, " WHERE ")
				desc += " where " + normExpr(where)
			}
			st.indexes = append(st.indexes, desc)
		}
		var fks []struct {
			Table    string
			From     string
			To       string
			OnDelete string
		}
		if err := db.Raw("SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list(?)", tb.Name).Scan(&fks).Error; err != nil {
			t.Fatal(err)
		}
		for _, fk := range fks {
			st.fks = append(st.fks, fmt.Sprintf("%s → %s(%s) on delete %s", fk.From, fk.Table, fk.To, strings.ToLower(fk.OnDelete)))
		}
		for _, m := range regexp.MustCompile(`CHECK \((.*?\))\)`).FindAllStringSubmatch(tb.SQL, -1) {
			st.checks = append(st.checks, normExpr(m[1]))
		}
	}
	return out
}

func postgresSchema(t *testing.T, s *Store) map[string]*schemaTable {
	t.Helper()
	ctx := context.Background()
	db := s.write.WithContext(ctx)
	var cols []struct {
		TableName     string
		ColumnName    string
		DataType      string
		IsNullable    string
		ColumnDefault *string
	}
	if err := db.Raw(`SELECT table_name, column_name, data_type, is_nullable, column_default
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'`).Scan(&cols).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]*schemaTable{}
	for _, c := range cols {
		st := out[c.TableName]
		if st == nil {
			st = &schemaTable{cols: map[string]string{}}
			out[c.TableName] = st
		}
		def := ""
		if c.ColumnDefault != nil {
			def = normExpr(*c.ColumnDefault)
		}
		null := "null"
		if c.IsNullable == "NO" {
			null = "not null"
		}
		st.cols[c.ColumnName] = fmt.Sprintf("%s %s default=%s", typeMeaning(true, c.TableName, c.ColumnName, c.DataType), null, def)
	}
	var idx []struct {
		Tablename string
		Indexdef  string
	}
	// messages_fts is the full-text index (see sqliteSchema).
	if err := db.Raw("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename <> 'schema_migrations' AND indexname <> 'messages_fts'").Scan(&idx).Error; err != nil {
		t.Fatal(err)
	}
	defRE := regexp.MustCompile(`^CREATE (UNIQUE )?INDEX (\S+) ON \S+ USING btree \((.*?)\)(?: WHERE (.*))?$`)
	for _, ix := range idx {
		m := defRE.FindStringSubmatch(ix.Indexdef)
		if m == nil {
			t.Errorf("unexpected index %s", ix.Indexdef)
			continue
		}
		desc := "(" + m[3] + ")"
		if strings.Contains(m[3], "(") { // expressions: compared normalised
			desc = "(" + normExpr(m[3]) + ")"
		}
		switch {
		case strings.HasSuffix(m[2], "_pkey"):
			desc = "primary " + desc
		case m[1] != "":
			desc = "unique " + desc
		}
		if m[4] != "" {
			desc += " where " + normExpr(m[4])
		}
		out[ix.Tablename].indexes = append(out[ix.Tablename].indexes, desc)
	}
	var cons []struct {
		Tbl  string
		Type string
		Def  string
	}
	if err := db.Raw(`SELECT conrelid::regclass::text AS tbl, contype::text AS type, pg_get_constraintdef(oid) AS def
		FROM pg_constraint WHERE connamespace = current_schema()::regnamespace AND contype IN ('f', 'c')`).Scan(&cons).Error; err != nil {
		t.Fatal(err)
	}
	fkRE := regexp.MustCompile(`^FOREIGN KEY \((\w+)\) REFERENCES (\w+)\((\w+)\)(?: ON DELETE (.*))?$`)
	for _, c := range cons {
		st := out[c.Tbl]
		if st == nil {
			continue
		}
		if c.Type == "c" {
			st.checks = append(st.checks, normExpr(strings.TrimPrefix(c.Def, "CHECK ")))
			continue
		}
		m := fkRE.FindStringSubmatch(c.Def)
		if m == nil {
			t.Errorf("unexpected foreign key %s", c.Def)
			continue
		}
		onDelete := strings.ToLower(m[4])
		if onDelete == "" {
			onDelete = "no action"
		}
		st.fks = append(st.fks, fmt.Sprintf("%s → %s(%s) on delete %s", m[1], m[2], m[3], onDelete))
	}
	return out
}
