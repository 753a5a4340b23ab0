package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/a-h/templ"

	"github.com/botdesk/botdesk/i18n"
	"github.com/botdesk/botdesk/store"
)

// cachedHTML renders the component build returns once per data version and
// key (store.Cached) and hands out the same bytes until the next commit.
// build may only read the store and what key spells out: nothing of the
// viewer (CSRF token, role) may go into a cached fragment.
func (s *Server) cachedHTML(ctx context.Context, key string, build func() (templ.Component, error)) (templ.Component, error) {
	// The language is part of the key: the same fragment differs per language.
	html, err := store.Cached(ctx, s.Store, "html|"+string(i18n.From(ctx).Lang())+"|"+key, func() (string, error) {
		comp, err := build()
		if err != nil {
			return "", err
		}
		return renderString(ctx, key, comp)
	})
	if err != nil {
		return nil, err
	}
	return templ.Raw(html), nil
}

// renderString renders comp into a string; what names it in an error.
func renderString(ctx context.Context, what string, comp templ.Component) (string, error) {
	var b strings.Builder
	if err := comp.Render(ctx, &b); err != nil {
		return "", fmt.Errorf("render %s: %w", what, err)
	}
	return b.String(), nil
}
