package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/botdesk/botdesk/handlers"
	"github.com/botdesk/botdesk/store"
)

func newLogger(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv}))
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
	log := newLogger(stderr, cfg.LogLevel)

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

	st, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL})
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

	e, _ := handlers.New(handlers.Deps{Store: st, Sealer: sealer, Log: log,
		Options: handlers.Options{AllowPrivateCallbacks: cfg.AllowPrivateCallbacks, Demo: demoMode, TelegramAPI: cfg.TelegramAPI}})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	base := "http://" + ln.Addr().String()
	if dm == nil {
		if err := announceSetup(ctx, st, log, base); err != nil {
			return err
		}
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("botdesk serving", "url", base, "data_dir", cfg.DataDir, "demo", demoMode)
	if dm != nil {
		if err := dm.seed(ctx, st, base, stderr); err != nil {
			return err
		}
		go dm.simulate(ctx)
	}

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
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
