package store

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// sqliteRebuilds are the SQLite schema changes SQL alone cannot make in
// place (a table constraint): they run right after their migration's
// file, in its transaction, with foreign keys off so dropping the old
// table cascades nothing.
var sqliteRebuilds = map[int]func(tx *gorm.DB) error{
	19: func(tx *gorm.DB) error {
		return rebuildSQLiteTable(tx, "conversations", "UNIQUE (channel_id, chat_id)",
			"UNIQUE (channel_id, chat_id, thread_id, business_connection_id)")
	},
}

// rebuildSQLiteTable is SQLite's documented way to change a table
// definition: create the new table from the stored CREATE TABLE with old
// replaced by new, copy every row, drop the old table, rename the new one,
// then recreate the old table's indexes and triggers. The table's SQL is
// read from the schema, so columns other migrations added are kept.
func rebuildSQLiteTable(tx *gorm.DB, table, old, new string) error {
	var create string
	if err := tx.Raw("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", table).Scan(&create).Error; err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	if !strings.Contains(create, old) {
		return fmt.Errorf("rebuild %s: %q not in its definition", table, old)
	}
	var extras []string // indexes and triggers, recreated after the rename
	if err := tx.Raw("SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL",
		table).Scan(&extras).Error; err != nil {
		return fmt.Errorf("read %s indexes: %w", table, err)
	}
	tmp := table + "_rebuild"
	head, body, ok := strings.Cut(create, "(")
	if !ok || !strings.Contains(head, table) {
		return fmt.Errorf("rebuild %s: unexpected definition", table)
	}
	stmts := []string{
		"CREATE TABLE " + tmp + " (" + strings.Replace(body, old, new, 1),
		"INSERT INTO " + tmp + " SELECT * FROM " + table,
		"DROP TABLE " + table,
		"ALTER TABLE " + tmp + " RENAME TO " + table,
	}
	for _, q := range append(stmts, extras...) {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("rebuild %s: %w", table, err)
		}
	}
	var broken []map[string]any
	if err := tx.Raw("PRAGMA foreign_key_check").Scan(&broken).Error; err != nil {
		return fmt.Errorf("rebuild %s: foreign key check: %w", table, err)
	}
	if len(broken) > 0 {
		return fmt.Errorf("rebuild %s: %d rows break foreign keys", table, len(broken))
	}
	return nil
}
