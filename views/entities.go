package views

// Rendering of Telegram message text. Everything here comes from strangers
// on Telegram, so the renderer emits only a fixed set of tags, escapes every
// piece of text and attribute, and links only to http, https and tg URLs.
// Entity offsets and lengths are in UTF-16 code units (Telegram's rule), so
// an emoji before an entity counts as two.

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/a-h/templ"

	"github.com/botdesk/botdesk/models"
)

// MaxEntities bounds how many entities of one message are honoured; the
// rest are ignored (Telegram itself sends at most 100).
const MaxEntities = 100

// Entity is one Telegram MessageEntity as stored in messages.entities.
type Entity struct {
	Type     string `json:"type"`
	Offset   int    `json:"offset"`
	Length   int    `json:"length"`
	URL      string `json:"url,omitempty"`
	Language string `json:"language,omitempty"`
}

// ParseEntities decodes the stored JSON array; malformed input yields none,
// the text is then shown plain.
func ParseEntities(entitiesJSON string) []Entity {
	if strings.TrimSpace(entitiesJSON) == "" {
		return nil
	}
	var out []Entity
	if err := json.Unmarshal([]byte(entitiesJSON), &out); err != nil {
		return nil
	}
	return out
}

// span is an entity or keyword mark converted to byte offsets of the text.
type span struct {
	start, end int
	kind       string // entity type, or "mark"
	href       string // checked link target for url/text_link/mention
	order      int    // input order, for a stable sort
}

// RenderEntities renders a message text with its Telegram entities and, when
// highlight is non-empty, the keyword matches wrapped in <mark>. The output
// is built from a whitelist of tags; no byte of the input reaches the page
// unescaped.
func RenderEntities(text, entitiesJSON string, highlight models.Keywords) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, EntitiesHTML(text, entitiesJSON, highlight))
		return err
	})
}

// EntitiesHTML is RenderEntities as a string (for tests and previews).
func EntitiesHTML(text, entitiesJSON string, highlight models.Keywords) string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	spans := entitySpans(text, ParseEntities(entitiesJSON))
	spans = append(spans, markSpans(text, highlight, spans)...)
	spans = nest(spans)

	var b strings.Builder
	var stack []span
	pos := 0
	closeTop := func() {
		top := stack[len(stack)-1]
		b.WriteString(html.EscapeString(text[pos:top.end]))
		pos = top.end
		b.WriteString(closeTag(top))
		stack = stack[:len(stack)-1]
	}
	for _, sp := range spans {
		for len(stack) > 0 && stack[len(stack)-1].end <= sp.start {
			closeTop()
		}
		b.WriteString(html.EscapeString(text[pos:sp.start]))
		pos = sp.start
		b.WriteString(openTag(sp))
		stack = append(stack, sp)
	}
	for len(stack) > 0 {
		closeTop()
	}
	b.WriteString(html.EscapeString(text[pos:]))
	return b.String()
}

// utf16Index maps every UTF-16 offset of text to a byte offset. An offset
// that falls inside a surrogate pair maps to the start of that character,
// so slices always land on character boundaries.
func utf16Index(text string) []int {
	idx := make([]int, 0, len(text)+1)
	for i, r := range text {
		idx = append(idx, i)
		if r >= 0x10000 {
			idx = append(idx, i)
		}
	}
	return append(idx, len(text))
}

// entitySpans converts entities to byte spans, dropping empty, out of range
// and unknown ones.
func entitySpans(text string, ents []Entity) []span {
	if len(ents) == 0 {
		return nil
	}
	if len(ents) > MaxEntities {
		ents = ents[:MaxEntities]
	}
	idx := utf16Index(text)
	n := len(idx) - 1 // length in UTF-16 units
	var out []span
	for i, e := range ents {
		if e.Offset < 0 || e.Length <= 0 || e.Offset >= n {
			continue
		}
		endU := n
		if e.Length < n-e.Offset { // written so a huge length cannot overflow
			endU = e.Offset + e.Length
		}
		start, end := idx[e.Offset], idx[endU]
		if end <= start {
			continue
		}
		sp := span{start: start, end: end, kind: e.Type, order: i}
		switch e.Type {
		case "bold", "italic", "underline", "strikethrough", "spoiler", "code", "pre", "blockquote", "expandable_blockquote":
		case "url":
			sp.href = safeLink(text[start:end], true)
		case "text_link":
			sp.href = safeLink(e.URL, false)
		case "mention":
			sp.href = mentionLink(text[start:end])
		default:
			// hashtag, email, phone_number, bot_command, text_mention,
			// custom_emoji...: shown as plain text.
			continue
		}
		if (e.Type == "url" || e.Type == "text_link" || e.Type == "mention") && sp.href == "" {
			continue
		}
		out = append(out, sp)
	}
	return out
}

// markSpans finds keyword matches. A mark that crosses an entity boundary is
// cut at that boundary, so marks always nest inside entities.
func markSpans(text string, ks models.Keywords, ents []span) []span {
	if len(ks) == 0 {
		return nil
	}
	cuts := map[int]bool{}
	for _, e := range ents {
		cuts[e.start], cuts[e.end] = true, true
	}
	var out []span
	// Match's spans index text itself, even where lowercasing changes a
	// character's byte length.
	for _, m := range ks.Match(text) {
		start, end := m.Start, m.End
		for p := start + 1; p < end; p++ {
			if cuts[p] {
				out = append(out, span{start: start, end: p, kind: "mark", order: 1 << 20})
				start = p
			}
		}
		if end > start {
			out = append(out, span{start: start, end: end, kind: "mark", order: 1 << 20})
		}
	}
	return out
}

// nest orders spans outermost first and drops any that would cross an
// already accepted one (hostile or broken entity lists), so the output is
// always well-formed HTML.
func nest(spans []span) []span {
	sort.SliceStable(spans, func(i, j int) bool {
		a, b := spans[i], spans[j]
		if a.start != b.start {
			return a.start < b.start
		}
		if a.end != b.end {
			return a.end > b.end
		}
		return a.order < b.order
	})
	var out, stack []span
	for _, sp := range spans {
		for len(stack) > 0 && stack[len(stack)-1].end <= sp.start {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && sp.end > stack[len(stack)-1].end {
			continue // crosses its parent
		}
		if sp.kind == "mark" && insideMark(stack) {
			continue // overlapping keyword matches
		}
		out = append(out, sp)
		stack = append(stack, sp)
	}
	return out
}

func insideMark(stack []span) bool {
	for _, s := range stack {
		if s.kind == "mark" {
			return true
		}
	}
	return false
}

func openTag(sp span) string {
	switch sp.kind {
	case "bold":
		return "<strong>"
	case "italic":
		return "<em>"
	case "underline":
		return "<u>"
	case "strikethrough":
		return "<s>"
	case "spoiler":
		return `<span class="tg-spoiler" tabindex="0" title="Spoiler">`
	case "code":
		return "<code>"
	case "pre":
		return "<pre><code>"
	case "blockquote", "expandable_blockquote":
		return "<blockquote>"
	case "mark":
		return "<mark>"
	case "url", "text_link", "mention":
		return `<a href="` + html.EscapeString(sp.href) + `" rel="noopener noreferrer nofollow" target="_blank">`
	}
	return ""
}

func closeTag(sp span) string {
	switch sp.kind {
	case "bold":
		return "</strong>"
	case "italic":
		return "</em>"
	case "underline":
		return "</u>"
	case "strikethrough":
		return "</s>"
	case "spoiler":
		return "</span>"
	case "code":
		return "</code>"
	case "pre":
		return "</code></pre>"
	case "blockquote", "expandable_blockquote":
		return "</blockquote>"
	case "mark":
		return "</mark>"
	case "url", "text_link", "mention":
		return "</a>"
	}
	return ""
}

// SafeLink returns raw as a link target when it is an absolute http, https
// or tg URL, else "". bare allows Telegram's scheme-less "url" entities
// ("example.com/x"), which are read as http.
func SafeLink(raw string) string { return safeLink(raw, false) }

func safeLink(raw string, bare bool) string {
	if raw == "" || len(raw) > 2048 || strings.IndexFunc(raw, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\\'
	}) >= 0 {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if u.Scheme == "" && bare && !strings.HasPrefix(raw, "/") && !strings.Contains(raw, ":") {
		raw = "http://" + raw
		if u, err = url.Parse(raw); err != nil {
			return ""
		}
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		if u.Host == "" || u.User != nil {
			return ""
		}
	case "tg":
	default:
		return ""
	}
	return raw
}

var usernamePattern = regexp.MustCompile(`^@([A-Za-z][A-Za-z0-9_]{3,31})$`)

// mentionLink links @username to its public t.me page.
func mentionLink(text string) string {
	m := usernamePattern.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return "https://t.me/" + m[1]
}

// TelegramProfileURL is the public t.me page of username, or "" when the
// name is not a valid Telegram username. Usernames of our own bots come
// from getMe, i.e. from whatever answers at the configured Bot API base,
// so they are checked before they become part of a URL: a name like
// ".evil.example/x" or ":x@evil.example" would otherwise move the link to
// another host.
func TelegramProfileURL(username string) string { return mentionLink("@" + username) }
