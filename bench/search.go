package bench

// The full-text search figure: 1M stored messages with a realistic spread
// of words, searched through store.Search (FTS4 index, workbench filter,
// snippets) by word, by two words and by prefix.

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/botdesk/botdesk/store"
)

// SearchSizes bound the search scenario.
type SearchSizes struct {
	Messages, Conversations, Channels int
	Vocabulary                        int // distinct words
	Queries                           int
}

// searchWord is word i of the bench vocabulary ("w" + base-36 + "x": no
// word is a prefix of another, so a query's hit count is known).
func searchWord(i int) string { return "w" + strings.ToLower(fmt.Sprintf("%x", i*7919)) + "x" }

// searchText is message i: eight words drawn from the vocabulary with a
// skew (a few common words, a long tail), like real chat.
func searchText(r *rand.Rand, vocab int) string {
	words := make([]string, 8)
	for j := range words {
		// min of two uniforms: word k is drawn with probability ~ 2(V-k)/V².
		k := min(r.IntN(vocab), r.IntN(vocab))
		words[j] = searchWord(k)
	}
	return strings.Join(words, " ")
}

// MeasureSearch seeds the messages (the index maintained by the same
// triggers as the ingest's) and times Queries searches.
func MeasureSearch(ctx context.Context, root string, sz SearchSizes) ([]Figure, error) {
	dir := dataDir(root, "search")
	path, err := migrate(ctx, dir)
	if err != nil {
		return nil, err
	}
	seedStart := time.Now()
	if err := seedSearch(ctx, path, sz); err != nil {
		return nil, err
	}
	seedTook := time.Since(seedStart)
	st, err := store.Open(ctx, store.Config{DataDir: dir, NoReadCache: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	r := rand.New(rand.NewPCG(7, 11))
	var all []time.Duration
	hits := 0
	for i := 0; i < sz.Queries; i++ {
		var q string
		switch i % 3 {
		case 0: // one word of the whole range
			q = searchWord(r.IntN(sz.Vocabulary))
		case 1: // two words
			q = searchWord(r.IntN(sz.Vocabulary)) + " " + searchWord(r.IntN(sz.Vocabulary/10))
		default: // a prefix, as typed
			w := searchWord(r.IntN(sz.Vocabulary))
			q = w[:max(3, len(w)-2)]
		}
		t0 := time.Now()
		res, err := st.Search(ctx, store.SearchFilter{Query: q, Limit: 20})
		if err != nil {
			return nil, err
		}
		all = append(all, time.Since(t0))
		hits += len(res)
	}
	// The most common word, alone: the longest list the index must walk.
	common := searchWord(0)
	var worst []time.Duration
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		if _, err := st.Search(ctx, store.SearchFilter{Query: common, Limit: 20}); err != nil {
			return nil, err
		}
		worst = append(worst, time.Since(t0))
	}
	l, w := summarize(all), summarize(worst)
	how := fmt.Sprintf("%d messages (8 words each from a skewed %d-word vocabulary) in %d workbench conversations of %d channels, seeded with raw INSERTs, the FTS4 index of migration 0006 built once after them (%s); %d searches through store.Search (FTS4 MATCH, every word required, last word as prefix, workbench and channel join, snippet with highlights, newest 20): one word, two words, a prefix; %d results in all, p90 %s, max %s.",
		sz.Messages, sz.Vocabulary, sz.Conversations, sz.Channels, seedTook.Round(time.Second), sz.Queries, hits, ms(l.P90), ms(l.Max))
	return []Figure{
		{Name: fmt.Sprintf("full-text search, %s messages", humanCount(sz.Messages)), Value: fmt.Sprintf("p50 %s, p99 %s", ms(l.P50), ms(l.P99)),
			Baseline: "—", Ratio: "—", Target: "p99 < 50 ms", Status: check(l.P99 < 50*time.Millisecond), Notes: how},
		{Name: "full-text search, the most common word", Value: fmt.Sprintf("p50 %s, p99 %s", ms(w.P50), ms(w.P99)),
			Baseline: "—", Ratio: "—", Target: "— (context for the row above)", Status: Info,
			Notes: fmt.Sprintf("The same database; %q is in about a quarter of all messages, so its whole posting list is read for the newest 20.", common)},
	}, nil
}

// seedSearch writes the channels, conversations and messages.
func seedSearch(ctx context.Context, path string, sz SearchSizes) error {
	if err := seedWorkspace(ctx, path, seedSpec{Channels: sz.Channels, Conversations: sz.Conversations}); err != nil {
		return err
	}
	db, err := openSeed(path)
	if err != nil {
		return err
	}
	defer db.Close()
	rebuild, err := deferTextIndex(ctx, benchDB{path: path}, db)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Now().UTC().Add(-time.Duration(sz.Messages) * time.Second)
	const perTx = 50_000
	for lo := 0; lo < sz.Messages; lo += perTx {
		hi := min(lo+perTx, sz.Messages)
		err := inTx(ctx, db, `INSERT INTO messages (channel_id, bot_telegram_id, update_id, chat_id, chat_type, telegram_message_id,
			direction, from_id, type, text, status, created_at) VALUES (?, 1, ?, ?, 'private', ?, 'in', ?, 'text', ?, 'received', ?)`,
			func(stmt *sql.Stmt) error {
				for i := lo; i < hi; i++ {
					conv := i % sz.Conversations
					if _, err := stmt.ExecContext(ctx, channelID(conv%sz.Channels), i+1, chatID(conv), i, chatID(conv), searchText(r, sz.Vocabulary), start.Add(time.Duration(i)*time.Second)); err != nil {
						return err
					}
				}
				return nil
			})
		if err != nil {
			return fmt.Errorf("bench: seed search messages: %w", err)
		}
	}
	return rebuild()
}
