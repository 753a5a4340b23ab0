package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Status says how a figure compares with its target.
type Status string

// Statuses of a figure.
const (
	Pass Status = "pass"
	Miss Status = "MISS"
	Info Status = "info" // no target: reported for context
)

// Figure is one line of the results table.
type Figure struct {
	Name     string // what was measured
	Value    string // the measured figure, with its unit
	Baseline string // the same-run baseline, "—" when the target is absolute
	Ratio    string // Value / Baseline for speeds, "—" otherwise
	Target   string
	Status   Status
	Notes    string // how it was measured (sizes, concurrency, percentiles)
}

// check returns Pass when ok, else Miss.
func check(ok bool) Status {
	if ok {
		return Pass
	}
	return Miss
}

// Machine describes where the figures were taken.
type Machine struct {
	NProc    int
	CPUModel string
	MemTotal string
	Kernel   string
	GoVer    string
}

// ReadMachine reads /proc for the CPU model and memory; missing files give
// "unknown" rather than an error, so the suite still runs elsewhere.
func ReadMachine() Machine {
	m := Machine{NProc: runtime.NumCPU(), CPUModel: "unknown", MemTotal: "unknown", Kernel: "unknown", GoVer: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d", &kb); err == nil {
					m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// GitCommit is the commit the suite ran on (with "+dirty" when the work
// tree has uncommitted changes), or "unknown" outside a git checkout.
func GitCommit(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	// Other engineers edit the same checkout: name what was uncommitted
	// so a reader can judge whether it touched what was measured.
	if st, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		var files []string
		for _, line := range strings.Split(strings.TrimRight(string(st), "\n"), "\n") {
			// results.md is what this run rewrites: not a change to what was measured.
			if f := strings.TrimSpace(line[min(3, len(line)):]); f != "" && f != "bench/results.md" {
				files = append(files, f)
			}
		}
		if len(files) > 6 {
			files = append(files[:6], "…")
		}
		if len(files) > 0 {
			c += " (uncommitted changes in the work tree: " + strings.Join(files, ", ") + ")"
		}
	}
	return c
}

// Report is everything results.md holds.
type Report struct {
	Date     time.Time
	Commit   string
	Machine  Machine
	Mode     string // "full" or "smoke"
	Duration time.Duration
	Figures  []Figure
	// Extra is appended verbatim: the hand-written notes on what was
	// profiled and fixed, with before/after figures (bench/tuning.md).
	Extra string
}

// Markdown renders the report.
func (r Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# botdesk benchmark results\n\n")
	b.WriteString("Written by `make bench` (bench/bench_test.go); do not edit by hand — notes on fixes live in bench/tuning.md and are copied below.\n\n")
	fmt.Fprintf(&b, "- Date: %s\n", r.Date.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Commit: %s\n", r.Commit)
	fmt.Fprintf(&b, "- Machine: %d CPUs (nproc), %s, %s RAM, Linux %s, %s\n", r.Machine.NProc, r.Machine.CPUModel, r.Machine.MemTotal, r.Machine.Kernel, r.Machine.GoVer)
	fmt.Fprintf(&b, "- Mode: %s; suite wall time %s\n\n", r.Mode, r.Duration.Round(time.Second))
	b.WriteString("Speeds are ratios against a baseline measured in the same run on the same machine (shared and noisy); latencies, memory and start-up time are absolute.\n\n")
	b.WriteString("| figure | measured | baseline (same run) | ratio | target | result |\n|---|---|---|---|---|---|\n")
	for _, f := range r.Figures {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", cell(f.Name), cell(f.Value), cell(f.Baseline), cell(f.Ratio), cell(f.Target), f.Status)
	}
	b.WriteString("\n## How each figure was measured\n\n")
	for _, f := range r.Figures {
		if f.Notes != "" {
			fmt.Fprintf(&b, "- **%s**: %s\n", f.Name, f.Notes)
		}
	}
	if extra := strings.TrimSpace(r.Extra); extra != "" {
		b.WriteString("\n" + extra + "\n")
	}
	return b.String()
}

func cell(s string) string {
	if s == "" {
		return "—"
	}
	return strings.ReplaceAll(s, "|", "\\|")
}
