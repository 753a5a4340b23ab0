package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/botdesk/botdesk/callbacks"
	"github.com/botdesk/botdesk/connlimit"
	"github.com/botdesk/botdesk/handlers"
	"github.com/botdesk/botdesk/logctx"
	"github.com/botdesk/botdesk/retention"
	"github.com/botdesk/botdesk/sso"
	"github.com/botdesk/botdesk/store"
	"github.com/botdesk/botdesk/telegram"
)

// newLogger logs as text or, for log shippers, one JSON object a line;
// records made with a request's context carry its request_id (logctx).
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(logctx.NewHandler(h))
}

// cmdServe runs the console until ctx is cancelled, then shuts down in
// order: stop accepting, finish in-flight requests, stop workers, close DB.
func cmdServe(ctx context.Context, args []string, stderr io.Writer, demoMode bool) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, finish := bindConfig(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if err := finish(); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)

	var dm *demo
	if demoMode {
		// The demo never touches real data: fresh dir, simulated Telegram.
		if _, set := os.LookupEnv("BOTDESK_DATA_DIR"); !set && !flagSet(fs, "data-dir") {
			dir, err := os.MkdirTemp("", "botdesk-demo-")
			if err != nil {
				return fmt.Errorf("demo data dir: %w", err)
			}
			defer os.RemoveAll(dir)
			cfg.DataDir = dir
		}
		dm = startDemo(log)
		defer dm.close()
		cfg.TelegramAPI = dm.url
		cfg.AllowPrivateCallbacks = true
	}

	st, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL, SessionMaxAge: cfg.SessionMaxAge,
		InstanceID: cfg.InstanceID})
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := store.LoadOrCreateKey(cfg.SecretKey, cfg.DataDir)
	if err != nil {
		return err
	}
	sealer, err := store.NewSealer(key)
	if err != nil {
		return err
	}

	// Workers run on their own context: on SIGTERM the HTTP server drains
	// first, then pollers commit their last batch, the sender and the
	// dispatcher finish in-flight work.
	wctx, stopWorkers := context.WithCancel(context.Background())
	defer stopWorkers()
	// The supervisor holds the bot leases; the sender sends only through
	// the bots it holds and drains a bot before its lease is released.
	var sender *telegram.Sender
	sup := telegram.NewSupervisor(telegram.SupervisorConfig{Events: callbacks.Payloads{}, Store: st, Sealer: sealer, APIBase: cfg.TelegramAPI,
		PollTimeout: cfg.PollTimeout, Log: log.With("component", "poller", "instance", st.InstanceID()), ShutdownTimeout: cfg.ShutdownTimeout,
		Version: buildVersion(), BeforeRelease: func(bot int64) { sender.Drain(bot) }})
	sender = telegram.NewSender(telegram.SenderConfig{Events: callbacks.Payloads{}, Store: st, Sealer: sealer, APIBase: cfg.TelegramAPI,
		Log: log.With("component", "sender"), Leases: sup})
	policy := callbacks.Policy{AllowPrivate: cfg.AllowPrivateCallbacks}
	disp := callbacks.NewDispatcher(st, sealer, log.With("component", "dispatcher"), policy, nil, callbacks.DispatcherOptions{})

	var ssoProvider *sso.Provider
	if cfg.OIDC.Issuer != "" {
		if ssoProvider, err = sso.New(cfg.OIDC); err != nil {
			return err
		}
	}
	shutdown := make(chan struct{})
	e, _ := handlers.New(handlers.Deps{Store: st, Sealer: sealer, Log: log, Bots: sup, LeaseLoop: sup, SSO: ssoProvider,
		Metrics: []handlers.MetricsWriter{sup.WriteMetrics, sender.WriteMetrics, disp.WriteMetrics},
		Options: handlers.Options{AllowPrivateCallbacks: cfg.AllowPrivateCallbacks, Demo: demoMode,
			TelegramAPI: cfg.TelegramAPI, Shutdown: shutdown, PublicURL: cfg.PublicURL, TrustedProxies: cfg.TrustedProxies,
			LoginConcurrency: cfg.LoginConcurrency, APIRate: cfg.APIRate, APIBurst: cfg.APIBurst,
			APIIPRate: cfg.APIIPRate, APIIPBurst: cfg.APIIPBurst}})

	raw, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	// Trusted proxies carry many clients on few connections: not capped.
	ln := connlimit.New(raw, cfg.MaxConnsPerIP, func(ip net.IP) bool { return inNets(ip, cfg.TrustedProxies) })
	local := "http://" + ln.Addr().String()
	base := cmp.Or(cfg.PublicURL, local)
	if dm == nil {
		if err := announceSetup(ctx, st, log, base); err != nil {
			return err
		}
	}

	var workers sync.WaitGroup
	ret := retention.New(retention.Config{Store: st, Log: log.With("component", "retention")})
	for name, run := range map[string]func(context.Context) error{"pollers": sup.Run, "sender": sender.Run, "dispatcher": disp.Run, "retention": ret.Run} {
		workers.Add(1)
		go func() {
			defer workers.Done()
			if err := run(wctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("worker stopped", "worker", name, "err", err)
			}
		}()
	}
	workers.Add(1)
	go func() {
		defer workers.Done()
		wakeOnChanges(wctx, st.Hub(), sender.Wake, disp.Wake)
	}()

	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, ConnContext: handlers.ConnContext}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("botdesk serving", "url", local, "public_url", base, "data_dir", cfg.DataDir, "demo", demoMode, "instance", st.InstanceID())
	if dm != nil {
		if err := dm.seed(ctx, st, local, stderr); err != nil {
			return err
		}
		go dm.simulate(ctx)
	}

	var serveErr error
	select {
	case err := <-errc:
		serveErr = fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	close(shutdown) // end live streams so Shutdown is not held by them
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "err", err)
		// Cut the requests still running: the database is closed on
		// return and they would otherwise fail half-way against it.
		_ = srv.Close()
	}
	stopWorkers()
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		log.Warn("workers did not stop within the shutdown timeout")
	}
	// Pollers and sender have stopped: hand the bots over now instead of
	// letting the other instances wait for the leases to expire.
	if err := st.Leave(sctx); err != nil {
		log.Warn("releasing bot leases", "err", err)
	}
	if serveErr != nil {
		return serveErr
	}
	log.Info("stopped")
	return nil
}

// wakeOnChanges nudges the sender and the dispatcher whenever something is
// committed, so replies and callbacks go out at once rather than at the
// next idle poll.
func wakeOnChanges(ctx context.Context, hub *store.Hub, wake ...func()) {
	changes, cancel := hub.Subscribe()
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				return
			}
			for _, w := range wake {
				w()
			}
		}
	}
}

// buildVersion is the module version or VCS revision the binary was built
// from, for the Instances page.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return s.Value[:12]
		}
	}
	return "devel"
}

func inNets(ip net.IP, nets []*net.IPNet) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// announceSetup prints the one-time first-admin link while no user exists.
func announceSetup(ctx context.Context, st *store.Store, log *slog.Logger, base string) error {
	tok, err := st.CreateSetupToken(ctx)
	if err != nil {
		return err
	}
	if tok != "" {
		log.Warn("no user exists yet: open this one-time link to create the first admin (or run `botdesk user add`)",
			"setup_url", base+"/setup?token="+tok)
	}
	return nil
}
