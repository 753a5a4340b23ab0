package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// snapshotProbe asks PostgreSQL for its current snapshot (the read cache's
// version) and lets concurrent callers share the answer without ever
// handing one a version older than its own call.
//
// Every page load asks several times (session, settings, list, frame), and
// on PostgreSQL each ask is a round trip that costs both the server and the
// client more than the cached page itself. A probe that is already running
// may have read the snapshot before a caller's call began, so a caller
// never joins it: it joins the next probe, which starts as soon as the
// running one ends and answers everyone who arrived meanwhile. Every
// commit that finished before a call began is therefore in the snapshot
// that call gets, exactly as if it had asked alone, and the round trips
// under load fall from one per ask to about two per round trip time.
type snapshotProbe struct {
	pool *sql.DB

	mu      sync.Mutex
	running *probeCall // nil when no probe is in flight
	next    *probeCall // callers waiting for the probe after running
	// onQueried, if set (tests only), runs after each probe's query,
	// before its callers are answered.
	onQueried func()
	// onJoin, if set (tests only), runs when a caller starts waiting.
	onJoin func()
}

// probeCall is one snapshot query and everyone it answers.
type probeCall struct {
	done    chan struct{}
	version cacheVersion
	ok      bool
}

// current returns a snapshot read after the call began; ok is false if
// the query failed (the caller then reads without the cache).
func (p *snapshotProbe) current() (cacheVersion, bool) {
	p.mu.Lock()
	if p.running == nil {
		c := &probeCall{done: make(chan struct{})}
		p.running = c
		p.mu.Unlock()
		p.run(c)
		return c.version, c.ok
	}
	if p.next == nil {
		p.next = &probeCall{done: make(chan struct{})}
	}
	c := p.next
	p.mu.Unlock()
	if p.onJoin != nil {
		p.onJoin()
	}
	<-c.done
	return c.version, c.ok
}

// run queries for c, then starts the probe its waiters queued meanwhile
// (if any) on the same goroutine, until no one is waiting.
func (p *snapshotProbe) run(c *probeCall) {
	for c != nil {
		c.version, c.ok = p.query()
		close(c.done)
		p.mu.Lock()
		c, p.next = p.next, nil
		p.running = c
		p.mu.Unlock()
	}
}

func (p *snapshotProbe) query() (cacheVersion, bool) {
	if p.onQueried != nil {
		defer p.onQueried()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var v cacheVersion
	if err := p.pool.QueryRowContext(ctx, pgSnapshotSQL).Scan(&v.s); err != nil {
		return cacheVersion{}, false
	}
	return v, true
}
