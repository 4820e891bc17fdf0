package linesim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit is a rate limit: at most Count requests within any sliding window of
// Period. Its text form is "<count>/<period>", e.g. "2000/1s" or "60/1h".
type Limit struct {
	Count  int
	Period time.Duration
}

// ParseLimit parses "<count>/<period>". The period is a Go duration ("1s",
// "3.6s", "1h") or a bare unit meaning one of it ("s", "sec", "second", "m",
// "min", "minute", "h", "hour").
func ParseLimit(s string) (Limit, error) {
	cnt, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Limit{}, fmt.Errorf("limit %q: want <count>/<period>, e.g. 2000/1s", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(cnt))
	if err != nil || n <= 0 {
		return Limit{}, fmt.Errorf("limit %q: count must be a positive integer", s)
	}
	per = strings.TrimSpace(per)
	var d time.Duration
	switch strings.ToLower(per) {
	case "s", "sec", "second":
		d = time.Second
	case "m", "min", "minute":
		d = time.Minute
	case "h", "hour":
		d = time.Hour
	default:
		d, err = time.ParseDuration(per)
		if err != nil {
			return Limit{}, fmt.Errorf("limit %q: bad period: %v", s, err)
		}
	}
	if d <= 0 {
		return Limit{}, fmt.Errorf("limit %q: period must be positive", s)
	}
	return Limit{Count: n, Period: d}, nil
}

// String formats the limit as "<count>/<period>" with a compact period
// ("1h" rather than "1h0m0s").
func (l Limit) String() string {
	return strconv.Itoa(l.Count) + "/" + formatDuration(l.Period)
}

// IsZero reports whether the limit is unset.
func (l Limit) IsZero() bool { return l.Count == 0 && l.Period == 0 }

// MarshalText implements encoding.TextMarshaler ("2000/1s").
func (l Limit) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *Limit) UnmarshalText(b []byte) error {
	v, err := ParseLimit(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

func (l Limit) validate() error {
	if l.Count <= 0 {
		return fmt.Errorf("count %d must be positive", l.Count)
	}
	if l.Period <= 0 {
		return fmt.Errorf("period %s must be positive", l.Period)
	}
	return nil
}

// scaled returns the limit with its period multiplied by scale.
func (l Limit) scaled(scale float64) Limit {
	if scale == 1 || scale == 0 {
		return l
	}
	p := time.Duration(float64(l.Period) * scale)
	if p < time.Microsecond {
		p = time.Microsecond
	}
	return Limit{Count: l.Count, Period: p}
}

// formatDuration prints d without trailing zero units: 1h, 90m, 1.5s, 3.6s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
