package limiter

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter keeps one (channel, bot, endpoint) lane within its Limit. It is safe
// for concurrent use; the expected caller is one scheduler goroutine, for which
// every call is one uncontended mutex and no allocation.
//
// Every admission must pass both the pacer and the window log (see the package
// documentation for why both exist).
type Limiter struct {
	mu    sync.Mutex
	limit Limit
	cfg   Config // resolved: no zero fields

	pacer *rate.Limiter
	log   window

	// base anchors the log's offsets; set by the first call that carries a
	// time. last is the latest time seen: the pacer only ever moves forward
	// (rate.Limiter mis-counts tokens if time goes backwards), and callers'
	// clocks may interleave slightly out of order.
	base    time.Time
	hasBase bool
	last    time.Time

	aimd aimdState
}

// New returns a Limiter for limit, with zero fields of cfg set to defaults.
func New(limit Limit, cfg Config) (*Limiter, error) {
	c, err := cfg.resolve(limit)
	if err != nil {
		return nil, err
	}
	l := &Limiter{
		limit: limit,
		cfg:   c,
		log:   newWindow(Limit{Count: limit.Count, Period: limit.Period + c.Guard}),
		aimd:  aimdState{fraction: c.Safety},
	}
	// A new pacer starts with a full bucket: a fresh lane may send Burst at
	// once. Burst + Safety × Count < Count + 1 (true for DefaultBurst) keeps
	// even that first window within the limit; the log enforces it anyway.
	l.pacer = rate.NewLimiter(l.rateFor(c.Safety), c.Burst)
	return l, nil
}

// Reserve admits one send at now if both the window log and the pacer allow
// it, recording it at now. Otherwise it records nothing and returns how long
// after now a send could be admitted (a later call may still be refused, e.g.
// after a 429 lowered the rate). It never blocks.
func (l *Limiter) Reserve(now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	pnow := l.observe(now)
	off := now.Sub(l.base)

	// The log is checked against the caller's own now (not the monotonic
	// pnow): if callers interleave out of order, the earlier time is the
	// stricter test.
	logWait := l.log.wait(off)
	if logWait == 0 && l.pacer.AllowN(pnow, 1) {
		newest, have := l.log.newest()
		if have && newest > off {
			off = newest // keep the ring sorted; recording later is conservative
		}
		l.log.push(off)
		return true, 0
	}
	return false, max(logWait, l.pacerWait(pnow)+pnow.Sub(now), time.Nanosecond)
}

// pacerWait is how long after t the pacer will hold a whole token.
func (l *Limiter) pacerWait(t time.Time) time.Duration {
	tokens := l.pacer.TokensAt(t)
	if tokens >= 1 {
		return 0
	}
	// Round up, plus a nanosecond against float rounding, so that a caller
	// who comes back after exactly wait finds the token there.
	ns := math.Ceil((1-tokens)/float64(l.pacer.Limit())*1e9) + 1
	if ns >= math.MaxInt64 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ns)
}

// observe anchors the offsets, advances AIMD recovery, and returns the
// monotonic "now" for the pacer. Called with mu held.
func (l *Limiter) observe(now time.Time) time.Time {
	if !l.hasBase {
		l.base, l.hasBase, l.last = now, true, now
	}
	if now.After(l.last) {
		l.last = now
	}
	l.recover(l.last)
	return l.last
}

// Wait blocks until Reserve admits a send at time.Now(), or ctx ends. It fails
// at once, with an error wrapping context.DeadlineExceeded, when the next
// admission would come after ctx's deadline.
func (l *Limiter) Wait(ctx context.Context) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := time.Now()
		ok, wait := l.Reserve(now)
		if ok {
			return nil
		}
		if dl, has := ctx.Deadline(); has && now.Add(wait).After(dl) {
			return fmt.Errorf("limiter: next send for %s in %v is after the context deadline: %w",
				l.limit, wait, context.DeadlineExceeded)
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// Limit returns the lane's limit.
func (l *Limiter) Limit() Limit { return l.limit }

// Config returns the effective configuration, defaults filled in.
func (l *Limiter) Config() Config { return l.cfg }

// Rate returns the current pacing rate in requests per second: Safety ×
// limit, lowered by AIMD after a 429. Recovery is applied by the calls that
// carry a time (Reserve, Throttled, Idle), so Rate reflects the latest one.
func (l *Limiter) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return float64(l.pacer.Limit())
}

// JitterBudget is the receiver-side jitter the configuration absorbs: as long
// as every request reaches LINE after a delay within [d, d+JitterBudget) for
// some d, LINE sees at most Count in every window of Period, even though the
// network squeezed the spacing.
//
// Derivation: a window of Period at LINE holds sends from a window of Period
// + jitter at the sender. The window log admits at most Count in any window
// of Period + Guard, so jitter below Guard is safe whatever the pacer does;
// the pacer may add more (Burst + rate × (Period + J) < Count + 1), and the
// larger of the two bounds holds.
func (l *Limiter) JitterBudget() time.Duration {
	r := l.rateFor(l.cfg.Safety)
	sec := float64(l.limit.Count+1-l.cfg.Burst)/float64(r) - l.limit.Period.Seconds()
	ns := math.Floor(sec*1e9) - 1 // strictly below the bound
	pacer := time.Duration(0)
	if ns > 0 {
		pacer = time.Duration(min(ns, math.MaxInt64/2))
	}
	return max(l.cfg.Guard, pacer)
}

// Idle reports whether the limiter holds no state that matters at now: no
// send in the window, full rate, full bucket. An idle limiter can be dropped
// and replaced by a fresh one without weakening the promise or forgetting a
// 429; a lane that is not idle must keep its limiter.
func (l *Limiter) Idle(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	pnow := l.observe(now)
	l.log.prune(now.Sub(l.base))
	return l.log.n == 0 && l.aimd.fraction == l.cfg.Safety &&
		l.pacer.TokensAt(pnow) >= float64(l.cfg.Burst)
}

// rateFor converts a fraction of the limit to a pacer rate.
func (l *Limiter) rateFor(fraction float64) rate.Limit {
	return rate.Limit(fraction * l.limit.Rate())
}
