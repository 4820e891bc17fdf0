package limiter

import "time"

// Restamp moves a send admitted at `at` (the time passed to the Reserve that
// admitted it) to now, for a request that could not leave on time: the window
// log must hold departure times, and a request that sits in a starved worker
// departs later than its admission.
//
// The move is allowed only if the log, without the old entry, admits a send
// at now; the pacer is not charged again (its token was spent at admission).
// If the move is refused, the old entry is still removed — the request did
// not leave, so it must not count — and the caller asks Reserve for a new
// admission later. Either way no send is lost from the log that left, and no
// send that did not leave keeps a place in it.
//
// Restamp reports whether the request may leave now.
func (l *Limiter) Restamp(at, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.hasBase {
		return false // nothing was ever admitted
	}
	l.observe(now)
	off := now.Sub(l.base)
	l.log.prune(off)
	if old := at.Sub(l.base); old > off-l.log.period {
		l.log.remove(old) // still in the log: it must not count twice
	}
	if l.log.wait(off) != 0 {
		return false
	}
	if newest, have := l.log.newest(); have && newest > off {
		off = newest
	}
	l.log.push(off)
	return true
}

// remove drops the oldest entry at or after t: the one Reserve recorded for
// an admission at t (it records max(t, newest), so never earlier). An entry
// already pruned, or none at all, leaves the log as it is.
func (w *window) remove(t time.Duration) {
	i := w.n - 1
	for i >= 0 && w.buf[w.at(i)] >= t {
		i--
	}
	i++ // the oldest entry >= t, or w.n if there is none
	if i == w.n {
		return
	}
	for k := i; k < w.n-1; k++ {
		w.buf[w.at(k)] = w.buf[w.at(k+1)]
	}
	w.n--
	if w.n == 0 {
		w.head = 0
	}
}
