package i18n

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"
)

func TestNegotiate(t *testing.T) {
	c := MustNew()
	for _, tc := range []struct {
		name, setting, accept string
		want                  Lang
	}{
		{"nothing is English", "", "", English},
		{"browser asks for Simplified Chinese", "", "zh-CN,zh;q=0.9,en;q=0.8", Chinese},
		{"plain zh", "", "zh", Chinese},
		{"zh-Hans", "", "zh-Hans", Chinese},
		{"English browser", "", "en-US,en;q=0.9", English},
		{"unsupported language falls back to English", "", "fr-FR", English},
		{"English preferred over Chinese", "", "en;q=1, zh-CN;q=0.5", English},
		{"garbage header", "", ";;;q=x", English},
		{"the user's setting beats the browser", "en", "zh-CN", English},
		{"the user's Chinese setting", "zh-CN", "en-US", Chinese},
		{"an unknown stored setting follows the browser", "xx", "zh-CN", Chinese},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.Negotiate(tc.setting, tc.accept); got != tc.want {
				t.Errorf("Negotiate(%q, %q) = %s, want %s", tc.setting, tc.accept, got, tc.want)
			}
		})
	}
}

func TestLocalizer(t *testing.T) {
	c := MustNew()
	zh, en := c.Localizer(Chinese), c.Localizer(English)
	t.Run("translates", func(t *testing.T) {
		if got := zh.T("Channel Management"); got != "渠道管理" {
			t.Errorf("zh T = %q", got)
		}
		if got := en.T("Channel Management"); got != "Channel Management" {
			t.Errorf("en T = %q", got)
		}
	})
	t.Run("formats args into the translation", func(t *testing.T) {
		if got := zh.T("Channel %s deleted.", "支持"); got != "渠道 支持 已删除。" {
			t.Errorf("zh T with args = %q", got)
		}
		if got := en.T("Channel %s deleted.", "Support"); got != "Channel Support deleted." {
			t.Errorf("en T with args = %q", got)
		}
	})
	t.Run("an unknown key without args is kept as it is, percent signs and all", func(t *testing.T) {
		if got := zh.T("50% off · Overview"); got != "50% off · Overview" {
			t.Errorf("T = %q", got)
		}
	})
	t.Run("numbers and dates", func(t *testing.T) {
		if got := en.Int(1234567); got != "1,234,567" {
			t.Errorf("en Int = %q", got)
		}
		at := time.Date(2026, 12, 1, 9, 5, 7, 0, time.FixedZone("CET", 3600))
		if got := zh.When(at); got != "2026年12月1日 08:05:07 UTC" {
			t.Errorf("zh When = %q", got)
		}
		if got := en.When(at); got != "2026-12-01 08:05:07 UTC" {
			t.Errorf("en When = %q", got)
		}
	})
	t.Run("the context carries the localizer; none means English", func(t *testing.T) {
		if got := From(context.Background()).T("Channel Management"); got != "Channel Management" {
			t.Errorf("From(empty) = %q", got)
		}
		ctx := WithLocalizer(context.Background(), zh)
		if got := From(ctx).Lang(); got != Chinese {
			t.Errorf("From(ctx).Lang() = %s", got)
		}
	})
}

func TestCatalogueRefusesMismatchedVerbs(t *testing.T) {
	if _, err := newCatalog(map[string]string{"Page %d of %d": "第 %s 页"}); err == nil {
		t.Fatal("a translation with other fmt verbs was accepted")
	}
	if _, err := New(); err != nil {
		t.Fatalf("the built-in catalogue: %v", err)
	}
}

// keyCall finds the English keys the code translates: T(ctx, "…") in views
// and templates, tr(c, "…") in handlers.
var keyCall = regexp.MustCompile("\\b(?:T\\(ctx|tr\\(c), (\"(?:[^\"\\\\]|\\\\.)*\"|`[^`]*`)")

// TestEveryKeyHasChinese fails when a text the console translates has no
// zh-CN entry, so a new English label cannot ship untranslated.
func TestEveryKeyHasChinese(t *testing.T) {
	var files []string
	for _, glob := range []string{"../views/*.templ", "../views/*.go", "../handlers/*.go"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	var missing []string
	seen := 0
	for _, f := range files {
		if filepath.Ext(f) == ".go" && (regexp.MustCompile(`_templ\.go$|_test\.go$`).MatchString(f)) {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyCall.FindAllStringSubmatch(string(src), -1) {
			key := m[1]
			if key[0] == '`' {
				key = key[1 : len(key)-1]
			} else if key, err = strconv.Unquote(key); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			seen++
			if _, ok := zhCN[key]; !ok {
				missing = append(missing, filepath.Base(f)+": "+strconv.Quote(key))
			}
		}
	}
	if seen < 100 {
		t.Fatalf("found only %d translated texts; is the key pattern still right?", seen)
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no zh-CN text (add it to i18n/zh_cn.go): %s", m)
	}
}
