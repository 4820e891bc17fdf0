package linesim

// window is a strict sliding window over every request received for one key.
// It keeps the timestamps (ns on linesim's clock) of the requests received in
// the last period, oldest first, in a ring that grows on demand up to cap.
// A request at t is over the limit when, counting itself, more than count
// requests fall in (t-period, t].
type window struct {
	count  int
	period int64
	cap    int
	buf    []int64
	head   int // index of the oldest entry
	n      int // entries in buf
	last   int64
	max    int  // highest number of requests seen in any window
	capped bool // max is a lower bound: the ring was full
}

// windowCap bounds the memory of a window: enough to see a client flood to
// twice its limit, at most limit+10,000 entries.
func windowCap(count int) int {
	extra := count
	if extra > 10000 {
		extra = 10000
	}
	if extra < 1 {
		extra = 1
	}
	return count + extra
}

func newWindow(l Limit) window {
	return window{count: l.Count, period: int64(l.Period), cap: windowCap(l.Count)}
}

// add records a request at t and returns how many requests (itself included)
// fall in (t-period, t] and whether that exceeds the limit.
func (w *window) add(t int64) (inWindow int, over bool) {
	if t < w.last {
		t = w.last // never go backwards
	}
	w.last = t
	cut := t - w.period
	for w.n > 0 && w.buf[w.head] <= cut {
		w.head++
		if w.head == len(w.buf) {
			w.head = 0
		}
		w.n--
	}
	if w.n == len(w.buf) {
		if len(w.buf) < w.cap {
			w.grow()
		} else { // full: forget the oldest, the count saturates
			w.head++
			if w.head == len(w.buf) {
				w.head = 0
			}
			w.n--
			w.capped = true
		}
	}
	i := w.head + w.n
	if i >= len(w.buf) {
		i -= len(w.buf)
	}
	w.buf[i] = t
	w.n++
	if w.n > w.max {
		w.max = w.n
	}
	return w.n, w.n > w.count
}

func (w *window) grow() {
	size := 2 * len(w.buf)
	if size < 8 {
		size = 8
	}
	if size > w.cap {
		size = w.cap
	}
	nb := make([]int64, size)
	for i := 0; i < w.n; i++ {
		j := w.head + i
		if j >= len(w.buf) {
			j -= len(w.buf)
		}
		nb[i] = w.buf[j]
	}
	w.buf, w.head = nb, 0
}
