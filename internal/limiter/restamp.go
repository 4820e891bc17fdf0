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
	if old := at.Sub(l.base); old > l.log.cut {
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

// Left moves a send admitted at `at` to wrote, the moment its request was
// written: the sender's report, after the fact. Unlike Restamp the move is
// never refused, because the request already left. When its entry was
// already pruned (it waited more than a period between admission and
// write) and the window at wrote is full, the log then holds more than Count
// and admits nothing until the window is back under the limit.
func (l *Limiter) Left(at, wrote time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.hasBase {
		return // nothing was ever admitted
	}
	l.observe(wrote)
	l.log.delay(at.Sub(l.base), wrote.Sub(l.base))
}
