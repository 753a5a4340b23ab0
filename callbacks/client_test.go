package callbacks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is an httptest server that counts accepted connections, so
// a test can prove that a refused request never reached the socket.
func countingServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// spyDial records every address handed to the raw dialer. It only really
// dials loopback, so a bug in the guard can never send a packet elsewhere;
// for any other address it fails the test instead.
type spyDial struct {
	t     *testing.T
	mu    sync.Mutex
	addrs []string
}

func (s *spyDial) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	s.mu.Lock()
	s.addrs = append(s.addrs, addr)
	s.mu.Unlock()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		s.t.Errorf("raw dial reached non-loopback address %q", addr)
		return nil, errors.New("test: refusing to dial non-loopback")
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (s *spyDial) calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.addrs...)
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
}

func port(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// The dial-time check must refuse internal addresses before connect, for IP
// literals and for names whose DNS answer points inside.
func TestClientRefusesInternalTargetsBeforeConnecting(t *testing.T) {
	srv, conns := countingServer(t, okHandler())
	p := port(t, srv)
	dns := map[string][]string{
		"loop.attacker.test":   {"127.0.0.1"},
		"intra.attacker.test":  {"10.0.0.1"},
		"meta.attacker.test":   {"169.254.169.254"},
		"v6loop.attacker.test": {"::1"},
		"mapped.attacker.test": {"::ffff:127.0.0.1"},
		"mixed.attacker.test":  {"127.0.0.1", "93.184.216.34"},
	}
	for _, host := range []string{
		"127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]", "[::ffff:127.0.0.1]",
		"loop.attacker.test", "intra.attacker.test", "meta.attacker.test",
		"v6loop.attacker.test", "mapped.attacker.test", "mixed.attacker.test",
	} {
		t.Run(host, func(t *testing.T) {
			spy := &spyDial{t: t}
			c := newHTTPClient(Policy{LookupIP: fakeDNS(dns), Timeout: 2 * time.Second}, nil, spy.dial)
			resp, err := c.Get("https://" + host + ":" + p + "/")
			if err == nil {
				resp.Body.Close()
				t.Fatal("request succeeded")
			}
			if !errors.Is(err, ErrBlockedAddress) {
				t.Fatalf("err = %v, want ErrBlockedAddress", err)
			}
			if calls := spy.calls(); len(calls) != 0 {
				t.Fatalf("raw dialer was called with %v", calls)
			}
		})
	}
	// The spy only guards this test's own dials; this checks the server.
	if n := conns.Load(); n != 0 {
		t.Fatalf("server accepted %d connections", n)
	}
}

// NewHTTPClient (the real dialer, no test hooks) refuses loopback too.
func TestNewHTTPClientRefusesLoopback(t *testing.T) {
	srv, conns := countingServer(t, okHandler())
	p := port(t, srv)
	c := NewHTTPClient(Policy{Timeout: 2 * time.Second})
	for _, u := range []string{"https://127.0.0.1:" + p + "/", "https://[::ffff:127.0.0.1]:" + p + "/", "http://127.0.0.1:" + p + "/"} {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: request succeeded", u)
		}
		if !errors.Is(err, ErrBlockedAddress) && !errors.Is(err, ErrURLScheme) {
			t.Errorf("%s: err = %v", u, err)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("server accepted %d connections", n)
	}
}

// The Control hook is the last line of defence inside net.Dialer.
func TestDialControl(t *testing.T) {
	g := &dialGuard{policy: Policy{}}
	for _, a := range []string{"127.0.0.1:80", "10.0.0.1:443", "169.254.169.254:80", "[::1]:443", "[::ffff:127.0.0.1]:443", "[fe80::1%eth0]:443", "nonsense"} {
		if err := g.control("tcp", a, nil); !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("control(%s) = %v", a, err)
		}
	}
	if err := g.control("tcp4", "93.184.216.34:443", nil); err != nil {
		t.Errorf("control(public) = %v", err)
	}
	dev := &dialGuard{policy: Policy{AllowPrivate: true}}
	if err := dev.control("tcp4", "127.0.0.1:80", nil); err != nil {
		t.Errorf("AllowPrivate control(loopback) = %v", err)
	}
	if err := dev.control("tcp4", "10.0.0.1:80", nil); err == nil {
		t.Error("AllowPrivate control(10.0.0.1) allowed")
	}
}

// A name that was public when the URL was saved and points inside when the
// request is made (DNS rebinding) is refused at dial time.
func TestClientDNSRebinding(t *testing.T) {
	srv, conns := countingServer(t, okHandler())
	var lookups atomic.Int64
	lookup := func(context.Context, string, string) ([]netip.Addr, error) {
		if lookups.Add(1) == 1 {
			return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	opt := Policy{LookupIP: lookup, Timeout: 2 * time.Second}
	u := "https://rebind.attacker.test:" + port(t, srv) + "/"
	if err := ValidateURL(context.Background(), u, opt); err != nil {
		t.Fatalf("first answer is public, ValidateURL should pass: %v", err)
	}
	resp, err := NewHTTPClient(opt).Get(u)
	if err == nil {
		resp.Body.Close()
		t.Fatal("request succeeded")
	}
	if !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("err = %v, want ErrBlockedAddress", err)
	}
	if conns.Load() != 0 {
		t.Fatal("server was reached")
	}
}

func TestClientAllowPrivateOnlyRelaxesLoopback(t *testing.T) {
	srv, conns := countingServer(t, okHandler())
	p := port(t, srv)
	dns := map[string][]string{"hook.test": {"127.0.0.1"}, "intra.test": {"10.0.0.1"}, "public.test": {"93.184.216.34"}}
	spy := &spyDial{t: t}
	c := newHTTPClient(Policy{AllowPrivate: true, LookupIP: fakeDNS(dns), Timeout: 2 * time.Second}, nil, spy.dial)
	for _, u := range []string{"http://127.0.0.1:" + p + "/", "http://hook.test:" + p + "/"} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		b, _, _ := ReadLimited(resp.Body, 10)
		if resp.StatusCode != 200 || string(b) != "ok" {
			t.Fatalf("%s: %d %q", u, resp.StatusCode, b)
		}
	}
	if conns.Load() == 0 {
		t.Fatal("server not reached")
	}
	before := len(spy.calls())
	for _, u := range []string{
		"http://10.0.0.1:" + p + "/", "https://10.0.0.1:" + p + "/", "http://intra.test:" + p + "/",
		"https://169.254.169.254/", "http://public.test:" + p + "/",
	} {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: request succeeded", u)
		}
		if !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("%s: err = %v, want ErrBlockedAddress", u, err)
		}
	}
	if after := spy.calls(); len(after) != before {
		t.Fatalf("raw dialer called for refused targets: %v", after[before:])
	}
}

// https to a loopback receiver works with AllowPrivate, proving the TLS
// path goes through the same guarded dialer.
func TestClientHTTPSLoopback(t *testing.T) {
	srv := httptest.NewTLSServer(okHandler())
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c := newHTTPClient(Policy{AllowPrivate: true, Timeout: 2 * time.Second}, &tls.Config{RootCAs: pool}, nil)
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	strict := newHTTPClient(Policy{Timeout: 2 * time.Second}, &tls.Config{RootCAs: pool}, nil)
	if _, err := strict.Get(srv.URL); !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("strict policy: err = %v", err)
	}
}

func TestClientIgnoresProxyEnv(t *testing.T) {
	proxy, proxyConns := countingServer(t, okHandler())
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")
	srv, conns := countingServer(t, okHandler())
	c := NewHTTPClient(Policy{AllowPrivate: true, Timeout: 2 * time.Second})
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if proxyConns.Load() != 0 || conns.Load() != 1 {
		t.Fatalf("proxy conns %d, direct conns %d", proxyConns.Load(), conns.Load())
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	target, targetConns := countingServer(t, okHandler())
	redir := httptest.NewServer(http.RedirectHandler(target.URL+"/elsewhere", http.StatusFound))
	t.Cleanup(redir.Close)
	c := NewHTTPClient(Policy{AllowPrivate: true, Timeout: 2 * time.Second})
	resp, err := c.Get(redir.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want 302 returned as is", resp.StatusCode)
	}
	if targetConns.Load() != 0 {
		t.Fatal("redirect was followed")
	}
}

func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	c := NewHTTPClient(Policy{AllowPrivate: true, Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := c.Get(srv.URL)
	if err == nil {
		t.Fatal("hanging receiver did not time out")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

// endlessReader counts what is read from it and never ends.
type endlessReader struct{ n atomic.Int64 }

func (r *endlessReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	r.n.Add(int64(len(p)))
	return len(p), nil
}

func (r *endlessReader) Close() error { return nil }

func TestReadLimited(t *testing.T) {
	r := &endlessReader{}
	data, truncated, err := ReadLimited(r, MaxResponseBytes)
	if err != nil || !truncated || len(data) != MaxResponseBytes {
		t.Fatalf("len %d truncated %v err %v", len(data), truncated, err)
	}
	if n := r.n.Load(); n > MaxResponseBytes+1 {
		t.Fatalf("read %d bytes from the body, limit %d", n, MaxResponseBytes)
	}
	data, truncated, err = ReadLimited(io.NopCloser(strings.NewReader("short")), 10)
	if err != nil || truncated || string(data) != "short" {
		t.Fatalf("short body: %q %v %v", data, truncated, err)
	}
	data, truncated, _ = ReadLimited(io.NopCloser(strings.NewReader("0123456789")), 10)
	if truncated || len(data) != 10 {
		t.Fatalf("exact-size body: len %d truncated %v", len(data), truncated)
	}
}
