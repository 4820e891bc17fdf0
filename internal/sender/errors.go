package sender

import (
	"context"
	"errors"
	"fmt"

	"github.com/linedispatch/linedispatch/intent"
)

// Sentinel errors that Send wraps; Classify relies on them.
var (
	// ErrInvalidRequest marks a Request the sender refuses without calling
	// LINE: a programming or validation error that no retry can fix.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrTimeout marks an attempt that hit the sender's own per-attempt
	// Timeout. LINE may or may not have accepted it: retry with the same key.
	// The error also matches context.DeadlineExceeded.
	ErrTimeout = errors.New("attempt timed out")
	// ErrCanceled marks an attempt abandoned because the caller's context
	// ended (canceled, or its own deadline passed). That is not LINE's
	// fault; the error also matches the context's error.
	ErrCanceled = errors.New("canceled by caller")
)

func invalid(e intent.Endpoint, format string, args ...any) error {
	return fmt.Errorf("sender: %s: %w: %s", e, ErrInvalidRequest, fmt.Sprintf(format, args...))
}

// attemptError wraps a transport or body error so that Classify can tell the
// caller's cancellation from the sender's own timeout: both surface from
// net/http as a context error, and only the contexts know which fired.
func attemptError(parent, attempt context.Context, e intent.Endpoint, err error) error {
	switch {
	case parent.Err() != nil:
		return fmt.Errorf("sender: %s: %w: %w", e, ErrCanceled, err)
	case attempt.Err() != nil:
		if !errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		return fmt.Errorf("sender: %s: %w: %w", e, ErrTimeout, err)
	default:
		return fmt.Errorf("sender: %s: %w", e, err)
	}
}
