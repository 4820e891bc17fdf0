package intent

import "time"

// LINE remembers an X-Line-Retry-Key for 24 hours from the first request that
// carried it; a retry after that counts as a new request and delivers a
// duplicate. The dispatcher therefore stops trying an intent at its deadline,
// and the deadline is never later than CreatedAt + MaxAge, which leaves hours
// of margin for clock skew between producers, pods and LINE.
const (
	// MaxAge is the latest deadline an intent may have, counted from CreatedAt.
	MaxAge = 20 * time.Hour
	// DefaultMaxAge is the deadline of an intent without NotAfter.
	DefaultMaxAge = 12 * time.Hour
	// MaxClockSkew is how far in the future CreatedAt may lie before the
	// intent is refused as invalid.
	MaxClockSkew = 5 * time.Minute
)
