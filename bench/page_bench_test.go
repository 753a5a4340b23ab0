package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// BenchmarkPageHandler serves the two benchmarked pages in process (no
// network, no client): the server's own cost per page, middleware
// included, at 1k workbench chats and 100k messages.
func BenchmarkPageHandler(b *testing.B) {
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "pages")
	path, err := migrate(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	if err := seedWorkspace(ctx, path, seedSpec{Channels: 20, Conversations: 1000, Messages: 100_000}); err != nil {
		b.Fatal(err)
	}
	st, sealer, err := openStore(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	con, err := startConsole(ctx, st, sealer, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	defer con.close()
	for _, path := range []string{"/workbench", "/channels"} {
		b.Run(path[1:], func(b *testing.B) {
			req, err := con.get(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				con.srv.Config.Handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", path, rec.Code)
				}
			}
		})
	}
}
