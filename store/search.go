package store

// Full-text search over message texts and captions, limited to the
// conversations the workbench shows. The index is maintained by triggers
// on messages (migration 0006), so every write, the batched ingest
// included, updates it in its own transaction.
//
// The dialect seam: searchSQL and pgSearchSQL are the only places that know
// the index. On SQLite it is FTS4 (messages_fts, MATCH, snippet()); on
// PostgreSQL a GIN index on to_tsvector('simple', text), queried with
// to_tsquery and ts_headline, using the same marker characters, so Snippet
// parsing and everything above the store stays as it is.

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Snippet markers around a matched term; control characters that the
// parser removes from the text itself, so hostile text cannot fake them.
const (
	snippetOpen  = "\x02"
	snippetClose = "\x03"
)

// MaxSearchResults bounds one search.
const MaxSearchResults = 50

// SearchFilter is one search.
type SearchFilter struct {
	Query     string
	ChannelID string // "" = every channel
	Limit     int
}

// SearchHit is one matching message with where it lives.
type SearchHit struct {
	MessageID      int64
	ConversationID int64
	ChannelID      string
	ChannelName    string
	Title          string
	ChatID         int64
	Direction      string
	CreatedAt      time.Time
	// Snippet is the text around the match; Parts splits it for display.
	Snippet string
}

// SnippetPart is a piece of a snippet; Hit marks a matched term.
type SnippetPart struct {
	Text string
	Hit  bool
}

// Parts splits the snippet at its markers. A marker character inside the
// hostile text itself can at worst shift a highlight: every part is plain
// text, escaped by whoever renders it.
func (h SearchHit) Parts() []SnippetPart {
	var out []SnippetPart
	hit := false
	s := h.Snippet
	for s != "" {
		marker := snippetOpen
		if hit {
			marker = snippetClose
		}
		i := strings.Index(s, marker)
		if i < 0 {
			out = append(out, SnippetPart{Text: stripMarkers(s), Hit: hit})
			break
		}
		if i > 0 {
			out = append(out, SnippetPart{Text: stripMarkers(s[:i]), Hit: hit})
		}
		s = s[i+len(marker):]
		hit = !hit
	}
	return out
}

func stripMarkers(s string) string {
	return strings.NewReplacer(snippetOpen, "", snippetClose, "").Replace(s)
}

// maxSearchTerms bounds the terms of one query.
const maxSearchTerms = 8

// ftsQuery turns what a user typed into a safe FTS query: words only (no
// operators, quotes or column filters can be injected), every word
// required, the last one as a prefix. "" when nothing searchable is left.
func ftsQuery(q string) string {
	words := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > maxSearchTerms {
		words = words[:maxSearchTerms]
	}
	for i, w := range words {
		words[i] = `"` + strings.ToLower(w) + `"`
	}
	if n := len(words); n > 0 {
		words[n-1] = strings.TrimSuffix(words[n-1], `"`) + `*"`
	}
	return strings.Join(words, " ")
}

// pgQuery is ftsQuery for to_tsquery: the same words (letters and digits
// only, so no operator can be injected), all required, the last a prefix.
func pgQuery(q string) string {
	words := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > maxSearchTerms {
		words = words[:maxSearchTerms]
	}
	for i, w := range words {
		words[i] = strings.ToLower(w)
	}
	if n := len(words); n > 0 {
		words[n-1] += ":*"
	}
	return strings.Join(words, " & ")
}

// pgSearchSQL is searchSQL on PostgreSQL; the WHERE's expression is the
// index's (migration postgres/0006), so the planner uses it.
const pgSearchSQL = `SELECT m.id, c.id, m.channel_id, ch.name, c.title, c.chat_id, m.direction, m.created_at, m.text
	FROM (SELECT to_tsquery('simple', ?) AS q) q
	JOIN messages m ON to_tsvector('simple', m.text) @@ q.q
	JOIN conversations c ON ` + sameConversationSQL + `
	JOIN channels ch ON ch.id = m.channel_id
	WHERE c.in_workbench = TRUE AND (? = '' OR m.channel_id = ?)
	ORDER BY m.id DESC LIMIT ?`

// snippetWords is the length of a snippet in words, as SQLite's snippet()
// is asked for.
const snippetWords = 16

// goSnippet is SQLite's snippet() for PostgreSQL, whose ts_headline drops
// what its parser takes for HTML tags: up to snippetWords words of text
// around the first match, "…" where it was cut, the matching words between
// the markers. Words and matching are ftsQuery's (the last term a prefix).
func goSnippet(text, query string) string {
	isWord := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	terms := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool { return !isWord(r) })
	if len(terms) > maxSearchTerms {
		terms = terms[:maxSearchTerms]
	}
	matches := func(w string) bool {
		w = strings.ToLower(w)
		for i, t := range terms {
			if w == t || (i == len(terms)-1 && strings.HasPrefix(w, t)) {
				return true
			}
		}
		return false
	}
	type span struct{ from, to int }
	var words []span
	start := -1
	for i, r := range text {
		switch {
		case isWord(r) && start < 0:
			start = i
		case !isWord(r) && start >= 0:
			words = append(words, span{start, i})
			start = -1
		}
	}
	if start >= 0 {
		words = append(words, span{start, len(text)})
	}
	if len(words) == 0 {
		return text
	}
	first := 0
	for i, w := range words {
		if matches(text[w.from:w.to]) {
			first = i
			break
		}
	}
	lo := max(0, first-snippetWords/4)
	hi := min(len(words), lo+snippetWords)
	lo = max(0, hi-snippetWords)
	var b strings.Builder
	from, to := words[lo].from, words[hi-1].to
	if lo == 0 {
		from = 0
	} else {
		b.WriteString("…")
	}
	if hi == len(words) {
		to = len(text)
	}
	at := from
	for _, w := range words[lo:hi] {
		b.WriteString(text[at:w.from])
		if matches(text[w.from:w.to]) {
			b.WriteString(snippetOpen + text[w.from:w.to] + snippetClose)
		} else {
			b.WriteString(text[w.from:w.to])
		}
		at = w.to
	}
	b.WriteString(text[at:to])
	if hi < len(words) {
		b.WriteString("…")
	}
	return b.String()
}

// searchSQL is the dialect's search statement; see the file comment.
const searchSQL = `SELECT m.id, c.id, m.channel_id, ch.name, c.title, c.chat_id, m.direction, m.created_at,
	snippet(messages_fts, ?, ?, '…', -1, 16)
	FROM messages_fts
	JOIN messages m ON m.id = messages_fts.docid
	JOIN conversations c ON ` + sameConversationSQL + `
	JOIN channels ch ON ch.id = m.channel_id
	WHERE messages_fts MATCH ? AND c.in_workbench = TRUE AND (? = '' OR m.channel_id = ?)
	ORDER BY messages_fts.docid DESC LIMIT ?`

// Search finds messages of workbench conversations matching every word of
// the query, newest first.
func (s *Store) Search(ctx context.Context, f SearchFilter) ([]SearchHit, error) {
	if f.Limit <= 0 || f.Limit > MaxSearchResults {
		f.Limit = 20
	}
	q := ftsQuery(f.Query)
	if q == "" {
		return nil, nil
	}
	db := s.r(ctx)
	var rows *sql.Rows
	var err error
	if s.pg {
		rows, err = db.Raw(pgSearchSQL, pgQuery(f.Query), f.ChannelID, f.ChannelID, f.Limit).Rows()
	} else {
		rows, err = db.Raw(searchSQL, snippetOpen, snippetClose, q, f.ChannelID, f.ChannelID, f.Limit).Rows()
	}
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	var out []SearchHit
	err = eachRow(rows, func() error {
		var h SearchHit
		if err := rows.Scan(&h.MessageID, &h.ConversationID, &h.ChannelID, &h.ChannelName, &h.Title, &h.ChatID, &h.Direction, &h.CreatedAt, &h.Snippet); err != nil {
			return err
		}
		if s.pg {
			h.Snippet = goSnippet(h.Snippet, f.Query)
		}
		out = append(out, h)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	return out, nil
}
