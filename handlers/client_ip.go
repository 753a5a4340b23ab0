package handlers

import (
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
)

// clientIPExtractor decides who the client is for the audit log, login
// throttling, rate limits and logs. X-Forwarded-For and X-Real-IP are
// believed only when the socket peer is one of the trusted proxies
// (BOTDESK_TRUSTED_PROXIES); Echo's defaults would also trust every
// loopback, link-local and private address, so those are switched off. With
// no trusted proxy the socket peer is the client, whatever headers it sent.
// X-Forwarded-Proto is never read: Options.PublicURL says whether users
// come over https.
func clientIPExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	xff := echo.ExtractIPFromXFFHeader(opts...)
	realIP := echo.ExtractIPFromRealIPHeader(opts...)
	direct := echo.ExtractIPDirect()
	return func(r *http.Request) string {
		switch {
		case r.Header.Get(echo.HeaderXForwardedFor) != "":
			return xff(r)
		case r.Header.Get(echo.HeaderXRealIP) != "":
			return realIP(r)
		}
		return direct(r)
	}
}

// peerTrusted reports whether a socket peer ("ip:port") is a trusted proxy.
func peerTrusted(remote string, trusted []*net.IPNet) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	for _, n := range trusted {
		if ip != nil && n.Contains(ip) {
			return true
		}
	}
	return false
}
