package limiter

import (
	"math"
	"testing"
	"time"
)

func TestThrottledDecreasesToFloorWithCooldown(t *testing.T) {
	// Recovery is slowed to an hour so only decreases show here.
	l := newLimiter(t, "2000/1s", Config{Safety: 0.99, AIMD: AIMDConfig{Decrease: 0.5, RecoverEvery: time.Hour}})
	full := l.Rate()
	if full != 1980 {
		t.Fatalf("configured rate = %v, want 1980 (0.99 × 2000/s)", full)
	}
	steps := []struct {
		at   time.Duration // after epoch
		want float64       // rate after Throttled(at)
	}{
		{0, 990},                      // ×0.5
		{500 * time.Millisecond, 990}, // within the 1 s cooldown: an echo, ignored
		{time.Second, 495},
		{2 * time.Second, 247.5},
		{3 * time.Second, 123.75},
		{4 * time.Second, 100}, // floor: 0.05 × 2000
		{5 * time.Second, 100},
	}
	for _, s := range steps {
		l.Throttled(epoch.Add(s.at))
		if got := l.Rate(); math.Abs(got-s.want) > 1e-9 {
			t.Errorf("after Throttled(+%v): rate %v, want %v", s.at, got, s.want)
		}
	}
}

func TestThrottledRecoversAdditivelyToConfiguredRate(t *testing.T) {
	l := newLimiter(t, "2000/1s", Config{Safety: 0.99, AIMD: AIMDConfig{Decrease: 0.1, RecoverStep: 0.05, Cooldown: time.Nanosecond}})
	l.Throttled(epoch) // 0.99 × 0.1 = 0.099 of the limit
	if got, want := l.Rate(), 0.099*2000; math.Abs(got-want) > 1e-9 {
		t.Fatalf("after 429: rate %v, want %v", got, want)
	}
	// +0.05 of the limit (100/s) per second, capped at the configured rate.
	for k := 1; k <= 20; k++ {
		l.Reserve(epoch.Add(time.Duration(k)*time.Second - time.Nanosecond))
		before := l.Rate()
		l.Reserve(epoch.Add(time.Duration(k) * time.Second))
		want := math.Min(1980, 2000*(0.099+0.05*float64(k)))
		if got := l.Rate(); math.Abs(got-want) > 1e-6 {
			t.Errorf("after %d s: rate %v, want %v", k, got, want)
		}
		if before > l.Rate() {
			t.Errorf("rate went down without a 429")
		}
	}
	if got, want := l.Rate(), l.Config().Safety*l.Limit().Rate(); got != want {
		t.Errorf("recovered rate %v, want exactly the configured %v", got, want)
	}
	if !l.Idle(epoch.Add(time.Hour)) {
		t.Error("recovered, quiet limiter is not Idle")
	}
}

// A backlogged lane sends at the lowered rate right after the 429, with no
// saved-up burst, and is back to ≥ 98 % once recovered.
func TestThrottledPacesBacklog(t *testing.T) {
	l := newLimiter(t, "2000/1s", Config{Safety: 0.99, Burst: 11, AIMD: AIMDConfig{Decrease: 0.5}})
	// Idle lane: its bucket is full (11 tokens).
	l.Throttled(epoch)
	if ok, wait := l.Reserve(epoch); ok || wait < time.Second/990 {
		t.Errorf("right after a 429: Reserve = %v, %v; want refused for at least one interval at 990/s", ok, wait)
	}
	sends := driveExact(l, epoch, epoch.Add(time.Second), nil)
	if n := len(sends); n < 985 || n > 992 {
		t.Errorf("first second after a 429: %d sends, want about 990", n)
	}
	// RecoverEvery = 1 s, +5 % per step: ten steps from 49.5 % to 99 %.
	sends = driveExact(l, epoch.Add(time.Second), epoch.Add(15*time.Second), nil)
	if n := countIn(sends, epoch.Add(14*time.Second), epoch.Add(15*time.Second)); n < 1960 {
		t.Errorf("after recovery: %d sends in a second, want ≥ 1960", n)
	}
	if got := maxInWindow(sends, time.Second+l.JitterBudget()); got > 2000 {
		t.Errorf("%d sends in one window", got)
	}
}

func TestAIMDConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		aimd AIMDConfig
	}{
		{"decrease 1", AIMDConfig{Decrease: 1}},
		{"decrease negative", AIMDConfig{Decrease: -0.5}},
		{"min above safety", AIMDConfig{MinFraction: 0.995}},
		{"step above 1", AIMDConfig{RecoverStep: 1.5}},
		{"negative every", AIMDConfig{RecoverEvery: -time.Second}},
		{"negative cooldown", AIMDConfig{Cooldown: -time.Second}},
		{"NaN decrease", AIMDConfig{Decrease: math.NaN()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(MustParseLimit("2000/1s"), Config{AIMD: tt.aimd}); err == nil {
				t.Errorf("New accepted %+v", tt.aimd)
			}
		})
	}
}
