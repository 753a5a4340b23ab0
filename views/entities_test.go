package views

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/PuerkitoBio/goquery"

	"github.com/botdesk/botdesk/models"
)

// ents builds the stored JSON of entities.
func ents(t *testing.T, es ...Entity) string {
	t.Helper()
	b, err := json.Marshal(es)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// u16 is the UTF-16 length of s, the unit Telegram offsets use.
func u16(s string) int { return len(utf16.Encode([]rune(s))) }

func TestEntitiesHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		entities []Entity
		kw       models.Keywords
		want     string
	}{
		{"plain text is escaped", `<b>hi</b> & "q"`, nil, nil, `&lt;b&gt;hi&lt;/b&gt; &amp; &#34;q&#34;`},
		{"bold", "hello world", []Entity{{Type: "bold", Offset: 6, Length: 5}}, nil, "hello <strong>world</strong>"},
		{"emoji before entity counts two units", "😀 bold", []Entity{{Type: "bold", Offset: u16("😀 "), Length: 4}}, nil, "😀 <strong>bold</strong>"},
		{"emoji inside entity", "a😀b c", []Entity{{Type: "italic", Offset: 1, Length: 3}}, nil, "a<em>😀b</em> c"},
		{"flag and family emoji", "🇩🇪👨‍👩‍👧 x", []Entity{{Type: "code", Offset: u16("🇩🇪👨‍👩‍👧 "), Length: 1}}, nil, "🇩🇪👨‍👩‍👧 <code>x</code>"},
		{"nested entities", "abcdef", []Entity{{Type: "bold", Offset: 0, Length: 6}, {Type: "italic", Offset: 2, Length: 2}}, nil, "<strong>ab<em>cd</em>ef</strong>"},
		{"crossing entity dropped", "abcdef", []Entity{{Type: "bold", Offset: 0, Length: 4}, {Type: "italic", Offset: 2, Length: 4}}, nil, "<strong>abcd</strong>ef"},
		{"out of range offset dropped", "abc", []Entity{{Type: "bold", Offset: 10, Length: 2}}, nil, "abc"},
		{"length past end clamped", "abc", []Entity{{Type: "bold", Offset: 1, Length: 1 << 40}}, nil, "a<strong>bc</strong>"},
		{"negative and zero length dropped", "abc", []Entity{{Type: "bold", Offset: -1, Length: 2}, {Type: "bold", Offset: 1, Length: 0}}, nil, "abc"},
		{"offset inside surrogate pair snaps to the character start", "😀xy", []Entity{{Type: "bold", Offset: 1, Length: 2}}, nil, "<strong>😀x</strong>y"},
		{"unknown type is plain", "#tag", []Entity{{Type: "hashtag", Offset: 0, Length: 4}}, nil, "#tag"},
		{"https text_link", "docs", []Entity{{Type: "text_link", Offset: 0, Length: 4, URL: "https://example.com/a?b=1&c=2"}}, nil,
			`<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow" target="_blank">docs</a>`},
		{"javascript text_link is text", "click", []Entity{{Type: "text_link", Offset: 0, Length: 5, URL: "javascript:alert(1)"}}, nil, "click"},
		{"mixed-case javascript", "click", []Entity{{Type: "text_link", Offset: 0, Length: 5, URL: " JaVaScRiPt:alert(1)"}}, nil, "click"},
		{"data url is text", "img", []Entity{{Type: "text_link", Offset: 0, Length: 3, URL: "data:text/html,<script>alert(1)</script>"}}, nil, "img"},
		{"tg link", "open", []Entity{{Type: "text_link", Offset: 0, Length: 4, URL: "tg://resolve?domain=botdesk"}}, nil,
			`<a href="tg://resolve?domain=botdesk" rel="noopener noreferrer nofollow" target="_blank">open</a>`},
		{"bare url entity gets http", "see example.com/x", []Entity{{Type: "url", Offset: 4, Length: 13}}, nil,
			`see <a href="http://example.com/x" rel="noopener noreferrer nofollow" target="_blank">example.com/x</a>`},
		{"url entity over javascript text", "javascript:alert(1)", []Entity{{Type: "url", Offset: 0, Length: 19}}, nil, "javascript:alert(1)"},
		{"mention links to t.me", "hi @botdesk_support", []Entity{{Type: "mention", Offset: 3, Length: 16}}, nil,
			`hi <a href="https://t.me/botdesk_support" rel="noopener noreferrer nofollow" target="_blank">@botdesk_support</a>`},
		{"spoiler", "secret", []Entity{{Type: "spoiler", Offset: 0, Length: 6}}, nil, `<span class="tg-spoiler" tabindex="0" title="Spoiler">secret</span>`},
		{"pre", "x := 1", []Entity{{Type: "pre", Offset: 0, Length: 6, Language: `go"><script>`}}, nil, "<pre><code>x := 1</code></pre>"},
		{"keyword highlight whole word", "I need Help, not helpful", nil, models.Keywords{"help"}, "I need <mark>Help</mark>, not helpful"},
		{"keyword inside bold", "please help me", []Entity{{Type: "bold", Offset: 7, Length: 7}}, models.Keywords{"help"}, "please <strong><mark>help</mark> me</strong>"},
		{"keyword crossing entity boundary is cut", "refund now", []Entity{{Type: "bold", Offset: 0, Length: 3}}, models.Keywords{"refund"},
			"<strong><mark>ref</mark></strong><mark>und</mark> now"},
		{"keyword after emoji and length-changing lowercase", "😀 İ refund", nil, models.Keywords{"refund"}, "😀 İ <mark>refund</mark>"},
		{"keyword is escaped too", "<help>", nil, models.Keywords{"help"}, "&lt;<mark>help</mark>&gt;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := EntitiesHTML(tt.text, ents(t, tt.entities...), tt.kw)
			if got != tt.want {
				t.Errorf("EntitiesHTML(%q)\n got %s\nwant %s", tt.text, got, tt.want)
			}
		})
	}
}

// TestEntitiesHostileInputIsInert throws broken and malicious input at the
// renderer and checks the parsed result, not the string: no script, no
// event handler attribute, no link outside http/https/tg.
func TestEntitiesHostileInputIsInert(t *testing.T) {
	t.Parallel()
	hostile := []struct {
		name, text, entities string
	}{
		{"script tag in text", `<script>alert(1)</script>`, ""},
		{"markup inside bold", `"><img src=x onerror=alert(1)>`, `[{"type":"bold","offset":0,"length":5}]`},
		{"quote breaking out of href", `"><img src=x onerror=alert(1)>`, `[{"type":"text_link","offset":0,"length":3,"url":"https://x.test/\"onmouseover=\"alert(1)"}]`},
		{"javascript link", `click me`, `[{"type":"text_link","offset":0,"length":5,"url":"javascript:alert(document.cookie)"}]`},
		{"javascript link with tab", `click me`, `[{"type":"text_link","offset":0,"length":5,"url":"java\tscript:alert(1)"}]`},
		{"vbscript link", `click me`, `[{"type":"text_link","offset":0,"length":5,"url":"vbscript:msgbox"}]`},
		{"offsets out of range", `😀😀<script>x</script>`, `[{"type":"bold","offset":1,"length":3},{"type":"italic","offset":2,"length":99},{"type":"code","offset":-5,"length":7}]`},
		{"entities not JSON", `abc`, `not json`},
		{"huge offset", `abc`, `[{"type":"bold","offset":2147483647,"length":2147483647}]`},
		{"invalid UTF-8", "bad utf8 \xff\xfe <b>", `[{"type":"bold","offset":0,"length":12}]`},
	}
	for _, h := range hostile {
		t.Run(h.name, func(t *testing.T) {
			out := EntitiesHTML(h.text, h.entities, models.Keywords{"script", "img"})
			doc, err := goquery.NewDocumentFromReader(strings.NewReader("<div id=root>" + out + "</div>"))
			if err != nil {
				t.Fatal(err)
			}
			root := doc.Find("#root")
			if n := root.Find("script, img, iframe, object, embed, style").Length(); n > 0 {
				t.Errorf("%q: %d active elements in %s", h.text, n, out)
			}
			root.Find("*").Each(func(_ int, s *goquery.Selection) {
				for _, a := range s.Nodes[0].Attr {
					if strings.HasPrefix(strings.ToLower(a.Key), "on") {
						t.Errorf("%q: event handler attribute %s in %s", h.text, a.Key, out)
					}
					if a.Key == "href" && !strings.HasPrefix(a.Val, "https://") && !strings.HasPrefix(a.Val, "http://") && !strings.HasPrefix(a.Val, "tg://") {
						t.Errorf("%q: unsafe href %q", h.text, a.Val)
					}
				}
			})
			// The visible text is the message, character for character
			// (apart from invalid UTF-8, which is replaced).
			if want := strings.ToValidUTF8(h.text, "\uFFFD"); root.Text() != want {
				t.Errorf("visible text = %q, want %q", root.Text(), want)
			}
		})
	}
}

func TestSafeLink(t *testing.T) {
	t.Parallel()
	for raw, ok := range map[string]bool{
		"https://example.com":         true,
		"http://example.com/a":        true,
		"tg://user?id=1":              true,
		"HTTPS://EXAMPLE.COM":         true,
		"javascript:alert(1)":         false,
		"JAVASCRIPT:alert(1)":         false,
		"//evil.example":              false,
		"https://user:pw@example.com": false,
		"https:///nohost":             false,
		"mailto:a@example.com":        false,
		"file:///etc/passwd":          false,
		"https://exa mple.com":        false,
		"":                            false,
	} {
		if got := SafeLink(raw) != ""; got != ok {
			t.Errorf("SafeLink(%q) allowed=%v, want %v", raw, got, ok)
		}
	}
}

func TestMediaSummary(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, typ, media, want string }{
		{"photo", "photo", `{"file_id":"AgAD","file_size":245760,"width":1280,"height":720}`, "Photo · 1280×720 · 240 KB"},
		{"document", "document", `{"file_name":"invoice.pdf","mime_type":"application/pdf","file_size":3145728}`, "Document · invoice.pdf · application/pdf · 3.0 MB"},
		{"location", "location", `{"latitude":52.52,"longitude":13.405}`, "Location · 52.52000, 13.40500"},
		{"sticker", "sticker", `{"emoji":"👍","width":512,"height":512}`, "Sticker · 👍 · 512×512"},
		{"voice", "voice", `{"duration":7,"mime_type":"audio/ogg"}`, "Voice message · 7 s · audio/ogg"},
		{"voice without media", "voice", ``, "Voice message"},
		{"photo media not JSON", "photo", `not json`, "Photo"},
		{"photo fields of the wrong type", "photo", `{"width":"wide","file_size":-5}`, "Photo"},
		{"unknown type", "something_new", `{}`, "Unsupported message (something_new)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MediaSummary(tt.typ, tt.media); got != tt.want {
				t.Errorf("MediaSummary(%s, %s) = %q, want %q", tt.typ, tt.media, got, tt.want)
			}
		})
	}
}
