package handlers

// Token buckets on /api/v1: one per API key and one per client IP
// (docs/api.md "Rate limits"). The IP bucket is taken first, so guessing
// keys is limited too. A request takes one token when it starts, whatever
// it does next: a queue long poll of 20 s counts once. Buckets live in
// this process; with several instances each one limits on its own.

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Default API limits (BOTDESK_API_RATE, _BURST, _IP_RATE, _IP_BURST).
const (
	DefaultAPIRate  = 20
	DefaultAPIBurst = 40
	// maxBuckets bounds memory under a spray of IPs; past it idle buckets go.
	maxBuckets = 100_000
)

type apiLimiter struct {
	keyRate, ipRate   rate.Limit
	keyBurst, ipBurst int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastPrune time.Time

	limitedKey, limitedIP atomic.Int64
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newAPILimiter(o Options) *apiLimiter {
	pick := func(r float64, b int) (rate.Limit, int) {
		if r <= 0 {
			r = DefaultAPIRate
		}
		if b <= 0 {
			b = DefaultAPIBurst
		}
		return rate.Limit(r), b
	}
	l := &apiLimiter{buckets: map[string]*bucket{}, lastPrune: time.Now()}
	l.keyRate, l.keyBurst = pick(o.APIRate, o.APIBurst)
	l.ipRate, l.ipBurst = pick(o.APIIPRate, o.APIIPBurst)
	return l
}

// take removes one token from the named bucket; it returns the bucket's
// state for the headers.
func (l *apiLimiter) take(name string, r rate.Limit, burst int, now time.Time) (ok bool, remaining float64, lim *rate.Limiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastPrune) > time.Minute || len(l.buckets) > maxBuckets {
		l.prune(now)
	}
	b := l.buckets[name]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(r, burst)}
		l.buckets[name] = b
	}
	b.seen = now
	ok = b.lim.AllowN(now, 1)
	return ok, b.lim.TokensAt(now), b.lim
}

// prune drops buckets idle long enough to be full again: forgetting one is
// then the same as keeping it.
func (l *apiLimiter) prune(now time.Time) {
	l.lastPrune = now
	for k, b := range l.buckets {
		full := time.Duration(float64(b.lim.Burst()) / float64(b.lim.Limit()) * float64(time.Second))
		if now.Sub(b.seen) > full+time.Second {
			delete(l.buckets, k)
		}
	}
}

// apiRateLimit applies the buckets to /api/ requests and sets the
// RateLimit-* headers from the tighter one.
func (s *Server) apiRateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !isAPI(c) {
			return next(c)
		}
		l, now := s.apiLimits, time.Now()
		ok, remaining, lim := l.take("ip:"+c.RealIP(), l.ipRate, l.ipBurst, now)
		if !ok {
			l.limitedIP.Add(1)
			return rateLimited(c, lim, remaining)
		}
		if k := currentKey(c); k != nil {
			kok, krem, klim := l.take("key:"+strconv.FormatInt(k.ID, 10), l.keyRate, l.keyBurst, now)
			if !kok {
				l.limitedKey.Add(1)
				return rateLimited(c, klim, krem)
			}
			if krem < remaining {
				remaining, lim = krem, klim
			}
		}
		setRateHeaders(c, lim, remaining)
		return next(c)
	}
}

// setRateHeaders follows the IETF RateLimit header fields draft: the
// bucket size, the whole tokens left and the seconds until it is full.
func setRateHeaders(c echo.Context, lim *rate.Limiter, remaining float64) {
	h := c.Response().Header()
	h.Set("RateLimit-Limit", strconv.Itoa(lim.Burst()))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(int(math.Floor(remaining)), 0)))
	reset := (float64(lim.Burst()) - max(remaining, 0)) / float64(lim.Limit())
	h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(reset))))
}

func rateLimited(c echo.Context, lim *rate.Limiter, remaining float64) error {
	setRateHeaders(c, lim, remaining)
	wait := time.Duration((1 - remaining) / float64(lim.Limit()) * float64(time.Second))
	retryAfter(c, wait)
	return echo.NewHTTPError(http.StatusTooManyRequests, "Too many requests: this API key or address is over its rate limit; wait Retry-After seconds.")
}
