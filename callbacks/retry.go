package callbacks

import (
	"math/rand/v2"
	"time"
)

// MaxAttempts is how many times one event is sent to a URL: the first try
// plus seven retries, spread over about 28 hours so a receiver that is down
// for a night still gets everything. After the last attempt the delivery is
// marked failed, kept and shown in the delivery log, never dropped.
const MaxAttempts = 8

// Backoff returns the wait before the next attempt after attempt (1-based)
// has failed: 5s, 5m, 30m, 2h, 5h, 10h, 10h. The shape follows the Standard
// Webhooks suggestion of quick first retries then long gaps, so a blip is
// recovered in seconds and an outage does not cause a flood of requests.
// It is deterministic so tests and the UI ("next attempt at") can rely on
// it; add [Jitter] when scheduling. Values below 1 count as 1 and values
// past the schedule get its last step; callers stop retrying once attempt
// reaches MaxAttempts.
func Backoff(attempt int) time.Duration {
	switch {
	case attempt <= 1:
		return 5 * time.Second
	case attempt == 2:
		return 5 * time.Minute
	case attempt == 3:
		return 30 * time.Minute
	case attempt == 4:
		return 2 * time.Hour
	case attempt == 5:
		return 5 * time.Hour
	default:
		return 10 * time.Hour
	}
}

// Jitter spreads d by up to ±10% so that deliveries that failed together
// (a receiver outage) do not all come back at the same instant. rnd returns
// a value in [0, 1); nil uses math/rand/v2, tests pass a fixed function.
func Jitter(d time.Duration, rnd func() float64) time.Duration {
	if rnd == nil {
		rnd = rand.Float64
	}
	return d + time.Duration((rnd()*0.2-0.1)*float64(d))
}

// Outcome is what the dispatcher should do after an attempt.
type Outcome int

const (
	// OutcomeRetry: schedule another attempt (or give up after MaxAttempts).
	OutcomeRetry Outcome = iota
	// OutcomeSuccess: the receiver accepted the event.
	OutcomeSuccess
	// OutcomeDisable: the receiver answered 410 Gone, which Standard
	// Webhooks defines as "stop sending here"; the URL is disabled and a
	// webhook_disabled notification is raised.
	OutcomeDisable
)

// String returns the name used in the delivery log.
func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeDisable:
		return "disable"
	default:
		return "retry"
	}
}

// Classify maps the result of an attempt to an [Outcome]: any 2xx is
// success, 410 disables the URL, and everything else is retried: 3xx
// (redirects are not followed), 4xx, 5xx, timeouts, refused addresses and
// network errors, because a misconfigured receiver is usually fixed within
// the retry window and nothing may be dropped silently.
func Classify(status int, err error) Outcome {
	switch {
	case err != nil:
		return OutcomeRetry
	case status >= 200 && status < 300:
		return OutcomeSuccess
	case status == 410:
		return OutcomeDisable
	default:
		return OutcomeRetry
	}
}
