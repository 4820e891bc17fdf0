package limiter

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewDefaults(t *testing.T) {
	tests := []struct {
		limit string
		burst int
		rate  float64
		guard time.Duration // the default guard; JitterBudget is at least that
	}{
		{"2000/1s", 40, 1970, 15 * time.Millisecond},
		{"200/1s", 4, 197, 15 * time.Millisecond},
		{"60/1h", 1, 0.985 * 60 / 3600, 54 * time.Second},
		{"3/1h", 1, 2.955 / 3600, 54 * time.Second},
		{"5/200ms", 1, 24.625, 3 * time.Millisecond},
		{"60/3600ms", 1, 16.416666666666668, 54 * time.Millisecond},
		{"100000/1s", MaxDefaultBurst, 98500, 15 * time.Millisecond},
		{"1/1s", 1, 0.985, 15 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.limit, func(t *testing.T) {
			l := newLimiter(t, tt.limit, Config{})
			c := l.Config()
			if c.Safety != DefaultSafety || c.Burst != tt.burst {
				t.Errorf("safety %v burst %d, want %v %d", c.Safety, c.Burst, DefaultSafety, tt.burst)
			}
			if math.Abs(l.Rate()-tt.rate) > 1e-9*tt.rate {
				t.Errorf("rate %v, want %v", l.Rate(), tt.rate)
			}
			if c.Guard != tt.guard {
				t.Errorf("guard %v, want %v", c.Guard, tt.guard)
			}
			if j := l.JitterBudget(); j < tt.guard {
				t.Errorf("jitter budget %v, want at least the guard %v", j, tt.guard)
			}
			a, p := c.AIMD, l.Limit().Period
			if a.Decrease != DefaultDecrease || a.MinFraction != 0.05 || a.RecoverStep != DefaultRecoverStep || a.RecoverEvery != p || a.Cooldown != p {
				t.Errorf("AIMD defaults %+v", a)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name  string
		limit Limit
		cfg   Config
	}{
		{"zero limit", Limit{}, Config{}},
		{"negative period", Limit{Count: 1, Period: -time.Second}, Config{}},
		{"safety above 1", Limit{Count: 10, Period: time.Second}, Config{Safety: 1.01}},
		{"negative safety", Limit{Count: 10, Period: time.Second}, Config{Safety: -0.5}},
		{"NaN safety", Limit{Count: 10, Period: time.Second}, Config{Safety: math.NaN()}},
		{"burst above count", Limit{Count: 10, Period: time.Second}, Config{Burst: 11}},
		{"negative burst", Limit{Count: 10, Period: time.Second}, Config{Burst: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.limit, tt.cfg); err == nil {
				t.Errorf("New(%v, %+v) succeeded", tt.limit, tt.cfg)
			}
		})
	}
	if err := (Config{Safety: 2}).Validate(); err == nil {
		t.Error("Config.Validate accepted safety 2")
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("Config.Validate rejected the zero config: %v", err)
	}
}

func TestJitterBudgetWithoutHeadroom(t *testing.T) {
	if j := newLimiter(t, "2000/1s", Config{Safety: 1}).JitterBudget(); j != 0 {
		t.Errorf("safety 1: jitter budget %v, want 0", j)
	}
	l := newLimiter(t, "2000/1s", Config{Burst: 200})
	if j := l.JitterBudget(); j != l.Config().Guard {
		t.Errorf("burst spending the pacer's headroom: jitter budget %v, want the guard %v", j, l.Config().Guard)
	}
}

func TestReserveWaitIsAccurate(t *testing.T) {
	// A caller who returns after exactly the wait it was given is admitted.
	for _, ls := range []string{"2000/1s", "60/1h", "5/200ms", "7/3s"} {
		l := newLimiter(t, ls, Config{})
		now := epoch
		for range 1000 {
			ok, wait := l.Reserve(now)
			if ok {
				continue
			}
			now = now.Add(wait)
			if ok, again := l.Reserve(now); !ok {
				t.Fatalf("%s: refused again after waiting %v (now %v more)", ls, wait, again)
			}
		}
	}
}

func TestReserveRefusalRecordsNothing(t *testing.T) {
	l := newLimiter(t, "2/1s", Config{Safety: 1, Burst: 2})
	l.Reserve(epoch)
	l.Reserve(epoch)
	for i := range 100 {
		if ok, _ := l.Reserve(epoch.Add(time.Duration(i) * time.Millisecond)); ok {
			t.Fatalf("third send admitted at +%d ms", i)
		}
	}
	if ok, _ := l.Reserve(epoch.Add(time.Second)); !ok {
		t.Error("refusals were counted as sends")
	}
}

// TestConcurrentReserve runs goroutines on a shared simulated clock, whose
// readings reach the limiter out of order, under the race detector.
func TestConcurrentReserve(t *testing.T) {
	l := newLimiter(t, "50/100ms", Config{})
	var clock atomic.Int64 // nanoseconds after epoch
	end := int64(20 * 100 * time.Millisecond)
	var mu sync.Mutex
	var sends []time.Time
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for calls := 0; ; calls++ {
				read := clock.Load()
				if read >= end {
					return
				}
				now := epoch.Add(time.Duration(read))
				ok, wait := l.Reserve(now)
				if ok {
					mu.Lock()
					sends = append(sends, now)
					mu.Unlock()
					continue
				}
				clock.CompareAndSwap(read, read+int64(wait))
				_ = l.Rate()
				if calls%997 == 0 {
					l.Throttled(now)
				}
			}
		})
	}
	wg.Wait()
	if got := maxInWindow(sends, 100*time.Millisecond); got > 50 {
		t.Errorf("%d sends in one window, limit 50", got)
	}
}

func TestWait(t *testing.T) {
	l := newLimiter(t, "10/50ms", Config{})
	start := time.Now()
	var admitted []time.Time
	for range 25 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		admitted = append(admitted, time.Now())
	}
	// 25 sends at 9.9 per 50 ms take at least two periods (less the burst of 1).
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Errorf("25 sends took %v, faster than the limit allows", el)
	}
	snap := l.Snapshot()
	if !slices.IsSortedFunc(snap, time.Time.Compare) || len(snap) == 0 {
		t.Errorf("snapshot %v", snap)
	}
}

func TestWaitContext(t *testing.T) {
	l := newLimiter(t, "1/1h", Config{})
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}

	short, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	if err := l.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline before the next slot: %v", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("Wait took %v to see that the deadline is too early", el)
	}

	ctx, cancel := context.WithCancel(context.Background())
	stop := time.AfterFunc(20*time.Millisecond, cancel)
	defer stop.Stop()
	if err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting: %v", err)
	}
}

func TestIdle(t *testing.T) {
	l := newLimiter(t, "200/1s", Config{})
	if !l.Idle(epoch) {
		t.Error("new limiter not idle")
	}
	l.Reserve(epoch)
	if l.Idle(epoch.Add(999 * time.Millisecond)) {
		t.Error("idle with a send in the window")
	}
	if l.Idle(epoch.Add(time.Second)) {
		t.Error("idle a period after the last send, but within the guard")
	}
	idle := epoch.Add(time.Second + l.Config().Guard)
	if !l.Idle(idle) {
		t.Error("not idle a period and a guard after the last send")
	}
	l.Throttled(idle)
	if l.Idle(idle.Add(2 * time.Second)) {
		t.Error("idle while the rate is still lowered by a 429")
	}
}

func TestReserveDoesNotAllocate(t *testing.T) {
	l := newLimiter(t, "2000/1s", Config{})
	now := epoch
	driveExact(l, now, now.Add(time.Second), nil) // grow the ring
	now = now.Add(time.Second)
	allocs := testing.AllocsPerRun(10000, func() {
		if ok, wait := l.Reserve(now); !ok {
			now = now.Add(wait)
		}
	})
	if allocs != 0 {
		t.Errorf("Reserve allocates %v times per call", allocs)
	}
}
