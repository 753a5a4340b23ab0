package views

// Charts are drawn on the server as SVG (views/charts.templ) from a Chart
// computed here: no script, no style attributes (CSP), colours from CSS
// classes, a <title> per bar or point for hover details, and the same
// numbers as a table beside the picture.

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/botdesk/botdesk/store"
)

// Chart kinds.
const (
	ChartBars    = "bars"    // series side by side per bucket
	ChartStacked = "stacked" // series stacked per bucket
	ChartLines   = "lines"   // one line per series
)

// ChartSeries is one named row of values; Missing marks buckets without a
// value (a percentile without a sample), drawn as a gap.
type ChartSeries struct {
	Name    string
	Class   string // CSS class giving the colour: s1…s4, ok, err, warn, off
	Values  []float64
	Missing []bool
}

// Chart is one figure: the series over the buckets.
type Chart struct {
	ID      string
	Title   string
	Kind    string
	Unit    string // "count", "ms" or "percent" (of the bucket's time)
	Labels  []string
	Full    []string // the bucket's full label, for the table and tooltips
	Series  []ChartSeries
	Summary string
	// dur formats milliseconds in the request's language (Duration).
	dur func(ms int64) string
}

// Chart geometry, in SVG user units: the viewBox is chartW × chartH and
// CSS scales it to the container, so it stays legible at 360 px.
const (
	chartW     = 420.0
	chartH     = 190.0
	plotLeft   = 44.0
	plotRight  = 8.0
	plotTop    = 10.0
	plotBottom = 26.0
)

// ChartBox is the viewBox attribute.
func ChartBox() string { return fmt.Sprintf("0 0 %g %g", chartW, chartH) }

// ChartRect is a bar.
type ChartRect struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

// ChartLine is a series' polyline (one per run without gaps) and its dots.
type ChartLine struct {
	Class  string
	Points []string
	Dots   []ChartDot
}

// ChartDot is one point, with its hover title.
type ChartDot struct {
	X, Y  float64
	Title string
}

// ChartTick is a y-axis gridline or an x-axis label.
type ChartTick struct {
	X, Y  float64
	Label string
}

// ChartGeometry is what the template draws.
type ChartGeometry struct {
	Rects  []ChartRect
	Lines  []ChartLine
	YTicks []ChartTick
	XTicks []ChartTick
	Left   float64
	Right  float64
	Bottom float64
}

func (c Chart) n() int { return len(c.Labels) }

// max is the top of the y axis: the largest value (or stack), rounded up
// to a nice number.
func (c Chart) max() float64 {
	top := 0.0
	for i := 0; i < c.n(); i++ {
		sum := 0.0
		for _, s := range c.Series {
			if c.Kind == ChartStacked {
				sum += s.Values[i]
			} else {
				top = math.Max(top, s.Values[i])
			}
		}
		top = math.Max(top, sum)
	}
	if c.Unit == "percent" {
		return 100
	}
	return niceCeil(top)
}

// niceCeil rounds v up to 1, 2 or 5 × 10^k (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*exp {
			return m * exp
		}
	}
	return 10 * exp
}

// Format renders a value in the chart's unit.
func (c Chart) Format(v float64) string {
	switch c.Unit {
	case "ms":
		if c.dur != nil {
			return c.dur(int64(v))
		}
		return strconv.FormatInt(int64(v), 10) + " ms"
	case "percent":
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + " %"
	}
	return strconv.FormatInt(int64(math.Round(v)), 10)
}

// Cell is the table cell of series s at bucket i.
func (c Chart) Cell(s ChartSeries, i int) string {
	if s.Missing != nil && s.Missing[i] {
		return "—"
	}
	return c.Format(s.Values[i])
}

// Duration is a millisecond figure for people: "850 ms", "42 s", "3 min 5 s", "2 h 10 min".
func Duration(ctx context.Context, ms int64) string {
	switch {
	case ms < 1000:
		return T(ctx, "%d ms", ms)
	case ms < 60_000:
		return T(ctx, "%s s", strconv.FormatFloat(math.Round(float64(ms)/100)/10, 'f', -1, 64))
	case ms < 3_600_000:
		m, s := ms/60_000, (ms%60_000)/1000
		if s == 0 {
			return T(ctx, "%d min", m)
		}
		return T(ctx, "%d min %d s", m, s)
	case ms < 48*3_600_000:
		h, m := ms/3_600_000, (ms%3_600_000)/60_000
		if m == 0 {
			return T(ctx, "%d h", h)
		}
		return T(ctx, "%d h %d min", h, m)
	}
	return T(ctx, "%d d %d h", ms/86_400_000, (ms%86_400_000)/3_600_000)
}

// OptDuration is Duration of a percentile, "—" without one.
func OptDuration(ctx context.Context, p *int64) string {
	if p == nil {
		return "—"
	}
	return Duration(ctx, *p)
}

// Geometry lays the chart out.
func (c Chart) Geometry() ChartGeometry {
	g := ChartGeometry{Left: plotLeft, Right: chartW - plotRight, Bottom: chartH - plotBottom}
	n := c.n()
	if n == 0 {
		return g
	}
	top := c.max()
	plotH := g.Bottom - plotTop
	y := func(v float64) float64 { return round1(g.Bottom - v/top*plotH) }
	for _, f := range []float64{0, 0.5, 1} {
		g.YTicks = append(g.YTicks, ChartTick{X: plotLeft - 4, Y: y(top * f), Label: c.axisLabel(top * f)})
	}
	step := (g.Right - g.Left) / float64(n)
	every := max(1, int(math.Ceil(float64(n)/6)))
	for i := 0; i < n; i += every {
		g.XTicks = append(g.XTicks, ChartTick{X: round1(g.Left + step*(float64(i)+0.5)), Y: chartH - 8, Label: c.Labels[i]})
	}
	switch c.Kind {
	case ChartLines:
		for _, s := range c.Series {
			l := ChartLine{Class: s.Class}
			var run []string
			flush := func() {
				if len(run) > 0 {
					l.Points = append(l.Points, strings.Join(run, " "))
				}
				run = nil
			}
			for i, v := range s.Values {
				if s.Missing != nil && s.Missing[i] {
					flush()
					continue
				}
				x := round1(g.Left + step*(float64(i)+0.5))
				run = append(run, fmt.Sprintf("%g,%g", x, y(v)))
				l.Dots = append(l.Dots, ChartDot{X: x, Y: y(v), Title: c.Full[i] + " · " + s.Name + ": " + c.Format(v)})
			}
			flush()
			g.Lines = append(g.Lines, l)
		}
	default:
		gap := math.Min(step*0.15, 4)
		for i := 0; i < n; i++ {
			x0 := g.Left + step*float64(i) + gap/2
			w := step - gap
			base := 0.0
			for k, s := range c.Series {
				v := s.Values[i]
				r := ChartRect{Class: s.Class, Title: c.Full[i] + " · " + s.Name + ": " + c.Format(v)}
				if c.Kind == ChartStacked {
					r.X, r.W = round1(x0), round1(w)
					r.Y, r.H = y(base+v), round1(y(base)-y(base+v))
					base += v
				} else {
					bw := w / float64(len(c.Series))
					r.X, r.W = round1(x0+bw*float64(k)), round1(bw)
					r.Y, r.H = y(v), round1(g.Bottom-y(v))
				}
				if v > 0 && r.H < 1 {
					r.Y, r.H = r.Y-1, 1 // a non-zero value stays visible
				}
				g.Rects = append(g.Rects, r)
			}
		}
	}
	return g
}

func (c Chart) axisLabel(v float64) string {
	return c.Format(v)
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// chartLabels are the short axis labels and the full labels of buckets.
func chartLabels(starts []time.Time, bucket string) (short, full []string) {
	for _, t := range starts {
		t = t.UTC()
		// Numeric dates: the same in every language the console speaks.
		if bucket == store.BucketDay {
			short = append(short, t.Format("01-02"))
			full = append(full, t.Format("2006-01-02"))
		} else {
			short = append(short, t.Format("15:04"))
			full = append(full, t.Format("2006-01-02 15:04")+" UTC")
		}
	}
	return short, full
}

// summarise writes a chart's text alternative: per series the total (or,
// for durations, the range) and the busiest bucket.
func summarise(ctx context.Context, c *Chart, period string) {
	var parts []string
	for _, s := range c.Series {
		total, peak, at, have := 0.0, -1.0, 0, 0
		lo := math.Inf(1)
		for i, v := range s.Values {
			if s.Missing != nil && s.Missing[i] {
				continue
			}
			have++
			total += v
			lo = math.Min(lo, v)
			if v > peak {
				peak, at = v, i
			}
		}
		switch {
		case have == 0:
			parts = append(parts, T(ctx, "%s: no data", s.Name))
		case c.Unit == "count":
			parts = append(parts, T(ctx, "%s: %s in total, most (%s) at %s", s.Name, c.Format(total), c.Format(peak), c.Full[at]))
		default:
			parts = append(parts, T(ctx, "%s: from %s to %s, highest at %s", s.Name, c.Format(lo), c.Format(peak), c.Full[at]))
		}
	}
	c.Summary = T(ctx, "%s, %s. %s.", c.Title, period, strings.Join(parts, "; "))
}

func counts(n int, f func(i int) int64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(f(i))
	}
	return out
}

func pctSeries(name, class string, bs []store.ReportBucket, pick func(b store.ReportBucket) *int64) ChartSeries {
	s := ChartSeries{Name: name, Class: class, Values: make([]float64, len(bs)), Missing: make([]bool, len(bs))}
	for i, b := range bs {
		if p := pick(b); p != nil {
			s.Values[i] = float64(*p)
		} else {
			s.Missing[i] = true
		}
	}
	return s
}

// ReportCharts builds the charts of a report: messages, conversations,
// first response, resolution, callbacks, callback latency, queue depth,
// and (for one channel) the poller's health. prefix keeps ids unique when
// one page shows two reports.
func ReportCharts(ctx context.Context, prefix, period string, r *store.Report, health []store.HealthBucket) []Chart {
	bs := r.Buckets
	starts := make([]time.Time, len(bs))
	for i, b := range bs {
		starts[i] = b.Start
	}
	short, full := chartLabels(starts, r.Bucket)
	n := len(bs)
	mk := func(id, title, kind, unit string, series ...ChartSeries) Chart {
		c := Chart{ID: prefix + "-" + id, Title: T(ctx, title), Kind: kind, Unit: unit, Labels: short, Full: full, Series: series,
			dur: func(ms int64) string { return Duration(ctx, ms) }}
		for i := range c.Series {
			c.Series[i].Name = T(ctx, c.Series[i].Name)
		}
		summarise(ctx, &c, period)
		return c
	}
	charts := []Chart{
		mk("messages", "Messages in and out", ChartBars, "count",
			ChartSeries{Name: "In", Class: "s1", Values: counts(n, func(i int) int64 { return bs[i].MessagesIn })},
			ChartSeries{Name: "Out", Class: "s2", Values: counts(n, func(i int) int64 { return bs[i].MessagesOut })}),
		mk("conversations", "Conversations opened and resolved", ChartBars, "count",
			ChartSeries{Name: "Opened", Class: "s3", Values: counts(n, func(i int) int64 { return bs[i].ConversationsOpened })},
			ChartSeries{Name: "Resolved", Class: "ok", Values: counts(n, func(i int) int64 { return bs[i].ConversationsResolved })}),
		mk("first-response", "First response time", ChartLines, "ms",
			pctSeries("p50", "s1", bs, func(b store.ReportBucket) *int64 { return b.FirstResponse.P50 }),
			pctSeries("p90", "s4", bs, func(b store.ReportBucket) *int64 { return b.FirstResponse.P90 })),
		mk("resolution", "Resolution time", ChartLines, "ms",
			pctSeries("p50", "s3", bs, func(b store.ReportBucket) *int64 { return b.Resolution.P50 }),
			pctSeries("p90", "s4", bs, func(b store.ReportBucket) *int64 { return b.Resolution.P90 })),
		mk("callbacks", "Callback deliveries", ChartStacked, "count",
			ChartSeries{Name: "Delivered", Class: "ok", Values: counts(n, func(i int) int64 { return bs[i].CallbacksDelivered })},
			ChartSeries{Name: "Retrying", Class: "warn", Values: counts(n, func(i int) int64 { return bs[i].CallbacksRetrying })},
			ChartSeries{Name: "Failed", Class: "err", Values: counts(n, func(i int) int64 { return bs[i].CallbacksFailed })}),
	}
	lat := ChartSeries{Name: "Mean attempt latency", Class: "s2", Values: make([]float64, n), Missing: make([]bool, n)}
	for i, b := range bs {
		lat.Values[i], lat.Missing[i] = float64(b.CallbackLatencyAvg()), b.CallbackAttempts == 0
	}
	charts = append(charts, mk("latency", "Callback latency", ChartLines, "ms", lat),
		mk("queue", "Queue depth (events waiting at the end of each bucket)", ChartLines, "count",
			ChartSeries{Name: "Waiting", Class: "s1", Values: counts(n, func(i int) int64 { return bs[i].QueueDepth })}))
	if health != nil && len(health) == n {
		pct := func(f func(h store.HealthBucket) int64) []float64 {
			out := make([]float64, n)
			for i, h := range health {
				if tot := h.PollingMS + h.ErrorMS + h.OtherMS + h.UnknownMS; tot > 0 {
					out[i] = float64(f(h)) * 100 / float64(tot)
				}
			}
			return out
		}
		charts = append(charts, mk("health", "Poller health (share of each bucket)", ChartStacked, "percent",
			ChartSeries{Name: "Polling", Class: "ok", Values: pct(func(h store.HealthBucket) int64 { return h.PollingMS })},
			ChartSeries{Name: "Error", Class: "err", Values: pct(func(h store.HealthBucket) int64 { return h.ErrorMS })},
			ChartSeries{Name: "Connecting or stopped", Class: "off", Values: pct(func(h store.HealthBucket) int64 { return h.OtherMS })},
			ChartSeries{Name: "No record", Class: "none", Values: pct(func(h store.HealthBucket) int64 { return h.UnknownMS })}))
	}
	return charts
}
