package metrics

import (
	"bytes"
	"strings"
	"testing"
)

func TestSampleEscapesLabels(t *testing.T) {
	var b bytes.Buffer
	Header(&b, "x_total", "counter", "Things\nwith a \\ backslash.")
	Sample(&b, "x_total", 3, "name", "a\"b\\c\nd", "k", "é")
	Sample(&b, "x_total", 0.25)
	want := "# HELP x_total Things\\nwith a \\\\ backslash.\n# TYPE x_total counter\n" +
		"x_total{name=\"a\\\"b\\\\c\\nd\",k=\"é\"} 3\nx_total 0.25\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestHistogramCumulativeBuckets(t *testing.T) {
	h := NewHistogramVec("channel", []float64{1, 0.1, 0.5})
	for _, x := range []float64{0.05, 0.1, 0.3, 2, 7} {
		h.Observe("tg-b", x)
	}
	h.Observe("tg-a", 0.2)
	h.Observe("gone", 1)
	h.Forget("gone")
	var b bytes.Buffer
	h.Write(&b, "lat_seconds", "Latency.")
	want := `# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{channel="tg-a",le="0.1"} 0
lat_seconds_bucket{channel="tg-a",le="0.5"} 1
lat_seconds_bucket{channel="tg-a",le="1"} 1
lat_seconds_bucket{channel="tg-a",le="+Inf"} 1
lat_seconds_sum{channel="tg-a"} 0.2
lat_seconds_count{channel="tg-a"} 1
lat_seconds_bucket{channel="tg-b",le="0.1"} 2
lat_seconds_bucket{channel="tg-b",le="0.5"} 3
lat_seconds_bucket{channel="tg-b",le="1"} 3
lat_seconds_bucket{channel="tg-b",le="+Inf"} 5
lat_seconds_sum{channel="tg-b"} 9.45
lat_seconds_count{channel="tg-b"} 5
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(b.String(), "gone") {
		t.Error("forgotten series still written")
	}
}
