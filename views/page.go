// Package views holds botdesk's templ pages and partials and the typed
// view-models they render. Components never touch the database: handlers
// build the view-model and pass it in.
package views

import (
	"fmt"
	"time"

	"github.com/botdesk/botdesk/i18n"
	"github.com/botdesk/botdesk/models"
)

// Page is what every full page's layout needs.
type Page struct {
	Title  string
	User   *models.User
	CSRF   string
	Nav    string // "channels", "workbench", "users", "apikeys", "audit"
	Crumbs []Crumb
	Flash  *Flash
	Demo   bool
	// Path is the request URI, where the language picker returns to.
	Path string
	// Unread is the user's unread total (store.UnreadTotal), shown in the
	// title and beside "Workbench".
	Unread int64
}

// Crumb is one breadcrumb; the last one has no Href.
type Crumb struct {
	Label string
	Href  string
}

// Flash is a one-time message shown at the top of the next page.
type Flash struct {
	Kind    string // success, error, info
	Message string
}

// CanSee reports whether the page's user has at least role r (nav links).
func (p Page) CanSee(r models.Role) bool { return p.User != nil && p.User.Role.AtLeast(r) }

// FieldErrors maps form field names to their error message.
type FieldErrors map[string]string

// Get returns the error for field, or "".
func (f FieldErrors) Get(field string) string {
	if f == nil {
		return ""
	}
	return f[field]
}

// ErrID is the id of a field's error element, for aria-describedby.
func ErrID(field string) string { return "err-" + field }

// When formats a time for tables, in UTC so it is unambiguous on a server console.
func When(t time.Time) string { return i18n.Localizer{}.When(t) }

// WhenPtr formats an optional time.
func WhenPtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return When(*t)
}

// ISO is the machine-readable datetime attribute value.
func ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Itoa formats an int64 for templates.
func Itoa(n int64) string { return fmt.Sprint(n) }
