package callbacks

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// fakeDNS resolves from a fixed table and fails for anything else, so no
// test ever depends on, or sends queries to, real DNS.
func fakeDNS(table map[string][]string) func(context.Context, string, string) ([]netip.Addr, error) {
	return func(_ context.Context, _, host string) ([]netip.Addr, error) {
		raw, ok := table[host]
		if !ok {
			return nil, fmt.Errorf("lookup %s: no such host", host)
		}
		addrs := make([]netip.Addr, len(raw))
		for i, r := range raw {
			addrs[i] = netip.MustParseAddr(r)
		}
		return addrs, nil
	}
}

var testDNS = map[string][]string{
	"hooks.example.com":    {"93.184.216.34"},
	"v6.example.com":       {"2606:2800:220:1:248:1893:25c8:1946"},
	"localhost":            {"127.0.0.1", "::1"},
	"loop.attacker.test":   {"127.0.0.1"},
	"intra.attacker.test":  {"10.0.0.1"},
	"meta.attacker.test":   {"169.254.169.254"},
	"mixed.attacker.test":  {"93.184.216.34", "192.168.1.10"},
	"mapped.attacker.test": {"::ffff:127.0.0.1"},
	"v6loop.attacker.test": {"::1"},
	"cgnat.attacker.test":  {"100.100.100.200"},
}

func TestValidateURL(t *testing.T) {
	ctx := context.Background()
	strict := Policy{LookupIP: fakeDNS(testDNS)}
	dev := Policy{AllowPrivate: true, LookupIP: fakeDNS(testDNS)}
	tests := []struct {
		raw     string
		opt     Policy
		want    error // nil or a sentinel
		message string
	}{
		{"https://hooks.example.com/botdesk/status", strict, nil, ""},
		{"https://hooks.example.com:8443/x?token=abc", strict, nil, ""},
		{"https://v6.example.com/", strict, nil, ""},
		{"https://93.184.216.34/", strict, nil, ""},

		{"http://hooks.example.com/", strict, ErrURLScheme, "must start with https://"},
		{"ftp://hooks.example.com/", strict, ErrURLScheme, "must start with https://"},
		{"hooks.example.com/status", strict, ErrURLMalformed, "must be a full URL"},
		{"/status", strict, ErrURLMalformed, "must be a full URL"},
		{"https:///path", strict, ErrURLMalformed, "must be a full URL"},
		{"https://exa mple.com/", strict, ErrURLMalformed, "is not a valid URL"},
		{"https://user:pw@hooks.example.com/", strict, ErrURLUserinfo, "user name or password"},
		{"https://hooks.example.com:99999/", strict, ErrURLMalformed, "port"},
		{"https://hooks.example.com/" + strings.Repeat("a", MaxURLLength), strict, ErrURLTooLong, "2048"},
		{"https://nowhere.invalid/", strict, ErrURLUnresolvable, "could not be found"},

		{"https://127.0.0.1/", strict, ErrBlockedAddress, "loopback"},
		{"https://10.0.0.1/", strict, ErrBlockedAddress, "private or internal"},
		{"https://172.16.5.4/", strict, ErrBlockedAddress, "private or internal"},
		{"https://192.168.0.1/", strict, ErrBlockedAddress, "private or internal"},
		{"https://169.254.169.254/latest/meta-data/", strict, ErrBlockedAddress, "private or internal"},
		{"https://100.64.0.1/", strict, ErrBlockedAddress, "private or internal"},
		{"https://0.0.0.0/", strict, ErrBlockedAddress, "private or internal"},
		{"https://224.0.0.1/", strict, ErrBlockedAddress, "private or internal"},
		{"https://[::1]/", strict, ErrBlockedAddress, "loopback"},
		{"https://[::ffff:127.0.0.1]/", strict, ErrBlockedAddress, "loopback"},
		{"https://[::ffff:10.0.0.1]/", strict, ErrBlockedAddress, "private or internal"},
		{"https://[fd00::1]/", strict, ErrBlockedAddress, "private or internal"},
		{"https://[fe80::1%25eth0]/", strict, ErrBlockedAddress, "private or internal"},
		{"https://[::]/", strict, ErrBlockedAddress, "private or internal"},
		{"https://[64:ff9b::a9fe:a9fe]/", strict, ErrBlockedAddress, "private or internal"},
		{"https://loop.attacker.test/", strict, ErrBlockedAddress, "loopback"},
		{"https://intra.attacker.test/", strict, ErrBlockedAddress, "private or internal"},
		{"https://meta.attacker.test/", strict, ErrBlockedAddress, "private or internal"},
		{"https://mixed.attacker.test/", strict, ErrBlockedAddress, "private or internal"},
		{"https://mapped.attacker.test/", strict, ErrBlockedAddress, "loopback"},
		{"https://v6loop.attacker.test/", strict, ErrBlockedAddress, "loopback"},
		{"https://cgnat.attacker.test/", strict, ErrBlockedAddress, "private or internal"},
		{"http://localhost:8080/hook", strict, ErrURLScheme, "must start with https://"},

		// AllowPrivate relaxes loopback only, and http only for loopback.
		{"http://127.0.0.1:8080/hook", dev, nil, ""},
		{"http://[::1]:8080/hook", dev, nil, ""},
		{"http://localhost:8080/hook", dev, nil, ""},
		{"https://loop.attacker.test/", dev, nil, ""},
		{"http://hooks.example.com/", dev, ErrURLScheme, "only allowed for loopback"},
		{"http://10.0.0.1/", dev, ErrBlockedAddress, "private or internal"},
		{"https://169.254.169.254/", dev, ErrBlockedAddress, "private or internal"},
		{"https://intra.attacker.test/", dev, ErrBlockedAddress, "private or internal"},
		{"http://user@127.0.0.1/", dev, ErrURLUserinfo, "user name or password"},
	}
	for _, tt := range tests {
		t.Run(tt.raw[:min(len(tt.raw), 60)], func(t *testing.T) {
			err := ValidateURL(ctx, tt.raw, tt.opt)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var ue *URLError
			if !errors.As(err, &ue) {
				t.Fatalf("err %T is not a *URLError", err)
			}
			if !strings.Contains(ue.Error(), tt.message) {
				t.Errorf("message %q does not contain %q", ue.Error(), tt.message)
			}
			if strings.Contains(ue.Error(), "callbacks:") {
				t.Errorf("message %q is not plain language", ue.Error())
			}
		})
	}
}

func TestClassifyAddr(t *testing.T) {
	tests := []struct {
		addr string
		want addrClass
	}{
		{"8.8.8.8", classPublic},
		{"93.184.216.34", classPublic},
		{"2606:4700::1111", classPublic},
		{"::ffff:8.8.8.8", classPublic},
		{"64:ff9b::808:808", classPublic},
		{"127.0.0.1", classLoopback},
		{"127.255.0.9", classLoopback},
		{"::1", classLoopback},
		{"::ffff:127.0.0.1", classLoopback},
		{"10.0.0.1", classInternal},
		{"172.16.0.1", classInternal},
		{"172.31.255.255", classInternal},
		{"192.168.1.1", classInternal},
		{"169.254.169.254", classInternal},
		{"100.64.0.1", classInternal},
		{"100.127.255.254", classInternal},
		{"0.0.0.0", classInternal},
		{"255.255.255.255", classInternal},
		{"239.1.1.1", classInternal},
		{"fc00::1", classInternal},
		{"fd12:3456::1", classInternal},
		{"fe80::1", classInternal},
		{"ff02::1", classInternal},
		{"::", classInternal},
		{"::ffff:10.0.0.1", classInternal},
		{"::ffff:169.254.169.254", classInternal},
		{"::10.0.0.1", classInternal},
		{"64:ff9b::7f00:1", classInternal},
		{"2002:0a00:0001::1", classInternal},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got, why := classify(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("classify(%s) = %v (%s), want %v", tt.addr, got, why, tt.want)
			}
		})
	}
	if c, _ := classify(netip.Addr{}); c != classInternal {
		t.Error("zero Addr not internal")
	}
}
