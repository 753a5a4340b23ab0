package callbacks

import "net/netip"

// addrClass sorts addresses into the three groups the policy cares about.
type addrClass int

const (
	classPublic addrClass = iota
	// classLoopback is the only non-public class AllowPrivate relaxes.
	classLoopback
	classInternal
)

// specialPrefixes are ranges that are not covered by the netip predicates
// but still must not be reachable from a webhook: they either reach a
// provider's internal network (CGNAT hosts cloud metadata services at
// 100.100.100.200, for example) or are not routable on the internet at all,
// so a public receiver can never live there.
var specialPrefixes = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\" address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved address"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible address"},
	{netip.MustParsePrefix("100::/64"), "discard address"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation address"},
	{netip.MustParsePrefix("fec0::/10"), "site-local address"},
}

// Translation prefixes embed an IPv4 address that the packet finally
// reaches, so the embedded address is what must be judged.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// classify says whether a may be contacted and, if not, why (for logs).
// It is a pure function over fixed tables: the rules are a product
// decision, not configuration.
func classify(a netip.Addr) (addrClass, string) {
	if !a.IsValid() {
		return classInternal, "invalid address"
	}
	// IPv4-mapped IPv6 (::ffff:127.0.0.1) reaches the IPv4 address, so
	// judge that; the zone only matters for link-local, caught below.
	a = a.Unmap().WithZone("")
	switch {
	case a.IsLoopback():
		return classLoopback, "loopback address"
	case a.IsUnspecified():
		return classInternal, "unspecified address"
	case a.IsPrivate():
		return classInternal, "private address"
	case a.IsLinkLocalUnicast():
		// Includes 169.254.169.254, the cloud metadata endpoint.
		return classInternal, "link-local address"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return classInternal, "multicast address"
	}
	for _, s := range specialPrefixes {
		if s.prefix.Contains(a) {
			return classInternal, s.why
		}
	}
	if a.Is6() {
		b := a.As16()
		var embedded netip.Addr
		switch {
		case nat64Prefix.Contains(a):
			embedded = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		case sixToFour.Contains(a):
			embedded = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		}
		if embedded.IsValid() {
			if c, why := classify(embedded); c != classPublic {
				// Even loopback is internal here: it is the gateway's
				// loopback, not this machine's.
				return classInternal, "translated " + why
			}
		}
	}
	return classPublic, ""
}
