package handlers

import (
	"context"
	"os"
	"testing"

	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/store/pgtest"
)

// TestMain runs the handler suite on SQLite, then on PostgreSQL
// (store/pgtest), each test on a copy of a migrated database.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, migrateTemplate)) }

func migrateTemplate(ctx context.Context, url string) error {
	st, err := store.Open(ctx, store.Config{DatabaseURL: url})
	if err != nil {
		return err
	}
	return st.Close()
}
