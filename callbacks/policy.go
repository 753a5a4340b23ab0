package callbacks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"time"
)

// MaxURLLength bounds a callback URL; longer values are almost certainly
// pasted by mistake and would bloat every delivery log row.
const MaxURLLength = 2048

// Policy says which callback targets are acceptable. The zero value is the
// production policy: https only, public addresses only, system resolver.
type Policy struct {
	// AllowPrivate (BOTDESK_ALLOW_PRIVATE_CALLBACKS=1) permits loopback
	// targets, over http or https, so a receiver on the same machine can be
	// used in development. It relaxes nothing else: private networks,
	// link-local and cloud metadata addresses stay refused.
	AllowPrivate bool

	// LookupIP resolves a host name. It has the signature of
	// (*net.Resolver).LookupNetIP so a resolver can be plugged in directly;
	// nil means net.DefaultResolver. Tests use it to make a name resolve to
	// an internal address without touching real DNS.
	LookupIP func(ctx context.Context, network, host string) ([]netip.Addr, error)

	// Timeout bounds a whole delivery (dial, TLS, request, response
	// headers and body); zero means [DefaultTimeout].
	Timeout time.Duration
}

func (p Policy) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if p.LookupIP != nil {
		return p.LookupIP(ctx, "ip", host)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// resolve returns the addresses of host, which may be an IP literal.
func (p Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	addrs, err := p.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no addresses for %q", host)
	}
	return addrs, nil
}

// Sentinel reasons a URL or a connection is refused; a [URLError] unwraps to
// one of them so handlers can map them with errors.Is.
var (
	ErrURLMalformed    = errors.New("callbacks: malformed URL")
	ErrURLScheme       = errors.New("callbacks: URL scheme not allowed")
	ErrURLUserinfo     = errors.New("callbacks: URL contains credentials")
	ErrURLTooLong      = errors.New("callbacks: URL too long")
	ErrURLUnresolvable = errors.New("callbacks: URL host does not resolve")
	// ErrBlockedAddress is returned both by ValidateURL and by the dialer
	// of NewHTTPClient when the target is private, loopback, link-local or
	// otherwise internal.
	ErrBlockedAddress = errors.New("callbacks: address not allowed")
)

// URLError explains why a callback URL was refused. Its Error text is
// written for the operator and is meant to be shown next to the form field;
// Cause carries the technical detail (a DNS error, the offending address)
// for the log.
type URLError struct {
	Reason  error  // one of the ErrURL* sentinels or ErrBlockedAddress
	Message string // plain language, e.g. "must start with https://"
	Cause   error  // may be nil
}

// Error returns the plain-language message.
func (e *URLError) Error() string { return e.Message }

// Unwrap exposes both the sentinel reason and the cause to errors.Is/As.
func (e *URLError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Cause}
}

// Messages shown next to the form field. Kept together so the wording is
// consistent and easy to review.
const (
	msgTooLong     = "must be at most 2048 characters long"
	msgMalformed   = "is not a valid URL"
	msgNotAbsolute = "must be a full URL, like https://example.com/botdesk/status"
	msgHTTPS       = "must start with https://"
	msgHTTPLocal   = "must start with https:// (http:// is only allowed for loopback addresses such as 127.0.0.1)"
	msgUserinfo    = "must not contain a user name or password"
	msgPort        = "has an invalid port number"
	msgUnresolved  = "could not be found: check the host name"
	msgBlocked     = "points to a private or internal address"
	msgLoopback    = "points to this server (a loopback address)"
)

func urlErr(reason error, msg string, cause error) *URLError {
	return &URLError{Reason: reason, Message: msg, Cause: cause}
}

// checkSyntax runs the checks that need no DNS. It is shared by ValidateURL
// and the client's transport so a URL stored before a policy change is still
// refused at send time.
func checkSyntax(u *url.URL, opt Policy) *URLError {
	if !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return urlErr(ErrURLMalformed, msgNotAbsolute, nil)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !opt.AllowPrivate {
			return urlErr(ErrURLScheme, msgHTTPS, nil)
		}
	default:
		return urlErr(ErrURLScheme, msgHTTPS, nil)
	}
	if u.User != nil {
		return urlErr(ErrURLUserinfo, msgUserinfo, nil)
	}
	if u.Hostname() == "" {
		return urlErr(ErrURLMalformed, msgNotAbsolute, nil)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return urlErr(ErrURLMalformed, msgPort, nil)
		}
	}
	return nil
}

// ValidateURL checks a callback URL when the Configure Webhook form is
// saved: absolute, https (http only for loopback with AllowPrivate), no
// credentials, at most MaxURLLength characters, and a host whose every
// resolved address is public. Every address is checked, not just the first,
// because the client may connect to any of them. The returned error is a
// *URLError whose text can be shown to the operator as is.
func ValidateURL(ctx context.Context, raw string, opt Policy) error {
	if len(raw) > MaxURLLength {
		return urlErr(ErrURLTooLong, msgTooLong, nil)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return urlErr(ErrURLMalformed, msgMalformed, err)
	}
	if uerr := checkSyntax(u, opt); uerr != nil {
		return uerr
	}
	addrs, err := opt.resolve(ctx, u.Hostname())
	if err != nil {
		return urlErr(ErrURLUnresolvable, msgUnresolved, err)
	}
	allLoopback := true
	for _, a := range addrs {
		c, why := classify(a)
		switch {
		case c == classInternal:
			return urlErr(ErrBlockedAddress, msgBlocked, fmt.Errorf("%s resolves to %s (%s)", u.Hostname(), a, why))
		case c == classLoopback && !opt.AllowPrivate:
			return urlErr(ErrBlockedAddress, msgLoopback, fmt.Errorf("%s resolves to %s (%s)", u.Hostname(), a, why))
		case c != classLoopback:
			allLoopback = false
		}
	}
	if u.Scheme == "http" && !allLoopback {
		return urlErr(ErrURLScheme, msgHTTPLocal, nil)
	}
	return nil
}
