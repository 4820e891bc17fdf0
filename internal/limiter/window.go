package limiter

import (
	"math"
	"time"
)

// window is the exact sliding-window log: the times of the sends admitted in
// the last period, oldest first, in a ring. A send at time t is admissible iff
// fewer than count sends lie in (t − period, t], i.e. iff the ring is not full
// after dropping entries at or before t − period. That is the whole promise,
// checked exactly rather than approximated by a bucket.
//
// Times are offsets from the Limiter's base time. Offsets are computed with
// time.Time.Sub, which uses the monotonic clock when both times carry it, so
// a wall-clock step (NTP) inside one process cannot open the window early.
//
// The ring grows on demand up to count entries and is released when the lane
// goes quiet, so an idle lane with a 2,000/s limit costs nothing like the
// 16 KB a busy one holds.
type window struct {
	buf    []time.Duration // ring; len(buf) is the capacity in use
	head   int             // index of the oldest entry
	n      int             // entries in use
	count  int             // the limit's count: entries beyond it come only from delay
	period time.Duration
	cut    time.Duration // the latest prune cutoff: entries at or before it are gone
}

// minRing is the first allocation; shrinkAbove is the size above which an
// empty ring is released rather than kept.
const (
	minRing     = 16
	shrinkAbove = 256
)

func newWindow(l Limit) window {
	return window{count: l.Count, period: l.Period, cut: math.MinInt64}
}

// prune drops entries that can no longer share a window with a send at now.
func (w *window) prune(now time.Duration) {
	cutoff := now - w.period
	w.cut = max(w.cut, cutoff)
	for w.n > 0 && w.buf[w.head] <= cutoff {
		w.head++
		if w.head == len(w.buf) {
			w.head = 0
		}
		w.n--
	}
	if w.n == 0 {
		w.head = 0
		if len(w.buf) > shrinkAbove {
			w.buf = nil
		}
	}
}

// wait prunes and returns how long after now a send becomes admissible: zero
// if it is admissible now, else until enough of the oldest entries (one,
// unless delay put more than count in the window) leave the window.
func (w *window) wait(now time.Duration) time.Duration {
	w.prune(now)
	if w.n < w.count {
		return 0
	}
	return w.buf[w.at(w.n-w.count)] + w.period - now
}

// newest returns the latest recorded send, if any.
func (w *window) newest() (time.Duration, bool) {
	if w.n == 0 {
		return 0, false
	}
	return w.buf[w.at(w.n-1)], true
}

// at maps the i-th oldest entry to its index in buf.
func (w *window) at(i int) int {
	j := w.head + i
	if j >= len(w.buf) {
		j -= len(w.buf)
	}
	return j
}

// push records a send at t. Callers record max(t, newest) so the ring stays
// sorted, and only after wait returned zero, so n < count here.
func (w *window) push(t time.Duration) {
	if w.n == len(w.buf) {
		w.grow()
	}
	w.buf[w.at(w.n)] = t
	w.n++
}

func (w *window) grow() {
	size := min(max(minRing, 2*len(w.buf)), w.count)
	if size <= w.n { // only delay fills a ring past count
		size = w.n + max(1, w.n/8)
	}
	buf := make([]time.Duration, size)
	for i := range w.n {
		buf[i] = w.buf[w.at(i)]
	}
	w.buf, w.head = buf, 0
}

// delay moves the entry recorded for a send at from to the later time to,
// keeping the ring sorted. The entry removed is the oldest in [from, to]:
// the send's own, or one recorded after it (moving that one instead only
// keeps a later time in the log). If the send's entry already left the log
// (from at or before the last cutoff), the send is recorded at to all the
// same: it may have counted there.
func (w *window) delay(from, to time.Duration) {
	if to <= from || to <= w.cut {
		return
	}
	if from > w.cut {
		w.removeIn(from, to)
	}
	w.insert(to)
}

// remove drops the oldest entry at or after t: the one Reserve recorded for
// an admission at t (it records max(t, newest), so never earlier). An entry
// already pruned, or none at all, leaves the log as it is.
func (w *window) remove(t time.Duration) { w.removeIn(t, math.MaxInt64) }

// removeIn drops the oldest entry in [from, to], if there is one. It looks
// from the newest end: from is recent.
func (w *window) removeIn(from, to time.Duration) {
	i := w.n
	for i > 0 && w.buf[w.at(i-1)] >= from {
		i--
	}
	if i == w.n || w.buf[w.at(i)] > to {
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

// insert records t in sorted position.
func (w *window) insert(t time.Duration) {
	if w.n == len(w.buf) {
		w.grow()
	}
	i := w.n
	for i > 0 && w.buf[w.at(i-1)] > t {
		w.buf[w.at(i)] = w.buf[w.at(i-1)]
		i--
	}
	w.buf[w.at(i)] = t
	w.n++
}

// entries appends the recorded offsets, oldest first.
func (w *window) entries(dst []time.Duration) []time.Duration {
	for i := range w.n {
		dst = append(dst, w.buf[w.at(i)])
	}
	return dst
}

// reset replaces the log with sorted offsets, keeping the newest count.
func (w *window) reset(sorted []time.Duration) {
	if len(sorted) > w.count {
		sorted = sorted[len(sorted)-w.count:]
	}
	w.buf, w.head, w.n = nil, 0, 0
	for _, t := range sorted {
		w.push(t)
	}
}
