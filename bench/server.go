package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/botdesk/botdesk/handlers"
	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// console is the real Echo app (handlers.New) served on 127.0.0.1 with a
// signed-in admin's session cookie.
type console struct {
	srv      *httptest.Server
	cookie   string
	shutdown chan struct{}
	once     sync.Once
}

// startConsole serves handlers.New for st; bots may be nil.
func startConsole(ctx context.Context, st *store.Store, sealer *store.Sealer, bots handlers.BotRunner, tgURL string) (*console, error) {
	// A fresh address per console: several may share one database.
	email := fmt.Sprintf("bench-admin-%d@example.com", time.Now().UnixNano())
	u, err := st.CreateUser(ctx, email, models.RoleAdmin, "bench-password-not-secret")
	if err != nil {
		return nil, fmt.Errorf("bench: create user: %w", err)
	}
	tok, err := st.CreateSession(ctx, u.ID, "127.0.0.1", "bench")
	if err != nil {
		return nil, fmt.Errorf("bench: create session: %w", err)
	}
	c := &console{cookie: "bd_session=" + tok, shutdown: make(chan struct{})}
	e, _ := handlers.New(handlers.Deps{Store: st, Sealer: sealer, Bots: bots,
		Options: handlers.Options{TelegramAPI: tgURL, Shutdown: c.shutdown}})
	c.srv = httptest.NewServer(e)
	return c, nil
}

// get builds an authenticated GET.
func (c *console) get(ctx context.Context, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.srv.URL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Cookie", c.cookie)
	return req, nil
}

// close ends the live streams and stops the server; safe to call twice.
func (c *console) close() {
	c.once.Do(func() {
		close(c.shutdown)
		c.srv.Close()
	})
}
