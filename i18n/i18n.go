// Package i18n picks the console's language for a request and translates
// its texts. English is the source language (the labels docs and the managed
// console use); Simplified Chinese (zh-CN) is the one translation. Texts are
// keyed by their English wording, so an untranslated key still reads well,
// and TestEveryKeyHasChinese keeps the catalogue complete. Numbers are
// formatted by golang.org/x/text/message, languages matched by
// golang.org/x/text/language.
package i18n

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Lang is a language the console speaks, as a BCP 47 tag.
type Lang string

// The supported languages; English first, it is the fallback.
const (
	English Lang = "en"
	Chinese Lang = "zh-CN"
)

// Langs lists the supported languages in the order a picker shows them.
var Langs = []Lang{English, Chinese}

// Name is the language's own name, for the language picker.
func (l Lang) Name() string {
	if l == Chinese {
		return "简体中文"
	}
	return "English"
}

// Parse maps a stored or submitted value to a supported language; "" and
// anything unknown give ok=false.
func Parse(s string) (Lang, bool) {
	for _, l := range Langs {
		if string(l) == s {
			return l, true
		}
	}
	return "", false
}

// Catalog holds the translations and the Accept-Language matcher. It is
// built once at start-up and read-only afterwards.
type Catalog struct {
	matcher language.Matcher
	texts   map[Lang]map[string]string
	numbers map[Lang]*message.Printer
}

// New builds the catalogue from the zh-CN table (zh_cn.go), refusing a
// translation whose fmt verbs differ from its key's (it would print garbage).
func New() (*Catalog, error) { return newCatalog(zhCN) }

func newCatalog(zh map[string]string) (*Catalog, error) {
	for key, text := range zh {
		if verbs(key) != verbs(text) {
			return nil, fmt.Errorf("i18n: %q: translation %q has other fmt verbs", key, text)
		}
	}
	hans := language.SimplifiedChinese
	return &Catalog{
		matcher: language.NewMatcher([]language.Tag{language.English, hans}),
		texts:   map[Lang]map[string]string{Chinese: zh},
		numbers: map[Lang]*message.Printer{English: message.NewPrinter(language.English), Chinese: message.NewPrinter(hans)},
	}, nil
}

// verbs lists the fmt verbs of a format in order ("%s %d" → "sd").
func verbs(format string) string {
	var out []byte
	for i := 0; i < len(format)-1; i++ {
		if format[i] != '%' {
			continue
		}
		i++
		for i < len(format) && strings.IndexByte("+-# 0123456789.[]*", format[i]) >= 0 {
			i++
		}
		if i < len(format) {
			out = append(out, format[i])
		}
	}
	return string(out)
}

// MustNew is New for the built-in catalogue, which is part of the binary:
// a failure is a bug that TestCatalogueBuilds catches.
func MustNew() *Catalog {
	c, err := New()
	if err != nil {
		panic(err)
	}
	return c
}

// Negotiate picks the language of a request: the user's own setting, else
// the browser's Accept-Language, else English.
func (c *Catalog) Negotiate(userSetting, acceptLanguage string) Lang {
	if l, ok := Parse(userSetting); ok {
		return l
	}
	if acceptLanguage == "" {
		return English
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return English
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return English
	}
	return Langs[i]
}

// Localizer returns the translator for l (English for anything unknown).
func (c *Catalog) Localizer(l Lang) Localizer {
	if _, ok := c.numbers[l]; !ok {
		l = English
	}
	return Localizer{lang: l, texts: c.texts[l], numbers: c.numbers[l]}
}

// Localizer translates and formats for one language. The zero value speaks
// English, so code running outside a request (tests, background renders)
// still gets readable text.
type Localizer struct {
	lang    Lang
	texts   map[string]string // nil for English, the source language
	numbers *message.Printer
}

// Lang is the language this localizer speaks, for <html lang>.
func (l Localizer) Lang() Lang {
	if l.lang == "" {
		return English
	}
	return l.lang
}

// T translates key, an English text. With args, key is a fmt format and
// the args are formatted into the translation; without, the text is used
// as it is (a key naming a channel may contain a '%').
func (l Localizer) T(key string, args ...any) string {
	text := key
	if t, ok := l.texts[key]; ok {
		text = t
	}
	if len(args) == 0 {
		return text
	}
	return fmt.Sprintf(text, args...)
}

// Int formats a count with the language's digit grouping.
func (l Localizer) Int(n int64) string {
	if l.numbers == nil {
		return fmt.Sprint(n)
	}
	return l.numbers.Sprintf("%d", n)
}

// When formats a time for tables, always in UTC so it is unambiguous on a
// server console, in the language's date order.
func (l Localizer) When(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	if l.Lang() == Chinese {
		return t.UTC().Format("2006年1月2日 15:04:05") + " UTC"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

type ctxKey struct{}

// WithLocalizer returns ctx carrying l, for templates and handlers below.
func WithLocalizer(ctx context.Context, l Localizer) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// From returns the localizer ctx carries, or English.
func From(ctx context.Context) Localizer {
	if ctx != nil {
		if l, ok := ctx.Value(ctxKey{}).(Localizer); ok {
			return l
		}
	}
	return Localizer{}
}
