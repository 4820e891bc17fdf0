// Package retrykey holds LINE's X-Line-Retry-Key rules: which requests carry
// one, what a valid key looks like, and how long LINE remembers it.
package retrykey

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Header is the request header that carries the key.
const Header = "X-Line-Retry-Key"

// AcceptedRequestIDHeader is the response header of a 409 that names the
// request which was accepted first under the same key.
const AcceptedRequestIDHeader = "X-Line-Accepted-Request-Id"

// Window is how long LINE remembers a key, from the first request that carried
// it. A retry later than that is a new request and delivers a duplicate.
const Window = 24 * time.Hour

// ErrInvalid is returned (wrapped) for a key that is not a UUID in canonical
// hex notation.
var ErrInvalid = errors.New("retry key must be a UUID in hex notation (8-4-4-4-12)")

// Validate reports whether key is a UUID in the canonical 36-character hex
// notation LINE accepts. Other forms uuid.Parse tolerates (braces, urn:uuid:,
// no hyphens) are refused: LINE documents hex notation only.
func Validate(key string) error {
	if len(key) != 36 {
		return fmt.Errorf("%w: got %d characters", ErrInvalid, len(key))
	}
	if _, err := uuid.Parse(key); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// New mints a fresh random (v4) key.
func New() string { return uuid.NewString() }

// SafeUntil returns the last moment a retry under a key first used at
// firstUse is still recognised by LINE, minus margin.
func SafeUntil(firstUse time.Time, margin time.Duration) time.Time {
	return firstUse.Add(Window - margin)
}
