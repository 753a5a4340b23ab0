package main

import (
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/botdesk/botdesk/sso"
	"github.com/botdesk/botdesk/store"
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
	// PublicURL is the URL users open; "" = http://<listen address>.
	PublicURL      string
	TrustedProxies []*net.IPNet
	SessionMaxAge  time.Duration
	// API token buckets per key and per client IP (0 = handler defaults).
	APIRate, APIIPRate   float64
	APIBurst, APIIPBurst int
	MaxConnsPerIP        int
	LoginConcurrency     int
	// OIDC single sign-on (BOTDESK_OIDC_*); Issuer "" = none.
	OIDC sso.Config
	// InstanceID names this process among instances sharing a database;
	// "" = generated at start-up (store.NewInstanceID).
	InstanceID string
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
	var proxies, maxAge string
	var apiRate, apiBurst, apiIPRate, apiIPBurst, maxConns, loginConc string
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
	fs.StringVar(&c.PublicURL, "public-url", envOr("BOTDESK_PUBLIC_URL", ""), "URL users open, e.g. https://desk.example.com; https makes cookies Secure (__Host-) and sends HSTS; empty = http://<addr> (BOTDESK_PUBLIC_URL)")
	fs.StringVar(&proxies, "trusted-proxies", envOr("BOTDESK_TRUSTED_PROXIES", ""), "comma-separated CIDRs of reverse proxies whose X-Forwarded-For/X-Real-IP are believed (BOTDESK_TRUSTED_PROXIES)")
	fs.StringVar(&maxAge, "session-max-age", envOr("BOTDESK_SESSION_MAX_AGE", "168h"), "absolute session lifetime, however active (BOTDESK_SESSION_MAX_AGE)")
	fs.StringVar(&apiRate, "api-rate", envOr("BOTDESK_API_RATE", "20"), "API requests per second per key (BOTDESK_API_RATE)")
	fs.StringVar(&apiBurst, "api-burst", envOr("BOTDESK_API_BURST", "40"), "API burst per key (BOTDESK_API_BURST)")
	fs.StringVar(&apiIPRate, "api-ip-rate", envOr("BOTDESK_API_IP_RATE", "20"), "API requests per second per client IP (BOTDESK_API_IP_RATE)")
	fs.StringVar(&apiIPBurst, "api-ip-burst", envOr("BOTDESK_API_IP_BURST", "40"), "API burst per client IP (BOTDESK_API_IP_BURST)")
	fs.StringVar(&maxConns, "max-conns-per-ip", envOr("BOTDESK_MAX_CONNS_PER_IP", "256"), "open connections allowed per client IP, trusted proxies exempt; 0 = no cap (BOTDESK_MAX_CONNS_PER_IP)")
	fs.StringVar(&loginConc, "login-concurrency", envOr("BOTDESK_LOGIN_CONCURRENCY", "0"), "password hashes computed at once; beyond it sign-ins get 429; 0 = number of CPUs (BOTDESK_LOGIN_CONCURRENCY)")
	fs.StringVar(&c.InstanceID, "instance-id", envOr("BOTDESK_INSTANCE_ID", ""), "this instance's name among several on one database; empty = host name and a random suffix (BOTDESK_INSTANCE_ID)")
	var roleMap, domains string
	fs.StringVar(&c.OIDC.Issuer, "oidc-issuer", envOr("BOTDESK_OIDC_ISSUER", ""), "OIDC issuer URL for single sign-on; empty = none (BOTDESK_OIDC_ISSUER)")
	fs.StringVar(&c.OIDC.ClientID, "oidc-client-id", envOr("BOTDESK_OIDC_CLIENT_ID", ""), "OIDC client id (BOTDESK_OIDC_CLIENT_ID)")
	fs.StringVar(&c.OIDC.ClientSecret, "oidc-client-secret", envOr("BOTDESK_OIDC_CLIENT_SECRET", ""), "OIDC client secret (BOTDESK_OIDC_CLIENT_SECRET)")
	fs.StringVar(&c.OIDC.RoleClaim, "oidc-role-claim", envOr("BOTDESK_OIDC_ROLE_CLAIM", "groups"), "ID token claim with the user's groups or roles (BOTDESK_OIDC_ROLE_CLAIM)")
	fs.StringVar(&roleMap, "oidc-role-map", envOr("BOTDESK_OIDC_ROLE_MAP", ""), "claim values to roles, like desk-admins=admin,support=agent (BOTDESK_OIDC_ROLE_MAP)")
	fs.StringVar(&domains, "oidc-allowed-domains", envOr("BOTDESK_OIDC_ALLOWED_DOMAINS", ""), "comma-separated e-mail domains allowed to sign in; empty = any (BOTDESK_OIDC_ALLOWED_DOMAINS)")
	finish := func() error {
		var err error
		if c.OIDC.Issuer != "" {
			if c.OIDC.RoleMap, err = sso.ParseRoleMap(roleMap); err != nil {
				return err
			}
			for _, d := range strings.Split(domains, ",") {
				if d = strings.TrimSpace(d); d != "" {
					c.OIDC.AllowedDomains = append(c.OIDC.AllowedDomains, d)
				}
			}
		}
		if c.PublicURL, err = parsePublicURL(c.PublicURL); err != nil {
			return err
		}
		if c.TrustedProxies, err = parseCIDRs(proxies); err != nil {
			return err
		}
		if c.SessionMaxAge, err = time.ParseDuration(maxAge); err != nil || c.SessionMaxAge < time.Minute {
			return fmt.Errorf("BOTDESK_SESSION_MAX_AGE %q: want a duration of at least 1m, like 168h", maxAge)
		}
		for _, f := range []struct {
			name, v string
			dst     *float64
		}{{"BOTDESK_API_RATE", apiRate, &c.APIRate}, {"BOTDESK_API_IP_RATE", apiIPRate, &c.APIIPRate}} {
			if *f.dst, err = strconv.ParseFloat(f.v, 64); err != nil || *f.dst <= 0 {
				return fmt.Errorf("%s %q: want a positive number of requests per second", f.name, f.v)
			}
		}
		for _, f := range []struct {
			name, v string
			dst     *int
			min     int
		}{{"BOTDESK_API_BURST", apiBurst, &c.APIBurst, 1}, {"BOTDESK_API_IP_BURST", apiIPBurst, &c.APIIPBurst, 1},
			{"BOTDESK_MAX_CONNS_PER_IP", maxConns, &c.MaxConnsPerIP, 0}, {"BOTDESK_LOGIN_CONCURRENCY", loginConc, &c.LoginConcurrency, 0}} {
			if *f.dst, err = strconv.Atoi(f.v); err != nil || *f.dst < f.min {
				return fmt.Errorf("%s %q: want a whole number of at least %d", f.name, f.v, f.min)
			}
		}
		if c.PollTimeout, err = time.ParseDuration(poll); err != nil || c.PollTimeout < 0 || c.PollTimeout > 50*time.Second {
			return fmt.Errorf("BOTDESK_POLL_TIMEOUT %q: want a duration between 0s and 50s", poll)
		}
		if c.ShutdownTimeout, err = time.ParseDuration(shutdown); err != nil || c.ShutdownTimeout <= 0 {
			return fmt.Errorf("BOTDESK_SHUTDOWN_TIMEOUT %q: want a positive duration", shutdown)
		}
		if c.LogFormat != "text" && c.LogFormat != "json" {
			return fmt.Errorf("BOTDESK_LOG_FORMAT %q: want text or json", c.LogFormat)
		}
		if c.DatabaseURL != "" {
			if !store.IsPostgresURL(c.DatabaseURL) {
				return fmt.Errorf("BOTDESK_DATABASE_URL %s: unsupported scheme; want postgres://… (or empty for SQLite)", store.RedactURL(c.DatabaseURL))
			}
			if c.SecretKey == "" {
				// Instances share one database, so they must share the
				// key that decrypts its tokens: no per-machine key file.
				return fmt.Errorf("BOTDESK_SECRET_KEY is required with PostgreSQL (every instance must decrypt the same tokens); make one with: openssl rand -hex 32")
			}
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

// parsePublicURL checks BOTDESK_PUBLIC_URL: an absolute http(s) URL of the
// site root (the __Host- cookies need Path=/), returned without a trailing
// slash.
func parsePublicURL(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("BOTDESK_PUBLIC_URL %q: want the site root users open, like https://desk.example.com", v)
	}
	return u.Scheme + "://" + u.Host, nil
}

// parseCIDRs reads BOTDESK_TRUSTED_PROXIES: CIDRs or single addresses.
func parseCIDRs(v string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			ip := net.ParseIP(f)
			if ip == nil {
				return nil, fmt.Errorf("BOTDESK_TRUSTED_PROXIES: %q is neither an address nor a CIDR", f)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(f)
		if err != nil {
			return nil, fmt.Errorf("BOTDESK_TRUSTED_PROXIES: %q is not a CIDR like 10.0.0.0/8", f)
		}
		out = append(out, n)
	}
	return out, nil
}
