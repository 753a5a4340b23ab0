package callbacks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// DefaultTimeout bounds one delivery attempt end to end. A receiver that
// takes longer is treated as failed and retried later, so one slow endpoint
// cannot hold a dispatcher worker for long.
const DefaultTimeout = 15 * time.Second

// MaxResponseBytes is the most of a receiver's response body that is ever
// read. Receivers only need to answer with a status code; the body is kept
// for the delivery log and must not let a hostile endpoint exhaust memory.
const MaxResponseBytes = 64 << 10

// dialFunc is the shape of (*net.Dialer).DialContext; tests substitute it to
// prove that a refused address is never dialled.
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// NewHTTPClient returns the client to send callbacks with. It never uses a
// proxy from the environment (a proxy would connect on our behalf and hide
// the real target), never follows redirects (the 3xx response is returned as
// is, and counts as a failure, because a redirect could point anywhere),
// gives up after opt.Timeout, and refuses at dial time any address
// [ValidateURL] would refuse, judging the IP it is about to connect to so a
// DNS answer that changed since the URL was saved cannot reach an internal
// service.
func NewHTTPClient(opt Policy) *http.Client {
	return newHTTPClient(opt, nil, nil)
}

// newHTTPClient lets tests trust an httptest TLS certificate and replace the
// raw dialer; production code passes nil for both.
func newHTTPClient(opt Policy, tlsConf *tls.Config, raw dialFunc) *http.Client {
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	transport := func(loopbackOnly bool) *http.Transport {
		g := &dialGuard{policy: opt, loopbackOnly: loopbackOnly, raw: raw}
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if tlsConf != nil {
			tc = tlsConf.Clone()
		}
		return &http.Transport{
			Proxy:                  nil,
			DialContext:            g.DialContext,
			TLSClientConfig:        tc,
			ForceAttemptHTTP2:      true,
			TLSHandshakeTimeout:    10 * time.Second,
			ResponseHeaderTimeout:  timeout,
			MaxResponseHeaderBytes: MaxResponseBytes,
			MaxIdleConns:           100,
			MaxIdleConnsPerHost:    4,
			IdleConnTimeout:        90 * time.Second,
		}
	}
	return &http.Client{
		Transport: &policyTransport{
			policy: opt,
			https:  transport(false),
			// Plain http is only ever allowed to loopback, so its transport
			// gets a dialer that refuses everything else.
			http: transport(true),
		},
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// policyTransport applies the URL rules that need no DNS to every request,
// so a URL saved under an older, looser policy is still refused at send time.
type policyTransport struct {
	policy Policy
	https  *http.Transport
	http   *http.Transport
}

// RoundTrip implements http.RoundTripper.
func (t *policyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if uerr := checkSyntax(req.URL, t.policy); uerr != nil {
		if req.Body != nil {
			req.Body.Close() // the RoundTripper contract requires it
		}
		return nil, uerr
	}
	if req.URL.Scheme == "http" {
		return t.http.RoundTrip(req)
	}
	return t.https.RoundTrip(req)
}

// CloseIdleConnections lets (*http.Client).CloseIdleConnections reach the
// wrapped transports.
func (t *policyTransport) CloseIdleConnections() {
	t.https.CloseIdleConnections()
	t.http.CloseIdleConnections()
}

// dialGuard resolves with the policy's resolver and refuses internal
// addresses before any connection is attempted.
type dialGuard struct {
	policy       Policy
	loopbackOnly bool
	raw          dialFunc
}

// check returns nil if a may be connected to.
func (g *dialGuard) check(a netip.Addr) error {
	c, why := classify(a)
	switch {
	case c == classInternal:
	case c == classLoopback && !g.policy.AllowPrivate:
	case c != classLoopback && g.loopbackOnly:
		why = "plain http is only allowed to loopback"
	default:
		return nil
	}
	return fmt.Errorf("%w: refusing to connect to %s: %s", ErrBlockedAddress, a, why)
}

// control runs inside net.Dialer after the socket is created and before
// connect(2). DialContext already checked the address; this second check
// guarantees that whatever path reaches the real dialer, nothing internal is
// ever connected to.
func (g *dialGuard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: refusing to connect to unparsable address %q", ErrBlockedAddress, address)
	}
	return g.check(ap.Addr())
}

// DialContext resolves addr itself, rather than leaving it to net.Dialer, so
// that the addresses checked are exactly the addresses dialled.
func (g *dialGuard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("callbacks: dial %s: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("callbacks: dial %s: bad port: %w", addr, err)
	}
	addrs, err := g.policy.resolve(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("callbacks: resolve %s: %w", host, err)
	}
	// Refuse if any address is internal, even if a public one exists: such
	// a name is either misconfigured or an attack, and ValidateURL refuses
	// it for the same reason.
	for _, a := range addrs {
		if err := g.check(a); err != nil {
			return nil, err
		}
	}
	dial := g.raw
	if dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
		dial = d.DialContext
	}
	var errs []error
	for _, a := range addrs {
		a = a.Unmap()
		if (network == "tcp4" && !a.Is4()) || (network == "tcp6" && !a.Is6()) {
			continue
		}
		conn, err := dial(ctx, network, netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("callbacks: dial %s: no %s address", host, network)
	}
	return nil, errors.Join(errs...)
}

// ReadLimited reads at most limit bytes of body and closes it. The rest is
// discarded unread: draining a huge or endless body would let a receiver
// keep us busy, and losing the keep-alive connection is the cheaper price.
// truncated reports whether the body was longer than limit.
func ReadLimited(body io.ReadCloser, limit int64) (data []byte, truncated bool, err error) {
	defer body.Close()
	data, err = io.ReadAll(io.LimitReader(body, limit+1))
	if int64(len(data)) > limit {
		return data[:limit], true, err
	}
	if err != nil {
		return data, false, fmt.Errorf("callbacks: read response: %w", err)
	}
	return data, false, nil
}
