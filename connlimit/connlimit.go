// Package connlimit caps how many connections one client IP may hold open
// at the listener, before any HTTP is read, so a single address cannot
// exhaust the server's sockets and goroutines with idle or trickling
// connections.
package connlimit

import (
	"errors"
	"net"
	"sync"
	"syscall"
)

// Listener wraps a net.Listener: a connection from an IP that already
// holds Max open ones is closed at once. Peers for which Exempt returns
// true (trusted reverse proxies, whose clients are many) are not counted.
type Listener struct {
	net.Listener
	Max    int
	Exempt func(net.IP) bool

	mu    sync.Mutex
	conns map[string]int
}

// New wraps ln; max <= 0 means no cap.
func New(ln net.Listener, max int, exempt func(net.IP) bool) *Listener {
	return &Listener{Listener: ln, Max: max, Exempt: exempt, conns: map[string]int{}}
}

// Accept returns the next connection within the cap, closing those over it.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.Max <= 0 {
			return c, nil
		}
		host, _, err := net.SplitHostPort(c.RemoteAddr().String())
		if err != nil {
			return c, nil
		}
		if ip := net.ParseIP(host); ip != nil && l.Exempt != nil && l.Exempt(ip) {
			return c, nil
		}
		l.mu.Lock()
		if l.conns[host] >= l.Max {
			l.mu.Unlock()
			_ = c.Close()
			continue
		}
		l.conns[host]++
		l.mu.Unlock()
		return &conn{Conn: c, release: func() { l.release(host) }}, nil
	}
}

// Open reports how many counted connections ip holds (for tests and metrics).
func (l *Listener) Open(ip string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns[ip]
}

func (l *Listener) release(host string) {
	l.mu.Lock()
	if l.conns[host]--; l.conns[host] <= 0 {
		delete(l.conns, host)
	}
	l.mu.Unlock()
}

type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// SyscallConn reaches the accepted connection's descriptor (the live
// list's direct writes, handlers/sse_direct.go), when it has one.
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.New("connlimit: the connection has no descriptor")
	}
	return sc.SyscallConn()
}
