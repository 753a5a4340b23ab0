package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

// config is every setting, from env with flags mirroring them.
type config struct {
	Addr                  string
	DataDir               string
	DatabaseURL           string
	SecretKey             string
	TelegramAPI           string
	AllowPrivateCallbacks bool
	PollTimeout           time.Duration
	LogLevel              string
	LogFormat             string
	ShutdownTimeout       time.Duration
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// bindConfig registers the shared flags on fs with env defaults.
func bindConfig(fs *flag.FlagSet) (*config, func() error) {
	c := &config{}
	var poll, shutdown string
	var allow string
	fs.StringVar(&c.Addr, "addr", envOr("BOTDESK_ADDR", "127.0.0.1:8080"), "listen address (BOTDESK_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", envOr("BOTDESK_DATA_DIR", "./data"), "data directory for the SQLite file and key file (BOTDESK_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", envOr("BOTDESK_DATABASE_URL", ""), "database URL; empty = SQLite in the data dir (BOTDESK_DATABASE_URL)")
	fs.StringVar(&c.SecretKey, "secret-key", envOr("BOTDESK_SECRET_KEY", ""), "32-byte key (hex or base64) encrypting tokens; empty = key file in the data dir (BOTDESK_SECRET_KEY)")
	fs.StringVar(&c.TelegramAPI, "telegram-api", envOr("BOTDESK_TELEGRAM_API", "https://api.telegram.org"), "Telegram Bot API base URL (BOTDESK_TELEGRAM_API)")
	fs.StringVar(&allow, "allow-private-callbacks", envOr("BOTDESK_ALLOW_PRIVATE_CALLBACKS", "0"), "1 allows http callbacks to loopback, for local testing (BOTDESK_ALLOW_PRIVATE_CALLBACKS)")
	fs.StringVar(&poll, "poll-timeout", envOr("BOTDESK_POLL_TIMEOUT", "30s"), "getUpdates long-poll timeout (BOTDESK_POLL_TIMEOUT)")
	fs.StringVar(&c.LogLevel, "log-level", envOr("BOTDESK_LOG_LEVEL", "info"), "debug, info, warn or error (BOTDESK_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", envOr("BOTDESK_LOG_FORMAT", "text"), "text, or json for log shippers (BOTDESK_LOG_FORMAT)")
	fs.StringVar(&shutdown, "shutdown-timeout", envOr("BOTDESK_SHUTDOWN_TIMEOUT", "15s"), "how long shutdown waits for in-flight work (BOTDESK_SHUTDOWN_TIMEOUT)")
	finish := func() error {
		var err error
		if c.PollTimeout, err = time.ParseDuration(poll); err != nil || c.PollTimeout < 0 || c.PollTimeout > 50*time.Second {
			return fmt.Errorf("BOTDESK_POLL_TIMEOUT %q: want a duration between 0s and 50s", poll)
		}
		if c.ShutdownTimeout, err = time.ParseDuration(shutdown); err != nil || c.ShutdownTimeout <= 0 {
			return fmt.Errorf("BOTDESK_SHUTDOWN_TIMEOUT %q: want a positive duration", shutdown)
		}
		if c.LogFormat != "text" && c.LogFormat != "json" {
			return fmt.Errorf("BOTDESK_LOG_FORMAT %q: want text or json", c.LogFormat)
		}
		switch allow {
		case "1", "true", "yes":
			c.AllowPrivateCallbacks = true
		case "0", "false", "no", "":
		default:
			return fmt.Errorf("BOTDESK_ALLOW_PRIVATE_CALLBACKS %q: want 0 or 1", allow)
		}
		return nil
	}
	return c, finish
}
