package handlers

import (
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/botdesk/botdesk/views"
)

// takeFlash reads and clears the flash cookie. The kind is whitelisted so
// a forged cookie cannot inject a CSS class; the text is escaped by templ.
func takeFlash(c echo.Context) *views.Flash {
	v := readCookie(c, flashCookie)
	if v == "" {
		return nil
	}
	clearCookie(c, flashCookie)
	raw, err := url.QueryUnescape(v)
	if err != nil {
		return nil
	}
	kind, msg, ok := strings.Cut(raw, "|")
	if !ok || len(msg) > 300 {
		return nil
	}
	switch kind {
	case "success", "error", "info":
	default:
		kind = "info"
	}
	return &views.Flash{Kind: kind, Message: msg}
}
