package store

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestULIDEncoding(t *testing.T) {
	zero := make([]byte, 10)
	ones := bytes.Repeat([]byte{0xff}, 10)
	for _, c := range []struct {
		ms   uint64
		rnd  []byte
		want string
	}{
		{0, zero, "00000000000000000000000000"},
		{1<<48 - 1, ones, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
		// The ULID specification's own example time, 1469918176385 ms.
		{1469918176385, zero, "01ARYZ6S410000000000000000"},
		{0, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "00000000000000000000000001"},
		{0, []byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "0000000000G000000000000000"},
	} {
		t.Run(fmt.Sprintf("%d %x", c.ms, c.rnd), func(t *testing.T) {
			if got := ulid(c.ms, c.rnd); got != c.want {
				t.Errorf("ulid(%d, %x) = %s, want %s", c.ms, c.rnd, got, c.want)
			}
		})
	}
}

// TestEventIDsSortByTime: ids of a later millisecond sort after earlier
// ones whatever their random part, which is what keeps the event_id
// indexes append-only; within a batch they are distinct.
func TestEventIDsSortByTime(t *testing.T) {
	lo := ulid(1700000000000, bytes.Repeat([]byte{0xff}, 10))
	hi := ulid(1700000000001, make([]byte, 10))
	if lo >= hi {
		t.Fatalf("%s sorts after %s", lo, hi)
	}
	ids, err := newEventIDs(2000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if len(id) != 30 || !strings.HasPrefix(id, "evt_") || strings.Trim(id[4:], crockford) != "" {
			t.Fatalf("malformed event id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate event id %q", id)
		}
		seen[id] = true
	}
}
