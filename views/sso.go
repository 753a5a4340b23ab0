package views

import "net/url"

// ssoNext carries the page to return to through single sign-on.
func ssoNext(next string) string {
	if next == "" {
		return ""
	}
	return "?next=" + url.QueryEscape(next)
}
