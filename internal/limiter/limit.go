package limiter

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxCount bounds Limit.Count. The window log keeps up to Count send times per
// lane, so an absurd count (a typo such as "2000000/1s") would be a memory
// problem, not a rate limit. LINE's largest documented limit is 2,000.
const MaxCount = 1_000_000

// Limit is "at most Count requests in any sliding window of Period".
//
// In text (configuration, flags, YAML, JSON) it is written "COUNT/PERIOD",
// e.g. "2000/1s" or "60/1h"; the period is a Go duration and a bare unit
// means one of it ("60/h").
type Limit struct {
	Count  int
	Period time.Duration
}

// ParseLimit parses "COUNT/PERIOD" ("2000/1s", "60/1h", "5/200ms", "60/h").
func ParseLimit(s string) (Limit, error) {
	countText, periodText, found := strings.Cut(strings.TrimSpace(s), "/")
	if !found {
		return Limit{}, fmt.Errorf("limiter: limit %q: want COUNT/PERIOD, e.g. 2000/1s", s)
	}
	countText = strings.TrimSpace(countText)
	periodText = strings.TrimSpace(periodText)
	count, err := strconv.Atoi(countText)
	if err != nil {
		return Limit{}, fmt.Errorf("limiter: limit %q: count %q is not an integer", s, countText)
	}
	// "60/h" reads naturally; ParseDuration wants a number before the unit.
	if periodText != "" && !strings.ContainsAny(periodText[:1], "0123456789.+-") {
		periodText = "1" + periodText
	}
	period, err := time.ParseDuration(periodText)
	if err != nil {
		return Limit{}, fmt.Errorf("limiter: limit %q: period %q is not a duration (e.g. 1s, 1h, 200ms)", s, periodText)
	}
	l := Limit{Count: count, Period: period}
	if err := l.Validate(); err != nil {
		return Limit{}, fmt.Errorf("limiter: limit %q: %w", s, err)
	}
	return l, nil
}

// MustParseLimit is ParseLimit for constants; it panics on error.
func MustParseLimit(s string) Limit {
	l, err := ParseLimit(s)
	if err != nil {
		panic(err)
	}
	return l
}

// Validate reports why l cannot be enforced.
func (l Limit) Validate() error {
	switch {
	case l.Count < 1:
		return fmt.Errorf("count %d must be at least 1", l.Count)
	case l.Count > MaxCount:
		return fmt.Errorf("count %d is above the maximum %d", l.Count, MaxCount)
	case l.Period <= 0:
		return fmt.Errorf("period %v must be positive", l.Period)
	}
	return nil
}

// Rate is the limit's average rate in requests per second.
func (l Limit) Rate() float64 {
	if l.Period <= 0 {
		return 0
	}
	return float64(l.Count) / l.Period.Seconds()
}

// Scaled returns l with its period multiplied by periodScale (the count is
// kept, so the window rule keeps its shape): 60/1h scaled by 0.001 is 60/3.6s.
// Fast tests and load-test scenarios use it; linesim has the same knob. It
// panics unless periodScale is positive and finite, which is a programming
// error. The period never rounds down to zero.
func (l Limit) Scaled(periodScale float64) Limit {
	if !(periodScale > 0) || math.IsInf(periodScale, 1) {
		panic(fmt.Sprintf("limiter: period scale %v must be positive and finite", periodScale))
	}
	switch p := math.Round(float64(l.Period) * periodScale); {
	case p < 1:
		l.Period = 1
	case p >= math.MaxInt64: // float64(MaxInt64) rounds up: converting it overflows
		l.Period = math.MaxInt64
	default:
		l.Period = time.Duration(p)
	}
	return l
}

// String writes l as "COUNT/PERIOD" with the period in the largest unit that
// divides it exactly ("60/1h", "60/3600ms"), so that ParseLimit reads it back
// unchanged.
func (l Limit) String() string {
	return strconv.Itoa(l.Count) + "/" + formatPeriod(l.Period)
}

func formatPeriod(d time.Duration) string {
	if d <= 0 {
		return d.String()
	}
	units := []struct {
		size time.Duration
		name string
	}{
		{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"},
		{time.Millisecond, "ms"}, {time.Microsecond, "us"},
	}
	for _, u := range units {
		if d%u.size == 0 {
			return strconv.FormatInt(int64(d/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}

// MarshalText implements encoding.TextMarshaler ("2000/1s").
func (l Limit) MarshalText() ([]byte, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("limiter: limit %s: %w", l, err)
	}
	return []byte(l.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseLimit.
func (l *Limit) UnmarshalText(text []byte) error {
	if l == nil {
		return errors.New("limiter: UnmarshalText on nil *Limit")
	}
	parsed, err := ParseLimit(string(text))
	if err != nil {
		return err
	}
	*l = parsed
	return nil
}
