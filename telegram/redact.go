package telegram

import (
	"errors"
	"regexp"
	"strings"
)

var (
	// botPathPattern finds the token segment of Bot API URLs, /bot<token>/
	// and /file/bot<token>/, whatever the token looks like.
	botPathPattern = regexp.MustCompile(`/bot[^/\s"'?#]+`)
	// looseTokenPattern finds token-shaped text anywhere (e.g. a token pasted
	// into a field that ended up in an error).
	looseTokenPattern = regexp.MustCompile(`[0-9]{3,20}:[A-Za-z0-9_-]{30,60}`)
)

// RedactString removes bot tokens from s: each given secret, any
// /bot<token> URL segment and anything shaped like a token are replaced by
// their masked form.
func RedactString(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, maskToken(sec))
		}
	}
	s = botPathPattern.ReplaceAllStringFunc(s, func(m string) string {
		seg := strings.TrimPrefix(m, "/bot")
		if strings.Contains(seg, "••••••••") {
			return m // already masked
		}
		return "/bot" + maskToken(seg)
	})
	return looseTokenPattern.ReplaceAllStringFunc(s, maskToken)
}

// Redact returns err with tokens removed from its message (see
// RedactString), or nil for nil.
//
// The result keeps errors.Is working against the original chain, so
// sentinels such as context.Canceled or ErrUnavailable still match, but it
// deliberately does not Unwrap: errors.As would otherwise hand out the raw
// inner error (a *url.Error quoting the token URL) to someone who logs it.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: RedactString(err.Error(), secrets...), orig: err}
}

type redactedError struct {
	msg  string
	orig error
}

func (e *redactedError) Error() string { return e.msg }

func (e *redactedError) Is(target error) bool { return errors.Is(e.orig, target) }
