package linesim

import (
	"sync"
	"sync/atomic"
	"time"
)

// Clock is linesim's notion of time: token expiry, retry-key memory, duplicate
// memory, rate-limit windows, reply-token expiry and unit months all use it.
// Now must never go backwards.
type Clock interface {
	Now() time.Time
}

// AdvanceableClock is a Clock that tests can move forward.
type AdvanceableClock interface {
	Clock
	Advance(d time.Duration)
}

// OffsetClock is the real clock plus an offset that only grows. It is the
// default clock: time flows normally and tests can jump ahead (e.g. 24 h).
type OffsetClock struct {
	offset atomic.Int64
}

// NewClock returns a real clock with a zero offset.
func NewClock() *OffsetClock { return &OffsetClock{} }

// Now returns time.Now() plus the offset (keeping the monotonic reading).
func (c *OffsetClock) Now() time.Time {
	return time.Now().Add(time.Duration(c.offset.Load()))
}

// Advance moves the clock forward by d (negative d is ignored).
func (c *OffsetClock) Advance(d time.Duration) {
	if d > 0 {
		c.offset.Add(int64(d))
	}
}

// Offset reports how far the clock has been advanced.
func (c *OffsetClock) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// ManualClock stands still until advanced: exact boundaries in tests.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock frozen at start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the frozen time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (negative d is ignored).
func (c *ManualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// jst is Asia/Tokyo (UTC+9, no daylight saving): LINE counts months there.
var jst = time.FixedZone("Asia/Tokyo", 9*60*60)

// monthOf returns the calendar month of t in Asia/Tokyo as year*12+month-1.
func monthOf(t time.Time) int32 {
	y, m, _ := t.In(jst).Date()
	return int32(y*12 + int(m) - 1)
}

// monthString formats a monthOf value as "2006-01".
func monthString(ym int32) string {
	return time.Date(int(ym/12), time.Month(ym%12+1), 1, 0, 0, 0, 0, jst).Format("2006-01")
}
