package store

import (
	"context"
	"fmt"
	"sync"
)

// maxGroupUpdates bounds the updates one group transaction carries (ten
// full getUpdates batches), so a group stays a short transaction however
// many bots are polling; what does not fit waits for the next group.
const maxGroupUpdates = 1000

// ingestCommitter is IngestBatch's group commit. The single writer
// connection runs one transaction at a time, so with several bots polling,
// their batches queue for it; under synchronous=FULL every commit pays a
// WAL write and an fsync, and consecutive batches rewrite the same tail
// pages (the messages and outbox tables, outbox_due). Instead of one
// transaction per batch, the batches waiting at that moment are written in
// ONE transaction, each exactly as alone (its messages, conversations,
// outbox rows, ingested_updates and its own bot's offset), and every
// submitter is answered after that commit.
//
// Leadership needs no goroutine of its own: a submitter queues its batch
// and then either is answered or takes the leader token; the leader takes
// every queued batch (up to maxGroupUpdates), writes them, answers them,
// and gives the token back. If the shared transaction fails for any
// reason, each of its batches is retried in a transaction of its own, so
// one bad batch (a bot deleted meanwhile, a payload that cannot be built)
// fails alone. The zero value is ready to use.
type ingestCommitter struct {
	mu      sync.Mutex
	pending []*ingestReq
	lead    chan struct{} // holds a value while a leader runs; made on first use

	// For tests: transactions committed with more than one batch, batches
	// they held, and groups that fell back to one transaction per batch.
	groups, grouped, fallbacks int
	// beforeCommit, if set (tests only), runs in the shared transaction
	// after its last batch is written.
	beforeCommit func(group []*ingestReq)
}

// ingestReq is one submitted batch and, once done is closed, its outcome.
type ingestReq struct {
	ctx  context.Context
	b    IngestBatch
	res  IngestResult
	err  error
	done chan struct{}
}

// submit queues b and returns once it is committed (or has failed).
func (c *ingestCommitter) submit(ctx context.Context, s *Store, b IngestBatch) (IngestResult, error) {
	r := &ingestReq{ctx: ctx, b: b, done: make(chan struct{})}
	c.mu.Lock()
	if c.lead == nil {
		c.lead = make(chan struct{}, 1)
	}
	lead := c.lead
	c.pending = append(c.pending, r)
	c.mu.Unlock()
	for {
		// A batch taken by a leader is always answered, so once queued
		// the submitter waits for its outcome rather than for ctx: it
		// must not report a failure for a batch that then commits.
		select {
		case <-r.done:
			return r.res, r.err
		case lead <- struct{}{}:
		}
		func() {
			defer func() { <-lead }()
			c.runGroup(s)
		}()
	}
}

// take removes the next group from the queue: the oldest batches, up to
// maxGroupUpdates updates (always at least one batch).
func (c *ingestCommitter) take() []*ingestReq {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, updates := 0, 0
	for n < len(c.pending) {
		u := len(c.pending[n].b.Updates)
		if n > 0 && updates+u > maxGroupUpdates {
			break
		}
		updates += u
		n++
	}
	group := make([]*ingestReq, n)
	copy(group, c.pending[:n])
	c.pending = append(c.pending[:0], c.pending[n:]...)
	return group
}

// runGroup writes the next group, if any, and answers its submitters.
func (c *ingestCommitter) runGroup(s *Store) {
	group := c.take()
	// A submitter whose context ended before its batch was taken gets
	// the error a lone transaction would have failed with.
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = fmt.Errorf("store: ingest: %w", err)
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	answered := 0
	defer func() {
		// A panic in one batch must not leave the others waiting forever.
		if p := recover(); p != nil {
			for _, r := range live[answered:] {
				r.err = fmt.Errorf("store: ingest: group transaction panicked: %v", p)
				close(r.done)
			}
			panic(p)
		}
	}()
	if len(live) == 1 {
		r := live[0]
		r.res, r.err = s.ingestAlone(r.ctx, r.b)
		answered = 1
		close(r.done)
		return
	}
	if len(live) == 0 {
		return
	}
	results, missed, err := s.ingestShared(live)
	if err != nil {
		c.mu.Lock()
		c.fallbacks++
		c.mu.Unlock()
		for _, r := range live {
			r.res, r.err = s.ingestAlone(r.ctx, r.b)
			answered++
			close(r.done)
		}
		return
	}
	c.mu.Lock()
	c.groups++
	c.grouped += len(live)
	c.mu.Unlock()
	for i, r := range live {
		r.res = results[i]
		answered++
		close(r.done)
	}
	// After the commit and the answers: the writer connection is free.
	s.ingestStmts.prepare(context.WithoutCancel(live[0].ctx), s, missed)
}

// ingestShared writes the batches in one transaction, in order. The
// transaction is not cut short by any one submitter's context: each
// submitter waits for its outcome, and a batch half-way through a shared
// transaction belongs to all of them.
func (s *Store) ingestShared(group []*ingestReq) ([]IngestResult, []string, error) {
	hook := s.ingestGroup.beforeCommit
	results := make([]IngestResult, len(group))
	var missed []string
	err := s.WithTx(context.WithoutCancel(group[0].ctx), func(ctx context.Context) error {
		missed = missed[:0]
		for i, r := range group {
			res, conn, err := s.ingestTx(ctx, r.b, false)
			if conn != nil {
				missed = append(missed, conn.missed...)
			}
			if err != nil {
				return err
			}
			for _, c := range res.Changes {
				s.publish(ctx, c)
			}
			results[i] = res
		}
		if hook != nil {
			hook(group)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return results, missed, nil
}
