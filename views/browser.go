package views

import (
	"context"
	"strings"
)

// BrowserName turns a User-Agent into "Firefox on Linux"-style text for the
// sessions list; unknown agents show as "Unknown browser". Product names
// stay as they are in every language; only "on" and "Unknown browser" are
// translated, by the caller, through the whole string.
func BrowserName(ua string) string {
	b, os := BrowserParts(ua)
	if os == "" {
		return b
	}
	return b + " on " + os
}

// BrowserParts is BrowserName in pieces, for translated text: the browser
// ("Unknown browser" when unknown) and the operating system ("" when unknown).
func BrowserParts(ua string) (browser, os string) {
	b, o := browserParts(ua)
	return b, o
}

func browserParts(ua string) (string, string) {
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"},
		{"Chromium/", "Chromium"}, {"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client", "Go program"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	if browser == "" {
		return "Unknown browser", ""
	}
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return browser, o.name
		}
	}
	return browser, ""
}

// browserText is BrowserName in the request's language.
func browserText(ctx context.Context, ua string) string {
	b, os := BrowserParts(ua)
	if os == "" {
		return T(ctx, b)
	}
	return T(ctx, "%s on %s", b, os)
}
