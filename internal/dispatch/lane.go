package dispatch

import (
	"time"

	"github.com/linedispatch/linedispatch/internal/limiter"
)

// lane is one (channel, bot, endpoint): a FIFO of fresh intents, the intents
// waiting to be retried, and the limiter that keeps the key within LINE's
// limit. Only the scheduler goroutine touches a lane.
type lane struct {
	key       laneKey
	partition int
	limiter   *limiter.Limiter
	fresh     fifo
	retries   []*job // ordered by notBefore; short (only failed intents)
	inflight  int
	lastSend  time.Time
	// persist is true for hour-scale limits: the send log is written to KV
	// before each send.
	persist bool

	// streak counts retryable failures with no success between them; at the
	// configured length the lane pauses until pausedUntil.
	streak      int
	pausedUntil time.Time
	pause       time.Duration

	// spilling is true while the key has intents in LINE_BACKLOG (or on
	// their way there): new intents follow them, to keep FIFO.
	spilling       bool
	spillsInFlight int
	spillsDone     uint64
	// refilling is true while a refill is in flight; refillMark is
	// spillsDone when it was asked for. An empty refill ends spilling only
	// if no spill landed meanwhile, so no intent is stranded in the backlog.
	refilling  bool
	refillMark uint64

	// queued is true while the lane sits in the scheduler's ready queue.
	queued bool
	// wakeAt is the lane's pending timer, zero when none.
	wakeAt time.Time
}

func (l *lane) len() int { return l.fresh.len() + len(l.retries) }

// next returns the job to send now, or nil and when the lane could have one
// (zero when it holds nothing). It does not remove the job.
func (l *lane) next(now time.Time) (*job, time.Time) {
	if now.Before(l.pausedUntil) {
		if l.len() == 0 {
			return nil, time.Time{}
		}
		return nil, l.pausedUntil
	}
	if len(l.retries) > 0 && !l.retries[0].notBefore.After(now) {
		return l.retries[0], time.Time{}
	}
	if j := l.fresh.peek(); j != nil {
		return j, time.Time{}
	}
	if len(l.retries) > 0 {
		return nil, l.retries[0].notBefore
	}
	return nil, time.Time{}
}

// take removes j, which next just returned.
func (l *lane) take(j *job) {
	if len(l.retries) > 0 && l.retries[0] == j {
		copy(l.retries, l.retries[1:])
		l.retries[len(l.retries)-1] = nil
		l.retries = l.retries[:len(l.retries)-1]
		return
	}
	l.fresh.pop()
}

// retry queues j again at its notBefore.
func (l *lane) retry(j *job) {
	i := len(l.retries)
	for i > 0 && l.retries[i-1].notBefore.After(j.notBefore) {
		i--
	}
	l.retries = append(l.retries, nil)
	copy(l.retries[i+1:], l.retries[i:])
	l.retries[i] = j
}

// failed records a retryable failure and pauses the lane after a streak, so
// that an outage costs one probe per backoff interval instead of the lane's
// whole rate.
func (l *lane) failed(now time.Time, streakLimit int, maxPause time.Duration) {
	l.streak++
	if l.streak < streakLimit {
		return
	}
	if l.pause == 0 {
		l.pause = 250 * time.Millisecond
	} else {
		l.pause *= 2
	}
	if l.pause > maxPause {
		l.pause = maxPause
	}
	l.pausedUntil = now.Add(l.pause)
}

// succeeded ends a failure streak.
func (l *lane) succeeded() {
	l.streak, l.pause, l.pausedUntil = 0, 0, time.Time{}
}

// fifo is a growable ring buffer of jobs.
type fifo struct {
	buf        []*job
	head, size int
}

func (f *fifo) len() int { return f.size }

func (f *fifo) push(j *job) {
	if f.size == len(f.buf) {
		n := len(f.buf) * 2
		if n == 0 {
			n = 16
		}
		buf := make([]*job, n)
		for i := 0; i < f.size; i++ {
			buf[i] = f.buf[(f.head+i)%len(f.buf)]
		}
		f.buf, f.head = buf, 0
	}
	f.buf[(f.head+f.size)%len(f.buf)] = j
	f.size++
}

func (f *fifo) peek() *job {
	if f.size == 0 {
		return nil
	}
	return f.buf[f.head]
}

func (f *fifo) pop() *job {
	if f.size == 0 {
		return nil
	}
	j := f.buf[f.head]
	f.buf[f.head] = nil
	f.head = (f.head + 1) % len(f.buf)
	f.size--
	if f.size == 0 && len(f.buf) > 1024 {
		f.buf, f.head = nil, 0 // give a drained hot lane's memory back
	}
	return j
}
