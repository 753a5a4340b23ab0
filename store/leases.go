package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"
)

// Bot ownership by leases (docs/deploy.md, "Several instances"). Each
// running botdesk is an instance with an id; the lease loop of
// telegram.Supervisor heartbeats its instances row and its bot_leases rows,
// takes bots whose lease expired and releases bots above its fair share.
// Every query here is plain SQL that SQLite and PostgreSQL run alike; times
// are unix milliseconds computed in Go.

// ErrFenced means a write carried a lease epoch that is no longer the
// bot's: another instance owns the bot now, and the write was refused.
var ErrFenced = errors.New("the bot's lease moved to another instance")

// Lease is an instance's hold on a bot. Epoch identifies the hold: it
// grows by one whenever the bot changes owner. Generation is bumped by
// instances that changed the bot without owning it, so the owner restarts.
type Lease struct {
	BotTelegramID int64
	Owner         string
	Epoch         int64
	Generation    int64
}

// Instance is one running (or recently gone) botdesk on this database.
type Instance struct {
	ID          string
	Version     string
	StartedAt   time.Time
	HeartbeatAt time.Time
	// Live is a heartbeat within the lease lifetime: the instance runs.
	Live bool
	// Bots is how many bots the instance holds a live lease on, and
	// BotNames their usernames, in order.
	Bots     int64
	BotNames []string
}

// NewInstanceID returns a fresh instance id: the host name and 8 random
// bytes, so log lines and the Instances page say where it runs.
func NewInstanceID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "botdesk"
	}
	return host + "-" + hex.EncodeToString(b[:])
}

// InstanceID is the id this store's claims and leases are made under
// (Config.InstanceID, or one generated at Open).
func (s *Store) InstanceID() string { return s.instance }

// Heartbeat records that this instance is alive at now.
func (s *Store) Heartbeat(ctx context.Context, version string, started, now time.Time) error {
	err := s.w(ctx).Exec(`INSERT INTO instances (id, version, started_at, heartbeat_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, version = excluded.version`,
		s.instance, version, started.UnixMilli(), now.UnixMilli()).Error
	if err != nil {
		return fmt.Errorf("store: heartbeat: %w", err)
	}
	return nil
}

// LeaseView is what one turn of the lease loop decides on.
type LeaseView struct {
	// Bots is the number of connected bots; Live the number of instances
	// with a heartbeat since the cut-off (this one included).
	Bots, Live int
	// Mine are the leases this instance holds, by bot id.
	Mine []Lease
	// Free are bots without a live lease (never leased, released, or
	// expired), oldest bot first.
	Free []int64
	// Expiry is the earliest moment after now at which another instance's
	// lease becomes free or its heartbeat stops counting as live (zero
	// when there is none): the loop wakes then rather than at its next
	// turn, so a dead instance's bots move as soon as they may.
	Expiry time.Time
}

// RenewLeases extends every lease this instance holds to expires, drops
// the leases of bots that no longer exist, and returns the view the loop
// decides on. liveSince is the heartbeat cut-off for live instances.
// Renewal never changes an epoch: renewing a lease that expired but that
// nobody took is safe, since a taker would have bumped it.
//
// first is the instance's opening turn: leases still recorded under its id
// (BOTDESK_INSTANCE_ID reused after a crash) get a new epoch, so claims and
// commits of the previous process count as someone else's.
func (s *Store) RenewLeases(ctx context.Context, now, expires, liveSince time.Time, first bool) (LeaseView, error) {
	var v LeaseView
	err := s.WithTx(ctx, func(ctx context.Context) error {
		db := s.w(ctx)
		if first {
			if err := db.Exec("UPDATE bot_leases SET epoch = epoch + 1 WHERE owner_id = ?", s.instance).Error; err != nil {
				return fmt.Errorf("store: renew leases: new epochs: %w", err)
			}
		}
		if err := db.Exec("DELETE FROM bot_leases WHERE bot_telegram_id NOT IN (SELECT telegram_id FROM bots)").Error; err != nil {
			return fmt.Errorf("store: renew leases: drop stale: %w", err)
		}
		if err := s.renewMine(ctx, now, expires); err != nil {
			return err
		}
		var n int64
		if err := db.Raw("SELECT COUNT(*) FROM bots").Scan(&n).Error; err != nil {
			return fmt.Errorf("store: renew leases: count bots: %w", err)
		}
		v.Bots = int(n)
		if err := db.Raw("SELECT COUNT(*) FROM instances WHERE heartbeat_at >= ? OR id = ?", liveSince.UnixMilli(), s.instance).Scan(&n).Error; err != nil {
			return fmt.Errorf("store: renew leases: count instances: %w", err)
		}
		v.Live = int(n)
		rows, err := db.Raw(`SELECT bot_telegram_id, owner_id, epoch, generation FROM bot_leases
			WHERE owner_id = ? ORDER BY bot_telegram_id`, s.instance).Rows()
		if err != nil {
			return fmt.Errorf("store: renew leases: mine: %w", err)
		}
		err = eachRow(rows, func() error {
			var l Lease
			if err := rows.Scan(&l.BotTelegramID, &l.Owner, &l.Epoch, &l.Generation); err != nil {
				return err
			}
			v.Mine = append(v.Mine, l)
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: renew leases: mine: %w", err)
		}
		err = db.Raw(`SELECT b.telegram_id FROM bots b LEFT JOIN bot_leases l ON l.bot_telegram_id = b.telegram_id
			WHERE l.bot_telegram_id IS NULL OR l.expires_at < ? ORDER BY b.id`, now.UnixMilli()).Scan(&v.Free).Error
		if err != nil {
			return fmt.Errorf("store: renew leases: free bots: %w", err)
		}
		// A lease is free once expires_at < now, an instance gone once
		// heartbeat_at < liveSince: each one millisecond after the value.
		var at sql.NullInt64
		err = db.Raw(`SELECT MIN(t) FROM (
			SELECT expires_at + 1 AS t FROM bot_leases WHERE owner_id <> '' AND owner_id <> ? AND expires_at >= ?
			UNION ALL SELECT heartbeat_at + ? FROM instances WHERE id <> ? AND heartbeat_at >= ?) AS x`,
			s.instance, now.UnixMilli(), now.UnixMilli()-liveSince.UnixMilli()+1, s.instance, liveSince.UnixMilli()).Scan(&at).Error
		if err != nil {
			return fmt.Errorf("store: renew leases: next expiry: %w", err)
		}
		if at.Valid {
			v.Expiry = time.UnixMilli(at.Int64)
		}
		return nil
	})
	return v, err
}

// AcquireLease takes the bot for this instance if it has no lease or its
// lease expired before now; the epoch moves on by one. ok is false when a
// live lease of another instance is in the way.
func (s *Store) AcquireLease(ctx context.Context, botTelegramID int64, now, expires time.Time) (l Lease, ok bool, err error) {
	var rows []struct{ Epoch, Generation int64 }
	err = s.w(ctx).Raw(`INSERT INTO bot_leases (bot_telegram_id, owner_id, epoch, expires_at, generation) VALUES (?, ?, 1, ?, 0)
		ON CONFLICT (bot_telegram_id) DO UPDATE SET owner_id = excluded.owner_id, epoch = bot_leases.epoch + 1,
			expires_at = excluded.expires_at
		WHERE bot_leases.expires_at < ?
		RETURNING epoch, generation`, botTelegramID, s.instance, expires.UnixMilli(), now.UnixMilli()).Scan(&rows).Error
	if err != nil {
		return Lease{}, false, fmt.Errorf("store: acquire lease of bot %d: %w", botTelegramID, err)
	}
	if len(rows) == 0 {
		return Lease{}, false, nil
	}
	return Lease{BotTelegramID: botTelegramID, Owner: s.instance, Epoch: rows[0].Epoch, Generation: rows[0].Generation}, true, nil
}

// ReleaseLease gives the bot up so another instance takes it at its next
// turn. It only touches the lease this instance still holds under l.Epoch.
func (s *Store) ReleaseLease(ctx context.Context, l Lease) error {
	err := s.w(ctx).Exec("UPDATE bot_leases SET owner_id = '', expires_at = 0 WHERE bot_telegram_id = ? AND owner_id = ? AND epoch = ?",
		l.BotTelegramID, s.instance, l.Epoch).Error
	if err != nil {
		return fmt.Errorf("store: release lease of bot %d: %w", l.BotTelegramID, err)
	}
	return nil
}

// Leave releases every lease of this instance and removes its instances
// row: a graceful stop, after which the others take its bots at once.
func (s *Store) Leave(ctx context.Context) error {
	return s.WithTx(ctx, func(ctx context.Context) error {
		if err := s.w(ctx).Exec("UPDATE bot_leases SET owner_id = '', expires_at = 0 WHERE owner_id = ?", s.instance).Error; err != nil {
			return fmt.Errorf("store: leave: release leases: %w", err)
		}
		if err := s.w(ctx).Exec("DELETE FROM instances WHERE id = ?", s.instance).Error; err != nil {
			return fmt.Errorf("store: leave: %w", err)
		}
		return nil
	})
}

// BumpBotGeneration asks the bot's owner, whichever instance it is, to
// restart the bot's poller (it re-reads the token and state from the
// database). A bot without a lease needs nothing: its next owner starts
// from the database anyway.
func (s *Store) BumpBotGeneration(ctx context.Context, botTelegramID int64) error {
	if err := s.w(ctx).Exec("UPDATE bot_leases SET generation = generation + 1 WHERE bot_telegram_id = ?", botTelegramID).Error; err != nil {
		return fmt.Errorf("store: signal bot %d: %w", botTelegramID, err)
	}
	return nil
}

// fence refuses the write of ctx's transaction unless l is still the
// bot's lease. The UPDATE locks the lease row (PostgreSQL re-checks the
// condition after waiting for a concurrent takeover), so a takeover either
// commits before it, and the write is refused, or waits for the write's
// commit, and the new owner reads what it wrote.
func (s *Store) fence(ctx context.Context, l *Lease) error {
	res := s.w(ctx).Exec("UPDATE bot_leases SET epoch = epoch WHERE bot_telegram_id = ? AND owner_id = ? AND epoch = ?",
		l.BotTelegramID, l.Owner, l.Epoch)
	if res.Error != nil {
		return fmt.Errorf("store: check lease of bot %d: %w", l.BotTelegramID, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("store: bot %d epoch %d: %w", l.BotTelegramID, l.Epoch, ErrFenced)
	}
	return nil
}

// renewMine extends this instance's leases to expires. Each ingest locks
// its bot's lease row until its commit (fence), so one statement renewing
// every row would wait for the ingest in flight while holding the rows it
// already renewed, and every other bot's next ingest would queue behind it
// (a convoy each beat under load). On PostgreSQL the rows an ingest holds
// are passed over instead, unless their lease is past half its life: a
// busy bot is renewed at one of the next beats, long before it expires.
// SQLite's one writer has no such wait.
func (s *Store) renewMine(ctx context.Context, now, expires time.Time) error {
	db := s.w(ctx)
	if !s.pg {
		if err := db.Exec("UPDATE bot_leases SET expires_at = ? WHERE owner_id = ?", expires.UnixMilli(), s.instance).Error; err != nil {
			return fmt.Errorf("store: renew leases: %w", err)
		}
		return nil
	}
	err := db.Exec(`UPDATE bot_leases SET expires_at = ? WHERE bot_telegram_id IN
		(SELECT bot_telegram_id FROM bot_leases WHERE owner_id = ? FOR UPDATE SKIP LOCKED)`, expires.UnixMilli(), s.instance).Error
	if err != nil {
		return fmt.Errorf("store: renew leases: %w", err)
	}
	half := now.Add(expires.Sub(now) / 2)
	if err := db.Exec("UPDATE bot_leases SET expires_at = ? WHERE owner_id = ? AND expires_at < ?",
		expires.UnixMilli(), s.instance, half.UnixMilli()).Error; err != nil {
		return fmt.Errorf("store: renew leases past half their life: %w", err)
	}
	return nil
}

// LeaseCurrent reports whether l is still the bot's lease.
func (s *Store) LeaseCurrent(ctx context.Context, l Lease) (bool, error) {
	var n int64
	err := s.r(ctx).Raw("SELECT COUNT(*) FROM bot_leases WHERE bot_telegram_id = ? AND owner_id = ? AND epoch = ?",
		l.BotTelegramID, l.Owner, l.Epoch).Scan(&n).Error
	if err != nil {
		return false, fmt.Errorf("store: lease of bot %d: %w", l.BotTelegramID, err)
	}
	return n == 1, nil
}

// Instances lists the instances that heartbeat on this database, newest
// first, with the number of bots each holds.
// An instance is live at now when it heartbeated within ttl; it owns the
// bots whose lease it holds and that has not expired at now.
func (s *Store) Instances(ctx context.Context, now time.Time, ttl time.Duration) ([]Instance, error) {
	rows, err := s.r(ctx).Raw(`SELECT id, version, started_at, heartbeat_at FROM instances
		ORDER BY started_at DESC, id`).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: instances: %w", err)
	}
	var out []Instance
	at := map[string]int{}
	err = eachRow(rows, func() error {
		var in Instance
		var started, beat int64
		if err := rows.Scan(&in.ID, &in.Version, &started, &beat); err != nil {
			return err
		}
		in.StartedAt, in.HeartbeatAt = time.UnixMilli(started).UTC(), time.UnixMilli(beat).UTC()
		in.Live = !in.HeartbeatAt.Before(now.Add(-ttl))
		at[in.ID] = len(out)
		out = append(out, in)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: instances: %w", err)
	}
	rows, err = s.r(ctx).Raw(`SELECT l.owner_id, b.username FROM bot_leases l
		JOIN bots b ON b.telegram_id = l.bot_telegram_id
		WHERE l.expires_at > ? ORDER BY b.username, b.telegram_id`, now.UnixMilli()).Rows()
	if err != nil {
		return nil, fmt.Errorf("store: instances: bots: %w", err)
	}
	err = eachRow(rows, func() error {
		var owner, name string
		if err := rows.Scan(&owner, &name); err != nil {
			return err
		}
		if i, ok := at[owner]; ok {
			out[i].Bots++
			out[i].BotNames = append(out[i].BotNames, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: instances: bots: %w", err)
	}
	return out, nil
}

// ForgetInstances removes the rows of instances silent since before, so
// the Instances page does not list every instance that ever ran.
func (s *Store) ForgetInstances(ctx context.Context, before time.Time) error {
	if err := s.w(ctx).Exec("DELETE FROM instances WHERE heartbeat_at < ? AND id <> ?", before.UnixMilli(), s.instance).Error; err != nil {
		return fmt.Errorf("store: forget instances: %w", err)
	}
	return nil
}

// Lease timing defaults: an owner renews about every DefaultHeartbeat, and
// a lease (or an instance) silent for DefaultLeaseTTL is taken over.
const (
	DefaultHeartbeat = 5 * time.Second
	DefaultLeaseTTL  = 15 * time.Second
)
