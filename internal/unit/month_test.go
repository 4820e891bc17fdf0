package unit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/linedispatch/linedispatch/internal/unit"
)

func TestMonthIsTokyoCalendarMonth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		at   string
		want string
	}{
		{"2026-10-31T14:59:59.999999999Z", "2026-10"},
		{"2026-10-31T15:00:00Z", "2026-11"}, // midnight in Tokyo
		{"2026-11-01T00:00:00+09:00", "2026-11"},
		{"2026-10-31T23:59:59+09:00", "2026-10"},
		{"2026-12-31T15:00:00Z", "2027-01"}, // year rollover
		{"2026-12-31T14:59:59Z", "2026-12"},
		{"2028-02-29T12:00:00Z", "2028-02"},
		{"2026-06-30T22:00:00-05:00", "2026-07"}, // 03:00 UTC Jul 1 = noon Tokyo
	}
	for _, tt := range tests {
		t.Run(tt.at, func(t *testing.T) {
			at, err := time.Parse(time.RFC3339Nano, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := unit.Month(at); got != tt.want {
				t.Errorf("Month(%s) = %s, want %s", tt.at, got, tt.want)
			}
		})
	}
}

func TestParseMonth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		start string // RFC 3339 in UTC; empty means an error is expected
	}{
		{"2026-11", "2026-10-31T15:00:00Z"},
		{"2027-01", "2026-12-31T15:00:00Z"},
		{"2000-01", "1999-12-31T15:00:00Z"},
		{"9999-12", "9999-11-30T15:00:00Z"},
		{"", ""},
		{"2026-1", ""},
		{"2026-13", ""},
		{"2026-00", ""},
		{"1999-12", ""},
		{"2026/11", ""},
		{"2026-1a", ""},
		{"+026-11", ""},
		{"2026-11-01", ""},
		{"２０２６-11", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			start, err := unit.ParseMonth(tt.in)
			if tt.start == "" {
				if !errors.Is(err, unit.ErrBadMonth) {
					t.Fatalf("ParseMonth(%q) = %v, %v; want ErrBadMonth", tt.in, start, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := start.UTC().Format(time.RFC3339); got != tt.start {
				t.Errorf("start = %s, want %s", got, tt.start)
			}
		})
	}
}

func TestMonthRange(t *testing.T) {
	t.Parallel()
	start, end, err := unit.MonthRange("2026-12")
	if err != nil {
		t.Fatal(err)
	}
	if unit.Month(start) != "2026-12" || unit.Month(end.Add(-time.Nanosecond)) != "2026-12" || unit.Month(end) != "2027-01" {
		t.Errorf("range [%s, %s) is not December 2026 in Tokyo", start, end)
	}
	if _, _, err := unit.MonthRange("nope"); err == nil {
		t.Error("MonthRange accepted a bad month")
	}
}

// FuzzParseMonth checks that ParseMonth accepts exactly what Month writes:
// anything accepted round-trips through Month, and never panics.
func FuzzParseMonth(f *testing.F) {
	for _, s := range []string{"2026-11", "2026-13", "", "0000-00", "9999-12", "2026-1\x00", "abcd-ef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, err := unit.ParseMonth(s)
		if err != nil {
			return
		}
		if got := unit.Month(start); got != s {
			t.Fatalf("ParseMonth(%q) start %s has Month %q", s, start, got)
		}
		if unit.Month(start.Add(-time.Nanosecond)) == s {
			t.Fatalf("ParseMonth(%q) start %s is not the first instant of the month", s, start)
		}
	})
}
