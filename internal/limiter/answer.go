package limiter

import (
	"math"
	"sync"
	"time"
)

// LINE counts a request when it arrives, and the window log holds departure
// times: the Guard absorbs delays between the two that vary by less than
// Guard. A longer stall between the sender and LINE's counter (a congested
// link, a TCP retransmission, a paused load balancer; on a loaded machine,
// the receiving process descheduled) holds the requests that leave during it
// and delivers them together when it ends. LINE then counts up to a lane's
// in-flight requests at one instant, and with the sends of the next period
// that is over the limit, although no window of departures was.
//
// The sender cannot see LINE's counter, but it sees the answer. A request
// answered d later than the fastest recent answer on its path to LINE (a
// Floor, which the dispatcher keeps per endpoint and shares among the lanes,
// so that a new lane knows it from its first answer) may have been
// counted up to d after it left, so Answered moves its entry in the log to
// (departure + d − Guard/2): the sends that follow are admitted against the
// time the request may really have counted, and half the Guard is left for
// the ordinary jitter of that estimate. (Moving an entry later is always
// safe: it only makes later admissions stricter.) A delay within half the
// Guard moves nothing, so normal operation costs nothing; a delay that
// persists (LINE slower for minutes) stops counting as late once the
// fastest answer of the last floorEpoch reflects it. See docs/limits.md.

// floorEpoch is how long the fastest answer is remembered: the floor is the
// fastest of the current and the previous epoch.
const floorEpoch = 10 * time.Second

// Late-answer policies (Config.LateAnswers).
const (
	// LateAnswersRestamp moves a late-answered send in the window log to when
	// LINE may have counted it (the default).
	LateAnswersRestamp = "restamp"
	// LateAnswersIgnore keeps departure times only: for a LINE whose answer
	// times vary after it counts (a slow backend), at the price of trusting
	// the Guard with every delay before the count.
	LateAnswersIgnore = "ignore"
	// DefaultLateAnswers is the policy when Config.LateAnswers is empty.
	DefaultLateAnswers = LateAnswersRestamp
)

// Floor is the fastest answer of the last one to two floorEpochs on one path
// to LINE (the dispatcher keeps one per endpoint). The zero value is ready;
// it is safe for concurrent use.
type Floor struct {
	mu        sync.Mutex
	cur, prev time.Duration // math.MaxInt64: no answer in that epoch
	epoch     time.Time     // start of the current epoch; zero before the first answer
}

// Observe records that a request took rtt from departure to answer, at now,
// and returns the floor including it.
func (f *Floor) Observe(rtt time.Duration, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch age := now.Sub(f.epoch); {
	case f.epoch.IsZero() || age >= 2*floorEpoch:
		f.cur, f.prev, f.epoch = math.MaxInt64, math.MaxInt64, now
	case age >= floorEpoch:
		f.cur, f.prev, f.epoch = math.MaxInt64, f.cur, now
	}
	f.cur = min(f.cur, rtt)
	return min(f.cur, f.prev)
}

// Answered tells the limiter that the request admitted at `at` (the time
// passed to the Reserve that admitted it, or to the Restamp that moved it)
// left at wrote and was answered at answered — or, for a request that got no
// answer, gave up at answered — and records its time in floor. If the answer
// came more than Guard/2 later than floor's fastest answer, the request's
// entry in the window log moves to answered − fastest − Guard/2 (see above)
// and Answered returns how far; otherwise it returns zero. With
// LateAnswersIgnore it does nothing.
//
// A moved entry may leave more than Count sends in one window of the log:
// LINE may already have seen one too many. The log then admits nothing until
// the window is back under the limit.
func (l *Limiter) Answered(at, wrote, answered time.Time, floor *Floor) time.Duration {
	if l.cfg.LateAnswers == LateAnswersIgnore {
		return 0
	}
	rtt := max(answered.Sub(wrote), 0)
	fastest := floor.Observe(rtt, answered)
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.hasBase {
		return 0
	}
	late := rtt - fastest - l.cfg.Guard/2
	if late <= 0 {
		return 0
	}
	l.log.delay(at.Sub(l.base), wrote.Add(late).Sub(l.base))
	return late
}
