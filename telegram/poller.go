package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/botdesk/botdesk/models"
	"github.com/botdesk/botdesk/store"
)

// poller is the one goroutine that receives a bot's updates. Its loop is
// the whole "ingest without loss" contract:
//
//  1. read the offset from the bots row (the database is the only truth;
//     nothing is remembered between iterations),
//  2. getUpdates with that offset, which also confirms to Telegram every
//     update below it, all of them already committed,
//  3. store the batch, the chats, conversations, outbox events and the new
//     offset in one transaction (store.IngestBatch),
//  4. only then announce the new messages and go back to 1.
//
// A crash between any two steps either loses an uncommitted batch, which
// Telegram still holds and sends again, or replays a committed one, which
// ingested_updates turns into a no-op.
type poller struct {
	sup       *Supervisor
	botID     int64
	channelID string
	client    *Client
	cancel    context.CancelFunc
	done      chan struct{}
	// lease is the hold this poller runs under; its commits carry it and
	// are refused once another instance took the bot.
	lease store.Lease
	// tokenEnc is the sealed token the client was built from.
	tokenEnc []byte
	state    atomic.Value // string: the bot state this poller last recorded
	// lastAnswer is when getUpdates last answered without error (unix
	// ns), for the poll-lag gauge.
	lastAnswer atomic.Int64
}

func (p *poller) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// batchLimit is how many updates one getUpdates asks for.
const batchLimit = MaxUpdatesLimit

func (p *poller) run(ctx context.Context) {
	defer close(p.done)
	cfg := p.sup.cfg
	log := cfg.Log.With("bot_id", p.botID)
	failures := 0
	quick := true // the first call and the first after a failure do not long-poll
	for ctx.Err() == nil {
		bot, err := cfg.Store.BotByTelegramID(ctx, p.botID)
		if errors.Is(err, store.ErrNotFound) {
			log.Info("bot was deleted; poller exits")
			return
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			log.Error("reading bot state", "err", err)
			_ = cfg.Wait(ctx, backoff(cfg.BackoffMin, cfg.BackoffMax, failures))
			continue
		}
		timeout := cfg.PollTimeout
		if quick {
			// Answered at once, so the console shows "polling" (or the
			// reason it cannot) right after Connect instead of a long poll
			// later.
			timeout = 0
		}
		raws, err := p.client.GetUpdatesRaw(ctx, bot.UpdateOffset, batchLimit, timeout)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			quick = true
			if stop := p.handleError(ctx, bot, err, &failures); stop {
				return
			}
			continue
		}
		quick, failures = false, 0
		p.lastAnswer.Store(time.Now().UnixNano())
		if len(raws) == 0 {
			if bot.State != models.BotPolling {
				p.setState(ctx, models.BotPolling, "")
			}
			continue
		}
		if stop := p.ingest(ctx, raws, &failures); stop {
			return
		}
	}
}

// ingest stores one batch; it reports whether the poller must stop.
func (p *poller) ingest(ctx context.Context, raws []json.RawMessage, failures *int) bool {
	cfg := p.sup.cfg
	ups, next, unreadable, ok := decodeBatch(raws)
	if unreadable > 0 {
		cfg.Log.Warn("some updates could not be read in full; stored what could be read", "bot_id", p.botID, "count", unreadable)
		p.sup.metrics.addError("undecodable_update")
	}
	if !ok {
		// Not one update_id could be read: the offset cannot move safely.
		*failures++
		p.setState(ctx, models.BotError, "Telegram sent updates botdesk cannot read; retrying.")
		_ = cfg.Wait(ctx, backoff(cfg.BackoffMin, cfg.BackoffMax, *failures))
		return false
	}
	// The commit is not cut short by Stop: finishing it is quick, and a
	// batch committed now is one Telegram need not send again.
	res, err := cfg.Store.IngestBatch(context.WithoutCancel(ctx), store.IngestBatch{
		BotTelegramID: p.botID, Updates: ups, NextOffset: next, MOPayload: p.sup.cfg.Events.MO, Lease: &p.lease,
	})
	if errors.Is(err, store.ErrNotFound) {
		return true
	}
	if errors.Is(err, store.ErrFenced) {
		// Another instance polls the bot now and fetches this batch again
		// from the offset committed before it took over.
		p.sup.metrics.addLease(func(m *leaseMetrics) { m.fenced++ })
		cfg.Log.Warn("the bot's lease moved to another instance; batch not stored, poller exits", "bot_id", p.botID)
		return true
	}
	if err != nil {
		*failures++
		cfg.Log.Error("storing updates", "bot_id", p.botID, "err", err)
		p.setState(ctx, models.BotError, "Received updates could not be saved to the database; retrying.")
		_ = cfg.Wait(ctx, backoff(cfg.BackoffMin, cfg.BackoffMax, *failures))
		return false
	}
	p.state.Store(string(models.BotPolling))
	m := &p.sup.metrics
	m.mu.Lock()
	m.ingested += int64(res.Ingested)
	m.replayed += int64(res.Replayed)
	m.mu.Unlock()
	return false
}

// handleError turns a failed getUpdates into the bot's state and the wait
// before the next try; it reports whether polling must stop.
func (p *poller) handleError(ctx context.Context, bot *models.Bot, err error, failures *int) bool {
	cfg := p.sup.cfg
	m := &p.sup.metrics
	var conflict *ConflictError
	var ra *RetryAfterError
	switch {
	case errors.Is(err, ErrUnauthorized) && !bytes.Equal(bot.TokenEnc, p.tokenEnc):
		// The token was replaced (Update Token, perhaps on another
		// instance) after this poller started: the old one being refused
		// says nothing about the new one. The restart that follows the
		// change polls with it.
		m.addError("unauthorized")
		return true
	case errors.Is(err, ErrUnauthorized):
		m.addError("unauthorized")
		p.markTokenInvalid(ctx, bot)
		return true
	case errors.As(err, &conflict) && conflict.Webhook:
		m.addError("conflict_webhook")
		p.setState(ctx, models.BotConflict, "A webhook is set for this bot, so Telegram will not give botdesk its messages. "+
			"Another service probably receives them. If this bot should run here, use “Switch this bot to polling”, which deletes the webhook.")
		return true
	case errors.As(err, &conflict) && !p.leaseCurrent(ctx):
		// This instance stalled past its lease and the new owner's
		// getUpdates ended ours: not another program, nothing to show.
		m.addError("conflict_lease_lost")
		return true
	case errors.As(err, &conflict):
		m.addError("conflict_polling")
		*failures++
		p.setState(ctx, models.BotConflict, fmt.Sprintf("Another program is polling this bot with the same token, and Telegram allows only one. "+
			"Stop the other program; botdesk retries every %s.", cfg.ConflictRetry))
		_ = cfg.Wait(ctx, cfg.ConflictRetry)
		return false
	case errors.As(err, &ra):
		m.addError("retry_after")
		m.mu.Lock()
		m.retryAfterWaits++
		m.mu.Unlock()
		_ = cfg.Wait(ctx, ra.After)
		return false
	}
	kind := "unavailable"
	if !errors.Is(err, ErrUnavailable) {
		kind = "api"
	}
	m.addError(kind)
	*failures++
	wait := backoff(cfg.BackoffMin, cfg.BackoffMax, *failures)
	p.setState(ctx, models.BotError, fmt.Sprintf("%s; retrying in %s.", plainReason(err), wait.Round(time.Second)))
	_ = cfg.Wait(ctx, wait)
	return false
}

// leaseCurrent reports whether the poller's lease is still the bot's (a
// database error counts as current, so the conflict is shown).
func (p *poller) leaseCurrent(ctx context.Context) bool {
	ok, err := p.sup.cfg.Store.LeaseCurrent(ctx, p.lease)
	return ok || err != nil
}

// plainReason is an error in the words shown to operators: the classified
// cause and Telegram's short detail, never the method plumbing or a token.
func plainReason(err error) string {
	if op, ok := errorsAs[*OpError](err); ok {
		return RedactString(op.reason())
	}
	return RedactString(err.Error())
}

// setState records the poller's state; the bot being gone is not an error
// here (the next loop iteration notices and exits).
func (p *poller) setState(ctx context.Context, st models.BotState, detail string) {
	p.state.Store(string(st))
	prev, err := p.sup.cfg.Store.SetBotState(context.WithoutCancel(ctx), p.botID, st, detail)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			p.sup.cfg.Log.Error("recording bot state", "bot_id", p.botID, "state", st, "err", err)
		}
		return
	}
	if prev != st {
		p.sup.cfg.Store.Publish(ctx, store.Change{Kind: "bot", ChannelID: p.channelID})
	}
}

// tokenInvalidDetail is the state detail and notification text for a 401.
const tokenInvalidDetail = "Telegram rejected the bot token: it was revoked in @BotFather or the bot was deleted. " +
	"Polling has stopped. Paste a new token with Update Token."

// markTokenInvalid records token_invalid and, on the transition only,
// enqueues the token_invalid notification in the same transaction.
func (p *poller) markTokenInvalid(ctx context.Context, bot *models.Bot) {
	st := p.sup.cfg.Store
	p.state.Store(string(models.BotTokenInvalid))
	err := st.WithTx(context.WithoutCancel(ctx), func(ctx context.Context) error {
		prev, err := st.SetBotState(ctx, p.botID, models.BotTokenInvalid, tokenInvalidDetail)
		if err != nil || prev == models.BotTokenInvalid {
			return err
		}
		payload, err := p.sup.cfg.Events.TokenInvalid(bot, tokenInvalidDetail, time.Now())
		if err != nil {
			return fmt.Errorf("poller: token_invalid payload: %w", err)
		}
		return st.EnqueueEvent(ctx, bot.ChannelID, store.OutboxNotify, "bot:"+strconv.FormatInt(bot.TelegramID, 10), payload)
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		p.sup.cfg.Log.Error("recording invalid token", "bot_id", p.botID, "err", err)
	}
	// A Change lets an open Chatbot Management panel show it at once.
	p.sup.cfg.Store.Publish(ctx, store.Change{Kind: "bot", ChannelID: bot.ChannelID})
}
