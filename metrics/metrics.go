// Package metrics writes the Prometheus text exposition format by hand:
// family headers, samples with escaped labels, and a histogram with fixed
// buckets. botdesk's gauges are read from the database at scrape time and
// its counters are a few atomics, so a registry library would only wrap
// what the writers already do (docs/operations.md, "Metrics").
package metrics

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Header writes the HELP and TYPE lines of a family; typ is gauge, counter
// or histogram.
func Header(w io.Writer, name, typ, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

// Sample writes one sample; labels are name, value pairs.
func Sample(w io.Writer, name string, value float64, labels ...string) {
	fmt.Fprintf(w, "%s%s %s\n", name, labelSet(labels), formatValue(value))
}

func labelSet(kv []string) string {
	if len(kv) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// The text format escapes only these in label values (and \ and newline in HELP).
var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// HistogramVec is a histogram per value of one label (e.g. channel), with
// the same upper bounds for all. Safe for concurrent use.
type HistogramVec struct {
	label   string
	buckets []float64
	mu      sync.Mutex
	series  map[string]*histogram
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	count  uint64
}

// NewHistogramVec makes a histogram family keyed by label with the given
// ascending upper bounds (+Inf is implied).
func NewHistogramVec(label string, buckets []float64) *HistogramVec {
	b := append([]float64(nil), buckets...)
	sort.Float64s(b)
	return &HistogramVec{label: label, buckets: b, series: map[string]*histogram{}}
}

// Observe records x for the series labelValue.
func (v *HistogramVec) Observe(labelValue string, x float64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	h := v.series[labelValue]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(v.buckets)+1)}
		v.series[labelValue] = h
	}
	i := sort.SearchFloat64s(v.buckets, x) // first bound >= x
	h.counts[i]++
	h.sum += x
	h.count++
}

// Forget drops a series (its channel was deleted).
func (v *HistogramVec) Forget(labelValue string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.series, labelValue)
}

// Write writes the family: header, then per series the cumulative
// buckets, _sum and _count, in label order.
func (v *HistogramVec) Write(w io.Writer, name, help string) {
	Header(w, name, "histogram", help)
	v.mu.Lock()
	defer v.mu.Unlock()
	keys := make([]string, 0, len(v.series))
	for k := range v.series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h := v.series[k]
		var cum uint64
		for i, ub := range v.buckets {
			cum += h.counts[i]
			Sample(w, name+"_bucket", float64(cum), v.label, k, "le", formatValue(ub))
		}
		Sample(w, name+"_bucket", float64(h.count), v.label, k, "le", "+Inf")
		Sample(w, name+"_sum", h.sum, v.label, k)
		Sample(w, name+"_count", float64(h.count), v.label, k)
	}
}
