package limiter

import (
	"math"
	"testing"
)

// FuzzParseLimit: whatever ParseLimit accepts is valid, has a finite positive
// rate, and survives String and MarshalText round trips unchanged.
func FuzzParseLimit(f *testing.F) {
	for _, seed := range []string{
		"2000/1s", "200/1s", "60/1h", "60/h", "3/1h", "5/200ms", "60/3.6s",
		" 7 / 90m ", "1/1ns", "1000000/2562047h", "0/1s", "-1/1s", "1/0s",
		"1/-1s", "x/1s", "1/", "/", "", "1//1s", "1/1s/1s", "+5/+5s", "1/.5s",
		"1e3/1s", "99999999999999999999/1s", "1/9999999999h",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLimit(s)
		if err != nil {
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("ParseLimit(%q) = %v, which is invalid: %v", s, l, err)
		}
		if r := l.Rate(); !(r > 0) || math.IsInf(r, 0) {
			t.Fatalf("ParseLimit(%q).Rate() = %v", s, r)
		}
		again, err := ParseLimit(l.String())
		if err != nil || again != l {
			t.Fatalf("String round trip of %q: %q → %v, %v", s, l.String(), again, err)
		}
		text, err := l.MarshalText()
		if err != nil {
			t.Fatalf("MarshalText(%v): %v", l, err)
		}
		var back Limit
		if err := back.UnmarshalText(text); err != nil || back != l {
			t.Fatalf("text round trip of %q: %q → %v, %v", s, text, back, err)
		}
		if _, err := New(l, Config{}); err != nil {
			t.Fatalf("New(%v): %v", l, err)
		}
	})
}
