package models

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseWorkbenchMode(t *testing.T) {
	for in, want := range map[string]WorkbenchMode{"off": WorkbenchOff, "all": WorkbenchAll, " keyword ": WorkbenchKeyword} {
		if got, err := ParseWorkbenchMode(in); err != nil || got != want {
			t.Errorf("ParseWorkbenchMode(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "ALL", "on", "keywords"} {
		_, err := ParseWorkbenchMode(bad)
		if v, ok := AsValidation(err); !ok || v.Field != "mode" {
			t.Errorf("ParseWorkbenchMode(%q) = %v, want a mode validation error", bad, err)
		}
	}
}

func TestWorkbenchModeLabels(t *testing.T) {
	// Exact labels of the product (docs/guide.md): operators know them from the managed console.
	for m, want := range map[WorkbenchMode]string{WorkbenchOff: "Off", WorkbenchAll: "Enable Message Workbench", WorkbenchKeyword: "Triggered by Keyword"} {
		if got := m.Label(); got != want {
			t.Errorf("%q.Label() = %q, want %q", m, got, want)
		}
	}
}

func TestCleanKeywords(t *testing.T) {
	got, err := CleanKeywords([]string{" help ", "", "  ", "refund", "order status"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[help refund order status]" {
		t.Errorf("CleanKeywords = %q", got)
	}
	if got, err := CleanKeywords(nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("CleanKeywords(nil) = %#v, %v; want empty non-nil", got, err)
	}
	many := make([]string, MaxKeywords+1)
	for i := range many {
		many[i] = fmt.Sprintf("kw%d", i)
	}
	for name, in := range map[string][]string{
		"duplicate (case-insensitive)": {"Help", "help"},
		"too long":                     {strings.Repeat("k", MaxKeywordLen+1)},
		"too many":                     many,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := CleanKeywords(in)
			if v, ok := AsValidation(err); !ok || v.Field != "keywords" {
				t.Errorf("%s: err %v, want a keywords validation error", name, err)
			}
		})
	}
	if _, err := CleanKeywords(many[:MaxKeywords]); err != nil {
		t.Errorf("exactly %d keywords refused: %v", MaxKeywords, err)
	}
	if _, err := CleanKeywords([]string{strings.Repeat("é", MaxKeywordLen)}); err != nil {
		t.Errorf("length counted in bytes, not characters: %v", err)
	}
}

func TestKeywordsMatch(t *testing.T) {
	tests := []struct {
		keywords []string
		text     string
		want     []string // matched substrings of text, in order
	}{
		{[]string{"help"}, "Help me!", []string{"Help"}},
		{[]string{"help"}, "helpful advice", nil},
		{[]string{"help"}, "self-help", []string{"help"}},
		{[]string{"help"}, "help, HELP and help.", []string{"help", "HELP", "help"}},
		{[]string{"help"}, "help_desk", nil}, // underscore is a word character
		{[]string{"order status"}, "What is my Order Status?", []string{"Order Status"}},
		{[]string{"order status"}, "order statuses", nil},
		{[]string{"refund", "help"}, "help: refund", []string{"refund", "help"}},
		{[]string{"заказ"}, "Где мой ЗАКАЗ?", []string{"ЗАКАЗ"}},
		{[]string{"заказ"}, "заказы", nil},
		{[]string{"c++"}, "I love c++ a lot", []string{"c++"}},
		{[]string{"help"}, "", nil},
		{[]string{""}, "anything", nil},
		// Case folding that changes byte length must not shift the spans.
		{[]string{"help"}, "İstanbul: HELP", []string{"HELP"}},
		{[]string{"kelvin"}, "\u212aelvin", []string{"\u212aelvin"}}, // KELVIN SIGN folds to k
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q in %q", tc.keywords, tc.text), func(t *testing.T) {
			spans := Keywords(tc.keywords).Match(tc.text)
			var got []string
			for _, s := range spans {
				if s.Start < 0 || s.End > len(tc.text) || s.Start >= s.End {
					t.Errorf("Match(%q, %q): span %+v out of range", tc.keywords, tc.text, s)
					continue
				}
				got = append(got, tc.text[s.Start:s.End])
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("Match(%q, %q) = %q, want %q", tc.keywords, tc.text, got, tc.want)
			}
		})
	}
}
