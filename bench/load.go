package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// loadResult is a closed-loop load run: clients each send the next request
// as soon as the previous answer was read in full.
type loadResult struct {
	Requests int
	Errors   int
	Elapsed  time.Duration
	Lat      Latencies
	Bytes    int64 // body size of the last answer, for the notes
}

func (r loadResult) perSecond() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// newLoadClient is the one client every load run uses, baselines included.
func newLoadClient(clients int) *http.Client {
	tr := &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, IdleConnTimeout: time.Minute}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// runLoad runs clients goroutines against newReq for d (after a short
// warm-up that is not counted). Every loop is bounded by d and maxReq.
func runLoad(ctx context.Context, hc *http.Client, clients int, d time.Duration, maxReq int, newReq func(context.Context) (*http.Request, error)) (loadResult, error) {
	one := func(ctx context.Context) (time.Duration, int64, error) {
		req, err := newReq(ctx)
		if err != nil {
			return 0, 0, err
		}
		t0 := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, 0, err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, n, fmt.Errorf("status %d", resp.StatusCode)
		}
		return time.Since(t0), n, nil
	}
	// Warm-up: connections opened, caches and pools filled.
	warm := time.Now().Add(d / 5)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(warm) {
				if _, _, err := one(ctx); err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()

	var mu sync.Mutex
	var res loadResult
	var lats []time.Duration
	var firstErr error
	start := time.Now()
	end := start.Add(d)
	perClient := maxReq / clients
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			errs := 0
			var size int64
			for i := 0; i < perClient && time.Now().Before(end); i++ {
				lat, n, err := one(ctx)
				if err != nil {
					errs++
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				size = n
				local = append(local, lat)
			}
			mu.Lock()
			lats = append(lats, local...)
			res.Errors += errs
			res.Bytes = max(res.Bytes, size)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Requests = len(lats)
	res.Lat = summarize(lats)
	if res.Errors > 0 {
		return res, fmt.Errorf("bench: %d of %d requests failed, first: %v", res.Errors, res.Errors+res.Requests, firstErr)
	}
	return res, nil
}
