// Package unit keeps the per-bot registry of customAggregationUnits names and
// enforces LINE's monthly cap before LINE silently drops names (LINE-API.md
// §4). It also owns the month arithmetic shared with the statistics: LINE
// counts months in Asia/Tokyo, so every "month" in linedispatch is a Tokyo
// calendar month written "YYYY-MM".
package unit

import (
	"errors"
	"fmt"
	"time"

	// Embed the zone database: containers built FROM scratch have none, and a
	// silent fallback to UTC would move the month boundary by nine hours.
	_ "time/tzdata"
)

// tokyo is Asia/Tokyo. Japan has had no daylight saving time since 1951, so
// the fixed UTC+9 fallback is exact for every date the dispatcher handles.
var tokyo = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Tokyo"); err == nil {
		return loc
	}
	return time.FixedZone("JST", 9*60*60)
}()

// Tokyo returns the zone months are counted in.
func Tokyo() *time.Location { return tokyo }

// Month returns the Tokyo calendar month of t as "YYYY-MM", e.g. "2026-11".
// 2026-10-31T15:00:00Z is already "2026-11". It is on the hot path of every
// send with a unit name, so it formats by hand instead of with Format.
func Month(t time.Time) string {
	y, m, _ := t.In(tokyo).Date()
	if y < 0 || y > 9999 {
		return fmt.Sprintf("%04d-%02d", y, int(m))
	}
	b := [7]byte{
		byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10),
		'-',
		byte('0' + int(m)/10), byte('0' + int(m)%10),
	}
	return string(b[:])
}

// ErrBadMonth is returned (wrapped) by ParseMonth.
var ErrBadMonth = errors.New(`month must be "YYYY-MM" (e.g. 2026-11)`)

// ParseMonth checks that s is a month as Month writes it ("YYYY-MM", year
// 2000 to 9999, month 01 to 12) and returns the instant it starts: midnight
// of the 1st in Tokyo. Month(start) == s for every accepted s.
func ParseMonth(s string) (start time.Time, err error) {
	if len(s) != 7 || s[4] != '-' {
		return time.Time{}, fmt.Errorf("%w, got %q", ErrBadMonth, clip(s))
	}
	n := 0
	for i, c := range []byte(s) {
		if i == 4 {
			continue
		}
		if c < '0' || c > '9' {
			return time.Time{}, fmt.Errorf("%w, got %q", ErrBadMonth, clip(s))
		}
		n = n*10 + int(c-'0')
	}
	y, m := n/100, n%100
	if y < 2000 || m < 1 || m > 12 {
		return time.Time{}, fmt.Errorf("%w, got %q", ErrBadMonth, clip(s))
	}
	return time.Date(y, time.Month(m), 1, 0, 0, 0, 0, tokyo), nil
}

// MonthRange returns [start, end) of a month: midnight Tokyo on its 1st and
// on the 1st of the next month.
func MonthRange(month string) (start, end time.Time, err error) {
	start, err = ParseMonth(month)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return start, start.AddDate(0, 1, 0), nil
}

// clip shortens s for error messages (query parameters are user input).
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
