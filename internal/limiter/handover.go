package limiter

import (
	"slices"
	"time"
)

// Snapshot returns the recorded send times that can still share a window with
// a future send: those within one Period of the newest, oldest first, as wall
// clock times (monotonic readings stripped: they mean nothing in another
// process). Hand them to Restore on the lane's next owner (another pod after a
// rebalance, or this pod after a restart) so that it does not spend the part
// of the window the old owner already spent.
//
// The snapshot is only complete if the old owner sends nothing after taking
// it; a request in flight when it is taken was already recorded (Reserve
// records at admission), so the snapshot covers it.
func (l *Limiter) Snapshot() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	newest, have := l.log.newest()
	if !have {
		return nil
	}
	offs := l.log.entries(nil)
	out := make([]time.Time, 0, len(offs))
	for _, off := range offs {
		if off > newest-l.limit.Period {
			out = append(out, l.base.Add(off).Round(0))
		}
	}
	return out
}

// Restore adds sends made by a previous owner of the lane to the window log,
// so this limiter never lets (their sends + its own) exceed the limit in any
// window. Sends are merged with any already recorded (restoring twice counts
// twice, which is conservative); only the newest Count matter. The pacer is
// emptied at the newest restored send, so the lane continues at its spacing
// instead of opening with a burst on top of the old owner's last send.
//
// Caveat: times from another process are wall-clock times. If that process's
// clock was behind this one's by s, its sends look s older than they were and
// the window can be exceeded by what it sent in the last s. Keep pod clocks
// synchronised well within the jitter budget, or wait one Period before
// sending instead (see docs/limits.md).
func (l *Limiter) Restore(sends []time.Time) {
	if len(sends) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.hasBase {
		l.base, l.hasBase, l.last = sends[0], true, sends[0]
	}
	merged := l.log.entries(make([]time.Duration, 0, l.log.n+len(sends)))
	latest := sends[0]
	for _, t := range sends {
		merged = append(merged, t.Sub(l.base))
		if t.After(latest) {
			latest = t
		}
	}
	slices.Sort(merged)
	l.log.reset(merged)
	if latest.After(l.last) {
		l.last = latest
	}
	l.drainPacer(l.last)
}
