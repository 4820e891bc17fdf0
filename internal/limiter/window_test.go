package limiter

import (
	"slices"
	"testing"
	"time"
)

func TestWindowRing(t *testing.T) {
	w := newWindow(Limit{Count: 40, Period: 100})
	var want []time.Duration
	// Push through several wrap-arounds and growths; the ring must always
	// hold exactly the entries in (now−period, now], oldest first.
	for now := time.Duration(0); now < 2000; now += 3 {
		if wait := w.wait(now); wait != 0 {
			t.Fatalf("at %d: wait %d with %d entries", now, wait, w.n)
		}
		w.push(now)
		want = append(want, now)
		for want[0] <= now-100 {
			want = want[1:]
		}
		if got := w.entries(nil); !slices.Equal(got, want) {
			t.Fatalf("at %d: entries %v, want %v", now, got, want)
		}
	}
	if len(w.buf) > 40 {
		t.Errorf("ring grew to %d, beyond the count", len(w.buf))
	}
}

func TestWindowFullAndRelease(t *testing.T) {
	w := newWindow(Limit{Count: 300, Period: 1000})
	for i := range 300 {
		w.push(time.Duration(i))
	}
	if wait := w.wait(500); wait != 500 {
		t.Errorf("full window: wait %d, want 500 (until entry 0 leaves)", wait)
	}
	if wait := w.wait(1000); wait != 0 {
		t.Errorf("at 1000 entry 0 has left: wait %d", wait)
	}
	w.prune(5000)
	if w.n != 0 || w.buf != nil {
		t.Errorf("quiet ring kept %d entries, %d slots", w.n, len(w.buf))
	}
	w.reset([]time.Duration{1, 2, 3, 4, 5})
	if got := w.entries(nil); !slices.Equal(got, []time.Duration{1, 2, 3, 4, 5}) {
		t.Errorf("reset: %v", got)
	}
	small := newWindow(Limit{Count: 2, Period: 1000})
	small.reset([]time.Duration{1, 2, 3})
	if got := small.entries(nil); !slices.Equal(got, []time.Duration{2, 3}) {
		t.Errorf("reset keeps the newest count: %v", got)
	}
}
