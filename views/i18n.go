package views

import (
	"context"
	"time"

	"github.com/botdesk/botdesk/i18n"
)

// T translates an English text (a fmt format when args are given) into the
// request's language; handlers put the localizer into the context
// (handlers.Server.locale). Keys are listed in i18n/zh_cn.go.
func T(ctx context.Context, key string, args ...any) string {
	return i18n.From(ctx).T(key, args...)
}

// Lang is the request's language tag, for <html lang>.
func Lang(ctx context.Context) string { return string(i18n.From(ctx).Lang()) }

// WhenIn formats a time for tables in the request's language, in UTC.
func WhenIn(ctx context.Context, t time.Time) string { return i18n.From(ctx).When(t) }

// WhenPtrIn formats an optional time in the request's language.
func WhenPtrIn(ctx context.Context, t *time.Time) string {
	if t == nil {
		return "—"
	}
	return WhenIn(ctx, *t)
}

// IntIn formats a count with the request language's digit grouping.
func IntIn(ctx context.Context, n int64) string { return i18n.From(ctx).Int(n) }
