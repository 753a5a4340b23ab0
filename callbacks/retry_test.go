package callbacks

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestBackoffSchedule(t *testing.T) {
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	if len(want) != MaxAttempts-1 {
		t.Fatalf("schedule has %d waits for %d attempts", len(want), MaxAttempts)
	}
	for i, w := range want {
		if got := Backoff(i + 1); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if Backoff(0) != want[0] || Backoff(99) != want[len(want)-1] {
		t.Error("out-of-range attempts not clamped")
	}
}

func TestJitter(t *testing.T) {
	d := 10 * time.Second
	for _, tt := range []struct {
		r    float64
		want time.Duration
	}{{0, 9 * time.Second}, {0.5, d}, {0.999999, 11 * time.Second}} {
		t.Run(fmt.Sprintf("r=%v", tt.r), func(t *testing.T) {
			got := Jitter(d, func() float64 { return tt.r })
			if diff := got - tt.want; diff < -time.Millisecond || diff > time.Millisecond {
				t.Errorf("Jitter(r=%v) = %v, want %v", tt.r, got, tt.want)
			}
		})
	}
	for range 1000 {
		if got := Jitter(d, nil); got < 9*time.Second || got > 11*time.Second {
			t.Fatalf("Jitter = %v, outside ±10%%", got)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		status int
		err    error
		want   Outcome
	}{
		{200, nil, OutcomeSuccess},
		{204, nil, OutcomeSuccess},
		{299, nil, OutcomeSuccess},
		{301, nil, OutcomeRetry},
		{302, nil, OutcomeRetry},
		{400, nil, OutcomeRetry},
		{404, nil, OutcomeRetry},
		{410, nil, OutcomeDisable},
		{429, nil, OutcomeRetry},
		{500, nil, OutcomeRetry},
		{0, errors.New("connection refused"), OutcomeRetry},
		{200, errors.New("body cut"), OutcomeRetry},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("status %d err %v", tt.status, tt.err), func(t *testing.T) {
			if got := Classify(tt.status, tt.err); got != tt.want {
				t.Errorf("Classify(%d, %v) = %v, want %v", tt.status, tt.err, got, tt.want)
			}
		})
	}
}
