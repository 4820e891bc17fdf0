package limiter

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// The promise, checked on a simulated clock over many periods:
//
//	(a) no window (t−P, t] ever holds more than Count sends, and no window of
//	    P + JitterBudget does either (so LINE sees ≤ Count despite jitter);
//	(b) a backlogged lane sends ≥ 98 % of Count/Period;
//	(c) burst-1 limits (hour-scale) are spaced evenly.
func TestPromise(t *testing.T) {
	limits := []struct {
		limit   string
		periods int // long enough for thousands of sends
	}{
		{"2000/1s", 20},
		{"200/1s", 100},
		{"60/1h", 300},
		{"3/1h", 600},
		{"5/200ms", 2000},
		{"60/3600ms", 300}, // 60/1h scaled by 0.001
	}
	drivers := []struct {
		name       string
		drive      driver
		backlogged bool // (b) applies
		even       bool // (c) applies
		receiver   bool // the jitter-budget window applies
	}{
		{"exact", driveExact, true, true, true},
		{"ticked", driveTicked, true, false, true},
		{"jittered", driveJittered, true, true, true},
		{"bursty", driveBursty, false, false, true},
		{"throttled", driveThrottled, false, false, true},
		// Out-of-order clock readings: the log's proof covers them, the
		// pacer's spacing (and so the jitter budget) is by arrival order.
		{"out-of-order", driveOutOfOrder, false, false, false},
	}
	for _, lc := range limits {
		for _, dc := range drivers {
			t.Run(lc.limit+"/"+dc.name, func(t *testing.T) {
				l := newLimiter(t, lc.limit, Config{})
				p, count := l.Limit().Period, l.Limit().Count
				end := epoch.Add(time.Duration(lc.periods) * p)
				sends := dc.drive(l, epoch, end, seeded(t))
				if len(sends) == 0 {
					t.Fatal("no sends")
				}

				if got := maxInWindow(sends, p); got > count {
					t.Errorf("(a) %d sends in one window of %v, limit %d", got, p, count)
				}
				if dc.receiver {
					w := p + l.JitterBudget()
					if got := maxInWindow(sends, w); got > count {
						t.Errorf("(a) %d sends in one window of %v (period + jitter budget), limit %d", got, w, count)
					}
				}
				if dc.backlogged {
					want := 0.98 * float64(lc.periods*count)
					if got := countIn(sends, epoch, end); float64(got) < want {
						t.Errorf("(b) utilisation %d sends in %d periods = %.4f of the limit, want ≥ 0.98",
							got, lc.periods, float64(got)/float64(lc.periods*count))
					}
				}
				if dc.even && l.Config().Burst == 1 {
					// Gaps vary only by the scheduler's lateness.
					interval := 1 / l.Rate()
					maxRatio := 1 + 1e-6
					if dc.name == "jittered" {
						maxRatio += lateness(l).Seconds() / interval
					}
					if r := gapRatio(sends); r > maxRatio {
						t.Errorf("(c) max/min gap = %.6f, want ≤ %.6f", r, maxRatio)
					}
				}
			})
		}
	}
}

// TestWindowLogCatchesWhatThePacerAllows configures the pacer as the token
// bucket the brief warns about (burst = limit, full rate). Alone it sends
// nearly twice the limit in one window (the negative control proves the
// checker sees it); with the window log the limiter still never exceeds.
func TestWindowLogCatchesWhatThePacerAllows(t *testing.T) {
	for _, ls := range []string{"2000/1s", "200/1s", "60/1h", "5/200ms"} {
		t.Run(ls, func(t *testing.T) {
			limit := MustParseLimit(ls)
			end := epoch.Add(10 * limit.Period)

			bucket := rate.NewLimiter(rate.Limit(limit.Rate()), limit.Count)
			var naive []time.Time
			for now := epoch; now.Before(end); {
				if r := bucket.ReserveN(now, 1); r.DelayFrom(now) == 0 {
					naive = append(naive, now)
					continue
				} else {
					r.CancelAt(now)
					now = now.Add(r.DelayFrom(now))
				}
			}
			if got := maxInWindow(naive, limit.Period); got <= limit.Count {
				t.Fatalf("negative control: bare bucket sent only %d in a window; checker broken?", got)
			}

			l := newLimiter(t, ls, Config{Safety: 1, Burst: limit.Count})
			sends := driveExact(l, epoch, end, nil)
			if got := maxInWindow(sends, limit.Period); got > limit.Count {
				t.Errorf("with the log: %d sends in one window, limit %d", got, limit.Count)
			}
			// The log binds but does not starve: full rate less one window's
			// rounding.
			if got, want := len(sends), 10*limit.Count; got < want-limit.Count {
				t.Errorf("with the log: %d sends in 10 periods, want about %d", got, want)
			}
		})
	}
}

// TestFirstWindowAfterIdle: a fresh or idle lane opens with its burst; that
// first window must also stay within the limit (Burst + Safety × Count ≤
// Count at the defaults), for every endpoint in the default table.
func TestFirstWindowAfterIdle(t *testing.T) {
	for e, limit := range DefaultTable() {
		t.Run(fmt.Sprint(e), func(t *testing.T) {
			l, err := New(limit, Config{})
			if err != nil {
				t.Fatal(err)
			}
			sends := driveExact(l, epoch, epoch.Add(limit.Period), nil)
			// Idle for a period, then backlogged again.
			sends = append(sends, driveExact(l, epoch.Add(2*limit.Period), epoch.Add(4*limit.Period), nil)...)
			if got := maxInWindow(sends, limit.Period+l.JitterBudget()); got > limit.Count {
				t.Errorf("%d sends in one window, limit %d", got, limit.Count)
			}
		})
	}
}
