package limiter

import (
	"slices"
	"testing"
	"time"
)

// TestRestoreHandOver: owner A drains a backlog, stops, and hands its
// Snapshot to owner B, which carries on draining. Across the hand-over the
// combined sends never exceed the limit in any window. A bursty configuration
// (burst = limit, full rate) makes the window log do the work; without
// Restore that configuration does exceed (the negative control).
func TestRestoreHandOver(t *testing.T) {
	tests := []struct {
		name  string
		limit string
		cfg   Config
		gap   time.Duration // from A's last call to B's first
	}{
		{"default 2000/1s", "2000/1s", Config{}, 0},
		{"default 200/1s later", "200/1s", Config{}, 300 * time.Millisecond},
		{"default 60/1h", "60/1h", Config{}, 0},
		{"bursty 2000/1s", "2000/1s", Config{Safety: 1, Burst: 2000}, 0},
		{"bursty 200/1s later", "200/1s", Config{Safety: 1, Burst: 200}, 400 * time.Millisecond},
		{"bursty 60/1h", "60/1h", Config{Safety: 1, Burst: 60}, 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := MustParseLimit(tt.limit)
			handover := epoch.Add(limit.Period * 5 / 2)
			resume := handover.Add(tt.gap)
			end := resume.Add(3 * limit.Period)

			a := newLimiter(t, tt.limit, tt.cfg)
			sendsA := driveExact(a, epoch, handover, nil)
			snap := a.Snapshot()

			b := newLimiter(t, tt.limit, tt.cfg)
			b.Restore(snap)
			sendsB := driveExact(b, resume, end, nil)

			all := append(slices.Clone(sendsA), sendsB...)
			if got := maxInWindow(all, limit.Period); got > limit.Count {
				t.Errorf("%d sends in one window across the hand-over, limit %d", got, limit.Count)
			}
			if tt.cfg == (Config{}) {
				if got := maxInWindow(all, limit.Period+b.JitterBudget()); got > limit.Count {
					t.Errorf("%d sends in one window of period + jitter budget across the hand-over", got)
				}
			}
			// B still drains at full speed after the hand-over.
			last := end.Add(-limit.Period)
			if got := countIn(sendsB, last, end); float64(got) < 0.98*float64(limit.Count) {
				t.Errorf("after the hand-over: %d sends in the last period, want ≥ 98 %% of %d", got, limit.Count)
			}

			if tt.cfg.Burst == limit.Count && tt.gap < limit.Period/2 {
				fresh := newLimiter(t, tt.limit, tt.cfg)
				naive := append(slices.Clone(sendsA), driveExact(fresh, resume, end, nil)...)
				if got := maxInWindow(naive, limit.Period); got <= limit.Count {
					t.Errorf("negative control: a new owner without Restore stayed within the limit (%d); test too weak", got)
				}
			}
		})
	}
}

func TestSnapshotKeepsOnlyTheLastPeriod(t *testing.T) {
	l := newLimiter(t, "5/1s", Config{Safety: 1, Burst: 5})
	for _, at := range []time.Duration{0, 100 * time.Millisecond, 1500 * time.Millisecond, 2 * time.Second, 2400 * time.Millisecond} {
		if ok, _ := l.Reserve(epoch.Add(at)); !ok {
			t.Fatalf("Reserve(+%v) refused", at)
		}
	}
	got := l.Snapshot()
	// Newest is +2.4 s: +1.5 s and +2 s share a window with it, +1.4 s would not.
	want := []time.Time{epoch.Add(1500 * time.Millisecond), epoch.Add(2 * time.Second), epoch.Add(2400 * time.Millisecond)}
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("Snapshot = %v, want %v", got, want)
	}
	if s := newLimiter(t, "5/1s", Config{}).Snapshot(); s != nil {
		t.Errorf("Snapshot of an unused limiter = %v, want nil", s)
	}
}

func TestSnapshotStripsMonotonicClock(t *testing.T) {
	l := newLimiter(t, "5/1s", Config{})
	now := time.Now()
	l.Reserve(now)
	snap := l.Snapshot()
	if len(snap) != 1 || snap[0] != now.Round(0) {
		t.Errorf("Snapshot = %v, want [%v] without a monotonic reading", snap, now.Round(0))
	}
}

func TestRestoreMergesAndSpaces(t *testing.T) {
	l := newLimiter(t, "4/1s", Config{Guard: time.Nanosecond})
	if ok, _ := l.Reserve(epoch); !ok {
		t.Fatal("first Reserve refused")
	}
	// Another owner's sends, unsorted, one older than a period.
	l.Restore([]time.Time{
		epoch.Add(300 * time.Millisecond),
		epoch.Add(-2 * time.Second),
		epoch.Add(100 * time.Millisecond),
		epoch.Add(200 * time.Millisecond),
	})
	// Window (t−1s, t] holds four sends (0, 100, 200, 300 ms) until t > 1 s.
	if ok, wait := l.Reserve(epoch.Add(999 * time.Millisecond)); ok || wait != time.Millisecond+time.Nanosecond {
		t.Errorf("Reserve(+999ms) = %v, %v; want refused for 1ms", ok, wait)
	}
	if ok, _ := l.Reserve(epoch.Add(time.Second + time.Nanosecond)); !ok {
		t.Errorf("Reserve(+1s) refused although the send at 0 left the window")
	}
	if got := len(l.Snapshot()); got != 4 {
		t.Errorf("Snapshot holds %d sends, want 4 (100, 200, 300 ms, 1 s)", got)
	}
}

func TestRestorePacesAfterTheLastRestoredSend(t *testing.T) {
	l := newLimiter(t, "2000/1s", Config{Safety: 0.99, Burst: 11})
	l.Restore([]time.Time{epoch})
	ok, wait := l.Reserve(epoch)
	if ok {
		t.Fatal("admitted at the instant of the old owner's last send: the pacer was not emptied")
	}
	if interval := time.Second / 1980; wait < interval/2 || wait > 2*interval {
		t.Errorf("wait %v, want about one interval (%v)", wait, interval)
	}
}
