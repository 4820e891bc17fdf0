package sender

import (
	"context"
	"errors"
	"net/http"

	"github.com/linedispatch/linedispatch/internal/lineapi"
	"github.com/linedispatch/linedispatch/internal/token"
)

// Class is what the dispatcher does with the result of an attempt.
type Class int

// The zero Class is deliberately not ClassSent: an unset Class must never
// read as "delivered".
const (
	// ClassSent: 2xx or 409 (already accepted). Record `sent`, ack.
	ClassSent Class = iota + 1
	// ClassRetry: 5xx, the sender's own timeout, a network error, or no
	// access token. LINE may have accepted the request; retry with the same
	// key after backoff, until the intent's deadline.
	ClassRetry
	// ClassThrottle: 429 other than the monthly quota. Slow the lane down
	// (AIMD) and retry; throttling does not count as a failed attempt.
	ClassThrottle
	// ClassQuota: 429 "You have reached your monthly limit." Not transient:
	// dead-letter, never retry.
	ClassQuota
	// ClassReject: any other 4xx (400, 401 twice, 403, 404, 410, 413, 415, …)
	// or a request the sender refused. Dead-letter with LINE's message.
	ClassReject
	// ClassCanceled: the caller's context ended (shutdown, lost partition).
	// Not LINE's fault: put the intent back untouched.
	ClassCanceled
)

var classNames = [...]string{"unknown", "sent", "retry", "throttle", "quota", "reject", "canceled"}

// String returns the lower-case name, e.g. "retry", for logs and labels.
func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return "unknown"
	}
	return classNames[c]
}

// Classify maps Send's result to a Class.
func Classify(resp *Response, err error) Class {
	if err == nil {
		if resp != nil {
			return ClassSent
		}
		// Not produced by Send. Retrying with the same key is the only
		// answer that cannot lose or duplicate a message.
		return ClassRetry
	}
	if errors.Is(err, ErrCanceled) {
		return ClassCanceled
	}
	var le *lineapi.Error
	if errors.As(err, &le) {
		switch {
		case le.IsQuota():
			return ClassQuota
		case le.Status == http.StatusTooManyRequests:
			return ClassThrottle
		case le.Temporary():
			return ClassRetry
		case le.Status == http.StatusRequestTimeout:
			// Not documented by LINE, but by definition a 408 means the
			// server did not take the request: safe to repeat.
			return ClassRetry
		default:
			return ClassReject
		}
	}
	switch {
	case errors.Is(err, ErrInvalidRequest), errors.Is(err, token.ErrUnknownChannel):
		return ClassReject
	case errors.Is(err, ErrTimeout):
		return ClassRetry
	case errors.Is(err, context.Canceled):
		// A caller's error that did not pass through Send's wrapping.
		return ClassCanceled
	}
	// Network errors and token-endpoint failures (including invalid_client:
	// a channel-wide configuration fault that an operator fixes, not a fault
	// of this intent, so it must not dead-letter the whole backlog at once).
	return ClassRetry
}
