package e2e

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// Flow 4c: after the workbench traffic of flow 4, the operator opens the
// channel's Overview: the charts show the messages that came in (the
// data table beside each chart is what the SVG draws), the page is axe
// clean, stays readable at 360 px, and the 30-day view swaps in through
// htmx. Then the Reports page across channels, with its tables.
func flowReports(t *testing.T, w *world) {
	w.needs(t, true)
	s := newSession(t, "operator-reports")
	s.signIn(operatorEmail, password)
	if st := s.open("/channels/" + w.channelID + "/overview"); st != 200 {
		s.fatalf("Overview: HTTP %d", st)
	}
	chart := `[data-testid=chart-ov-24h-messages]`
	s.waitVisible(chart + ` svg[role=img]`)
	if n := s.count(chart + ` svg rect.mark`); n != 48 {
		s.fatalf("the messages chart draws %d bars, want 48 (in and out, 24 hours)", n)
	}
	in := eval[int](s, `Array.from(document.querySelectorAll("[data-testid=chart-ov-24h-messages] tbody tr")).reduce(function (n, tr) { return n + parseInt(tr.cells[1].textContent, 10); }, 0)`)
	if w.botID != 0 && in < 2 {
		s.fatalf("the Overview counts %d incoming messages in 24 hours, flow 4 sent 2", in)
	}
	s.a11y("Overview with charts")
	s.screenshot("overview.png")
	s.saveArtifacts("overview at 1280 px")

	s.do("narrow viewport", chromedp.EmulateViewport(360, 780))
	s.settle("Overview at 360 px")
	width := eval[float64](s, `document.querySelector("[data-testid=chart-ov-24h-messages] svg").getBoundingClientRect().width`)
	if width <= 0 || width > 360 {
		s.fatalf("at 360 px the chart is %v px wide", width)
	}
	if overflow := eval[bool](s, `document.documentElement.scrollWidth > window.innerWidth + 1`); overflow {
		s.fatalf("at 360 px the Overview scrolls sideways")
	}
	s.a11y("Overview at 360 px")
	s.saveArtifacts("overview at 360 px")
	s.do("wide viewport", chromedp.EmulateViewport(1280, 800))

	s.markDocument()
	s.click(`a[href$="/overview?range=30d"]`)
	s.waitVisible(`[data-testid=chart-ov-30d-messages] svg`)
	s.sameDocument("switching to 30 days")
	if n := s.count(`[data-testid=chart-ov-30d-messages] tbody tr`); n != 30 {
		s.fatalf("the 30-day chart has %d rows, want 30", n)
	}

	if st := s.open("/reports"); st != 200 {
		s.fatalf("Reports: HTTP %d", st)
	}
	s.waitVisible(`[data-testid=report-channels-table]`)
	if row := rowText(s, `[data-testid=report-channels-table]`, w.channelName); row == "" {
		s.fatalf("the Reports channel table has no row for %s", w.channelName)
	} else {
		t.Logf("reports row: %s (in=%s)", row, strconv.Itoa(in))
	}
	s.a11y("Reports")
	s.screenshot("reports.png")
}
