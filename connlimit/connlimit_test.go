package connlimit

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestCapPerIP opens connections from 127.0.0.1 over real TCP: the ones
// beyond Max are closed by the server at once, and closing one frees a slot.
func TestCapPerIP(t *testing.T) {
	for _, tc := range []struct {
		name   string
		exempt bool
	}{{"capped", false}, {"exempt proxy", true}} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln := New(raw, 2, func(ip net.IP) bool { return tc.exempt && ip.IsLoopback() })
			defer ln.Close()
			accepted := make(chan net.Conn, 8)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted <- c
				}
			}()
			dial := func() net.Conn {
				t.Helper()
				c, err := net.Dial("tcp", raw.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}
			a, b := dial(), dial()
			sa, sb := <-accepted, <-accepted
			_, _ = a, b
			third := dial()
			if tc.exempt {
				<-accepted // accepted like any other
				return
			}
			// The server closes the third connection: the client reads EOF.
			_ = third.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := third.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("third connection: read %v, want EOF (closed by the cap)", err)
			}
			if n := ln.Open("127.0.0.1"); n != 2 {
				t.Errorf("Open = %d, want 2", n)
			}
			sa.Close()
			if n := ln.Open("127.0.0.1"); n != 1 {
				t.Errorf("Open after a close = %d, want 1", n)
			}
			dial()
			select {
			case c := <-accepted:
				c.Close()
			case <-time.After(10 * time.Second):
				t.Fatal("a freed slot was not reused")
			}
			sb.Close()
		})
	}
}
