package handlers

import (
	"net/http"
	"strings"
	"testing"
)

// TestFavicon: /favicon.ico, which browsers ask for on every page load, is
// the embedded icon (no 404 in the log), and pages link it too.
func TestFavicon(t *testing.T) {
	env := newTestEnv(t)
	anon := env.anonClient(t)
	r := anon.get("/favicon.ico").wantStatus(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "image/svg+xml" || !strings.Contains(r.Body, "<svg") {
		t.Fatalf("favicon: %s %q", ct, truncateForLog(r.Body, 80))
	}
	page := anon.get("/login").wantStatus(t, http.StatusOK)
	href, ok := page.doc(t).Find(`link[rel="icon"]`).Attr("href")
	if !ok || !strings.HasPrefix(href, "/static/img/favicon.svg?v=") {
		t.Fatalf("icon link = %q", href)
	}
	anon.get(href).wantStatus(t, http.StatusOK)
}
