package limiter

import "time"

// aimdState is the lane's current pacing fraction of the limit, between
// AIMD.MinFraction and Safety, and the times that drive its changes.
type aimdState struct {
	fraction     float64
	decreased    bool
	lastDecrease time.Time // last multiplicative decrease
	recoverFrom  time.Time // recovery steps are counted from here
}

// Throttled tells the limiter that LINE answered 429 for this lane and it was
// not the monthly quota (which is not a rate problem; do not call Throttled
// for it). The pacing rate is multiplied by AIMD.Decrease, down to
// AIMD.MinFraction of the limit, unless a decrease happened within
// AIMD.Cooldown (the 429 is then an echo of the same overload). Saved-up burst
// is dropped too: LINE's window is full right now, so the next sends must be
// spaced at the new rate, not fired at once.
//
// The window log is not touched: it already bounds what we send, and a 429
// says LINE counts more than we do, which only a lower rate can fix.
func (l *Limiter) Throttled(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	pnow := l.observe(now)
	a := &l.aimd
	if a.decreased && pnow.Sub(a.lastDecrease) < l.cfg.AIMD.Cooldown {
		return
	}
	a.fraction = max(l.cfg.AIMD.MinFraction, a.fraction*l.cfg.AIMD.Decrease)
	a.decreased, a.lastDecrease, a.recoverFrom = true, pnow, pnow
	l.pacer.SetLimitAt(pnow, l.rateFor(a.fraction))
	l.drainPacer(pnow)
}

// recover adds AIMD.RecoverStep of the limit per whole AIMD.RecoverEvery
// elapsed since the last decrease or step, up to Safety. Called with mu held.
func (l *Limiter) recover(now time.Time) {
	a := &l.aimd
	if a.fraction >= l.cfg.Safety {
		return
	}
	every := l.cfg.AIMD.RecoverEvery
	steps := now.Sub(a.recoverFrom) / every
	if steps <= 0 {
		return
	}
	a.fraction = min(l.cfg.Safety, a.fraction+float64(steps)*l.cfg.AIMD.RecoverStep)
	a.recoverFrom = a.recoverFrom.Add(steps * every)
	// SetLimitAt accrues tokens at the old rate up to now, then switches: the
	// bucket never holds more than Burst, so raising the rate cannot burst.
	l.pacer.SetLimitAt(now, l.rateFor(a.fraction))
}

// drainPacer empties the pacer's bucket at t (to a fraction of a token in
// debt), so the next admission is a full interval after t at the current
// rate. Called with mu held.
func (l *Limiter) drainPacer(t time.Time) {
	tokens := l.pacer.TokensAt(t)
	if tokens <= 0 {
		return
	}
	n := int(tokens)
	if float64(n) < tokens {
		n++
	}
	// ReserveN may take more tokens than are present (leaving a debt of less
	// than one); it never fails for n ≤ Burst.
	l.pacer.ReserveN(t, n)
}
