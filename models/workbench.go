package models

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// WorkbenchMode decides which incoming chats enter the message workbench.
type WorkbenchMode string

// Workbench modes, labelled in the UI as Off, "Enable Message Workbench" and
// "Triggered by Keyword".
const (
	WorkbenchOff     WorkbenchMode = "off"
	WorkbenchAll     WorkbenchMode = "all"
	WorkbenchKeyword WorkbenchMode = "keyword"
)

// Label is the console label of the mode.
func (m WorkbenchMode) Label() string {
	switch m {
	case WorkbenchAll:
		return "Enable Message Workbench"
	case WorkbenchKeyword:
		return "Triggered by Keyword"
	}
	return "Off"
}

// ParseWorkbenchMode validates a mode name.
func ParseWorkbenchMode(s string) (WorkbenchMode, error) {
	switch m := WorkbenchMode(strings.TrimSpace(s)); m {
	case WorkbenchOff, WorkbenchAll, WorkbenchKeyword:
		return m, nil
	}
	return "", Invalid("mode", "Choose Off, Enable Message Workbench or Triggered by Keyword.")
}

// Keyword limits.
const (
	MaxKeywords   = 50
	MaxKeywordLen = 64
)

// Keywords is the list that triggers the workbench in keyword mode.
type Keywords []string

// CleanKeywords trims, drops empties, rejects case-insensitive duplicates and
// enforces the limits.
func CleanKeywords(in []string) (Keywords, error) {
	out := Keywords{}
	seen := map[string]bool{}
	for _, k := range in {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if utf8.RuneCountInString(k) > MaxKeywordLen {
			return nil, Invalid("keywords", fmt.Sprintf("Keyword %q is longer than %d characters.", k, MaxKeywordLen))
		}
		low := strings.ToLower(k)
		if seen[low] {
			return nil, Invalid("keywords", fmt.Sprintf("Keyword %q is listed twice.", k))
		}
		seen[low] = true
		out = append(out, k)
	}
	if len(out) > MaxKeywords {
		return nil, Invalid("keywords", fmt.Sprintf("Use at most %d keywords.", MaxKeywords))
	}
	return out, nil
}

// Match reports the keywords found in text. Matching is case-insensitive
// and whole-word: "help" matches "Help me!" but not "helpful". A keyword
// that itself contains spaces matches as a phrase.
func (ks Keywords) Match(text string) []Span {
	low, orig := foldWithOffsets(text)
	var spans []Span
	for _, k := range ks {
		kl := strings.ToLower(k)
		if kl == "" {
			continue
		}
		for from := 0; from < len(low); {
			i := strings.Index(low[from:], kl)
			if i < 0 {
				break
			}
			start, end := from+i, from+i+len(kl)
			if boundaryBefore(low, start) && boundaryAfter(low, end) {
				spans = append(spans, Span{Start: orig[start], End: orig[end], Keyword: k})
			}
			from = start + 1
		}
	}
	return spans
}

// foldWithOffsets lowercases s rune by rune (as strings.ToLower does) and
// maps every byte offset of the result back to s: lowering can change a
// rune's UTF-8 length ("İ" is 2 bytes, "i" 1), and spans must index s.
func foldWithOffsets(s string) (string, []int) {
	var b strings.Builder
	b.Grow(len(s))
	orig := make([]int, 0, len(s)+1)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		n := b.Len()
		b.WriteRune(unicode.ToLower(r))
		for j := n; j < b.Len(); j++ {
			orig = append(orig, i)
		}
		i += size
	}
	orig = append(orig, len(s))
	return b.String(), orig
}

// Span is a byte range of text that matched a keyword.
type Span struct {
	Start, End int
	Keyword    string
}

func boundaryBefore(s string, i int) bool {
	if i == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return !isWordRune(r)
}

func boundaryAfter(s string, i int) bool {
	if i >= len(s) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return !isWordRune(r)
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }
