package limiter

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Simulated-clock helpers shared by the tests. Nothing here sleeps: drivers
// jump the clock to the time the limiter names.

var epoch = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

func newLimiter(t testing.TB, limit string, cfg Config) *Limiter {
	t.Helper()
	l, err := New(MustParseLimit(limit), cfg)
	if err != nil {
		t.Fatalf("New(%s, %+v): %v", limit, cfg, err)
	}
	return l
}

// driver sends as fast as l allows from start until end and returns the
// admitted send times (the now values Reserve admitted).
type driver func(l *Limiter, start, end time.Time, rng *rand.Rand) []time.Time

// driveExact is a punctual backlogged scheduler: it comes back exactly when
// told.
func driveExact(l *Limiter, start, end time.Time, _ *rand.Rand) []time.Time {
	var sends []time.Time
	for now := start; now.Before(end); {
		ok, wait := l.Reserve(now)
		if ok {
			sends = append(sends, now)
			continue
		}
		now = now.Add(wait)
	}
	return sends
}

// driveTicked is a backlogged scheduler on a timer grid: it only runs on
// ticks, sends everything it may, then sleeps until the first tick at or after
// the time it was told. The tick is 1 ms (a typical timer granularity), or
// Period/1000 for shorter periods: a burst-1 lane loses up to one tick per
// send, so a 40 ms send interval (5/200ms) on a 1 ms grid drains at only
// 97.6 % (see docs/limits.md).
func driveTicked(l *Limiter, start, end time.Time, _ *rand.Rand) []time.Time {
	tick := max(min(time.Millisecond, l.Limit().Period/1000), 1)
	var sends []time.Time
	for now := start; now.Before(end); {
		ok, wait := l.Reserve(now)
		if ok {
			sends = append(sends, now)
			continue
		}
		now = now.Add((wait + tick - 1) / tick * tick)
	}
	return sends
}

// lateness is how late driveJittered may wake: the scheduler slack the burst
// covers ((Burst−1)/rate), or a hundredth of a percent of the period for
// burst-1 limits, where any lateness is lost throughput by design.
// lateness is how late the modelled scheduler may wake on every single
// wake-up (a pessimistic model: real timers are mostly punctual): a quarter
// of what the burst can absorb, 5 ms at 2,000/1s.
func lateness(l *Limiter) time.Duration {
	slack := time.Duration(float64(l.Config().Burst-1) / l.Rate() * 1e9 / 4)
	return max(slack, l.Limit().Period/10000, 1)
}

// driveJittered is a backlogged scheduler whose timer fires late by a random
// amount up to lateness (GC pauses, timer granularity, busy workers).
func driveJittered(l *Limiter, start, end time.Time, rng *rand.Rand) []time.Time {
	late := lateness(l)
	var sends []time.Time
	for now := start; now.Before(end); {
		ok, wait := l.Reserve(now)
		if ok {
			sends = append(sends, now)
			continue
		}
		now = now.Add(wait + time.Duration(rng.Int64N(int64(late))))
	}
	return sends
}

// driveBursty is not backlogged: work arrives in random batches separated by
// random idle gaps (up to two periods), so the pacer's bucket refills and
// bursts are taken again and again.
func driveBursty(l *Limiter, start, end time.Time, rng *rand.Rand) []time.Time {
	p := l.Limit().Period
	var sends []time.Time
	pending := 0
	for now := start; now.Before(end); {
		if pending == 0 {
			now = now.Add(time.Duration(rng.Int64N(int64(2 * p))))
			pending = 1 + rng.IntN(2*l.Limit().Count)
		}
		ok, wait := l.Reserve(now)
		if ok {
			sends = append(sends, now)
			pending--
			continue
		}
		now = now.Add(wait)
	}
	return sends
}

// driveThrottled is a punctual backlogged scheduler whose requests LINE
// sometimes answers with 429 (about one in 300 sends).
func driveThrottled(l *Limiter, start, end time.Time, rng *rand.Rand) []time.Time {
	var sends []time.Time
	for now := start; now.Before(end); {
		ok, wait := l.Reserve(now)
		if ok {
			sends = append(sends, now)
			if rng.IntN(300) == 0 {
				l.Throttled(now)
			}
			continue
		}
		now = now.Add(wait)
	}
	return sends
}

// driveOutOfOrder mimics several goroutines whose clock readings reach the
// limiter out of order: each call passes the simulated time minus a random
// skew of up to 1 % of the period.
func driveOutOfOrder(l *Limiter, start, end time.Time, rng *rand.Rand) []time.Time {
	skew := max(int64(l.Limit().Period/100), 1)
	var sends []time.Time
	for now := start; now.Before(end); {
		at := now.Add(-time.Duration(rng.Int64N(skew)))
		ok, wait := l.Reserve(at)
		if ok {
			sends = append(sends, at)
			continue
		}
		// A refused caller reads the clock again a little later.
		now = later(now, at.Add(wait)).Add(1 + time.Duration(rng.Int64N(skew/16+1)))
	}
	return sends
}

// maxInWindow returns the largest number of sends in any window (t−w, t].
// The maximum is reached by a window ending at a send, so checking the window
// that ends at every send checks every window exactly.
func maxInWindow(sends []time.Time, w time.Duration) int {
	s := slices.SortedFunc(slices.Values(sends), time.Time.Compare)
	best, j := 0, 0
	for i := range s {
		for s[j].Compare(s[i].Add(-w)) <= 0 {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// countIn counts sends in [from, to).
func countIn(sends []time.Time, from, to time.Time) int {
	n := 0
	for _, s := range sends {
		if !s.Before(from) && s.Before(to) {
			n++
		}
	}
	return n
}

// gapRatio returns max gap / min gap between consecutive sends.
func gapRatio(sends []time.Time) float64 {
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for i := 1; i < len(sends); i++ {
		g := sends[i].Sub(sends[i-1])
		lo, hi = min(lo, g), max(hi, g)
	}
	return float64(hi) / float64(lo)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func seeded(t testing.TB) *rand.Rand {
	t.Helper()
	return rand.New(rand.NewPCG(20260401, uint64(len(t.Name()))))
}
