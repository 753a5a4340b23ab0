package store

import (
	"context"
	"sync"
)

// A page scope lets one page load ask the database for its version once
// instead of at every cached read (session, settings, unread total, list,
// frame): every read of the page then comes from the same committed state,
// the one at its first ask. That is never older than the request itself,
// so the page is as fresh as if every read had asked, and it is
// consistent with itself. The scope's version is dropped as soon as this
// store starts a write (Store.writeStarted), so a request that changes
// something and then renders reads what it wrote.
//
// Only requests that end with their response take a scope: a stream
// lives for hours and must ask again for every event (WithoutPageScope).
type pageScope struct {
	mu      sync.Mutex
	set     bool
	version cacheVersion
	writes  uint64 // Store.writes when version was read
}

type pageScopeKey struct{}

// WithPageScope returns ctx carrying a fresh page scope.
func WithPageScope(ctx context.Context) context.Context {
	return context.WithValue(ctx, pageScopeKey{}, &pageScope{})
}

// WithoutPageScope returns ctx without a page scope: each cached read asks
// the database for its version again.
func WithoutPageScope(ctx context.Context) context.Context {
	if sc, _ := ctx.Value(pageScopeKey{}).(*pageScope); sc == nil {
		return ctx
	}
	return context.WithValue(ctx, pageScopeKey{}, (*pageScope)(nil))
}

// writeStarted is called before every write this store makes outside a
// transaction and before every transaction: it ends the reuse of every
// page scope's version.
func (s *Store) writeStarted() { s.writes.Add(1) }

// cacheVersion is the version a cached read of ctx is keyed under.
func (s *Store) cacheVersion(ctx context.Context) (cacheVersion, bool) {
	sc, _ := ctx.Value(pageScopeKey{}).(*pageScope)
	if sc == nil {
		return s.cache.currentVersion()
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	// Read before the probe: a write starting meanwhile then makes the
	// next read ask again.
	w := s.writes.Load()
	if sc.set && sc.writes == w {
		return sc.version, true
	}
	v, ok := s.cache.currentVersion()
	if ok {
		sc.set, sc.version, sc.writes = true, v, w
	}
	return v, ok
}
