package dispatch

import (
	"container/heap"
	"context"
	"time"

	"github.com/linedispatch/linedispatch/internal/limiter"
)

// maxRefill bounds one refill fetch.
const maxRefill = 1000

// staleFraction: a request that leaves more than Guard/staleFraction after
// its admission has the admission moved to its departure (see attempt). The
// rest of the guard is left for the network's jitter.
const staleFraction = 10

// maxLanePause bounds how long an outage pauses a lane between probes.
const maxLanePause = 30 * time.Second

// laneSweepEvery is how often idle lanes are looked for.
const laneSweepEvery = 30 * time.Second

// scheduler owns every lane. One goroutine runs it: lanes need no locks, and
// round-robin over the ready queue gives every lane with a token a turn
// before any lane gets a second one, so one bot's campaign never queues
// another bot's intent behind it. A lane waiting for its limiter or its
// backoff sits in the timer heap, not in a worker.
type scheduler struct {
	e       *Engine
	lanes   map[laneKey]*lane
	ready   []*lane
	wake    wakeHeap
	timer   *time.Timer
	free    int           // idle workers
	stopped chan struct{} // closed when run returns
	swept   time.Time

	in   chan *job   // from pullers
	done chan result // from workers
	work chan *job   // to workers

	spill     chan *job          // to the spiller
	spilled   chan spillReport   // from the spiller
	refillReq chan refillRequest // to refillers
	refilled  chan refillReport  // from refillers
	resume    chan resumeKey     // keys found with a backlog (start, hand-over)

	parts     chan partEvent // partitions gained and lost
	fenced    chan int       // partitions whose hand-over time was settled
	owned     map[int]bool
	releasing map[int]bool
	ctx       context.Context // for work started by the scheduler that outlives an event
}

// partEvent tells the scheduler that the pod gained or lost a partition;
// done is closed once it is applied.
type partEvent struct {
	p      int
	gained bool
	done   chan struct{}
}

// resumeKey names a key whose backlog must be drained.
type resumeKey struct {
	key       laneKey
	partition int
}

// refillers is how many lanes can refill at once.
const refillers = 4

func newScheduler(e *Engine) *scheduler {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &scheduler{
		e:     e,
		lanes: make(map[laneKey]*lane),
		timer: t,
		free:  e.cfg.Senders,
		in:    make(chan *job, e.cfg.FetchBatch),
		done:  make(chan result, e.cfg.Senders),
		work:  make(chan *job, e.cfg.Senders),

		stopped: make(chan struct{}),

		spill:     make(chan *job, spillPipeline),
		spilled:   make(chan spillReport, spillPipeline),
		refillReq: make(chan refillRequest, 1024),
		refilled:  make(chan refillReport, refillers),
		resume:    make(chan resumeKey, 64),
		parts:     make(chan partEvent),
		fenced:    make(chan int, 64),
		owned:     make(map[int]bool),
		releasing: make(map[int]bool),
	}
}

// run schedules until ctx ends, then returns; the engine drains afterwards.
func (s *scheduler) run(ctx context.Context) {
	s.ctx = ctx
	defer close(s.stopped)
	for {
		s.dispatch(time.Now())
		s.armTimer()
		select {
		case <-ctx.Done():
			return
		case j := <-s.in:
			s.admit(j)
		case r := <-s.done:
			s.complete(r)
		case r := <-s.spilled:
			s.spillDone(r)
		case r := <-s.refilled:
			s.refillDone(r)
		case r := <-s.resume:
			if !s.owned[r.partition] {
				break
			}
			l := s.lane(r.key, r.partition)
			s.setSpilling(l, true)
			s.maybeRefill(l)
		case ev := <-s.parts:
			s.partition(ev)
		case p := <-s.fenced:
			s.unfenced(p)
		case <-s.timer.C:
			s.fireTimers(time.Now())
		}
		if now := time.Now(); now.Sub(s.swept) > laneSweepEvery {
			s.sweep(now)
			s.swept = now
		}
	}
}

// admit queues a freshly pulled intent in its lane, or spills it when the
// lane is full or already spilling.
func (s *scheduler) admit(j *job) {
	if !s.owned[j.partition] {
		s.e.handBack(j) // pulled just before the partition was lost
		return
	}
	l := s.lane(j.key, j.partition)
	if l.spilling || j.raw || l.fresh.len() >= s.e.cfg.LaneCapacity {
		// A raw job met a lane that stopped spilling meanwhile: spilling it
		// anyway keeps FIFO (what the lane holds goes first, the backlog
		// after) and costs one refill.
		s.setSpilling(l, true)
		l.spillsInFlight++
		// The spiller's pipeline is bounded on its own; holding the credit
		// until the PubAck would throttle the partition to the spill rate.
		s.e.returnCredit(j)
		s.spill <- j
		return
	}
	l.fresh.push(j)
	s.e.metrics.laneDepth.Inc()
	s.markReady(l)
}

// setSpilling records whether l spills; pullers read it (passThrough) to
// skip decoding what will be spilled anyway.
func (s *scheduler) setSpilling(l *lane, on bool) {
	if l.spilling == on {
		return
	}
	l.spilling = on
	d := int32(-1)
	if on {
		d = 1
		s.e.spillingKeys.Store(l.key, struct{}{})
	} else {
		s.e.spillingKeys.Delete(l.key)
	}
	if l.partition < len(s.e.ahead) {
		s.e.ahead[l.partition].spilling.Add(d)
	}
}

func (s *scheduler) spillDone(r spillReport) {
	l := s.lanes[r.key]
	if l == nil {
		return
	}
	l.spillsInFlight -= r.n
	l.spillsDone += uint64(r.n)
	s.maybeRefill(l)
}

// maybeRefill asks for a spilling lane's backlog once its queue is half empty.
func (s *scheduler) maybeRefill(l *lane) {
	if !l.spilling || l.refilling || l.fresh.len() > s.e.cfg.LaneCapacity/2 {
		return
	}
	n := min(s.e.cfg.LaneCapacity-l.fresh.len(), maxRefill)
	l.refilling, l.refillMark = true, l.spillsDone
	select {
	case s.refillReq <- refillRequest{key: l.key, partition: l.partition, n: n}:
	default:
		l.refilling = false // refillers are saturated; the next event asks again
	}
}

func (s *scheduler) refillDone(r refillReport) {
	l := s.lanes[r.key]
	if l == nil || !s.owned[l.partition] {
		if l != nil {
			l.refilling = false
			s.checkReleased(l.partition)
		}
		for _, j := range r.jobs {
			s.e.handBack(j)
		}
		return
	}
	l.refilling = false
	for _, j := range r.jobs {
		l.fresh.push(j)
	}
	s.e.metrics.laneDepth.Add(float64(len(r.jobs)))
	switch {
	case r.err != nil:
		s.e.log.Warn().Err(r.err).Str("bot", r.key.bot).Str("endpoint", string(r.key.endpoint)).Msg("backlog refill failed; will retry")
		s.sleep(l, time.Now().Add(time.Second))
	case r.more && len(r.jobs) == 0:
		s.sleep(l, time.Now().Add(refillRetry)) // its wake asks again
	case len(r.jobs) == 0 && l.spillsInFlight == 0 && l.spillsDone == l.refillMark:
		s.setSpilling(l, false) // the backlog is empty and nothing is on its way there
	}
	s.markReady(l)
	if len(r.jobs) > 0 || l.spillsDone != l.refillMark {
		s.maybeRefill(l)
	}
}

// lane returns k's lane, creating it for partition p: a new lane starts
// where the key's previous owner left off (see lanestate.go).
func (s *scheduler) lane(k laneKey, p int) *lane {
	l := s.lanes[k]
	if l != nil {
		return l
	}
	limit := s.e.cfg.Limits.For(k.endpoint)
	lim, err := limiter.New(limit, s.e.cfg.Limiter)
	if err != nil {
		// The limit table was validated at start; this cannot happen.
		panic(err)
	}
	l = &lane{key: k, partition: p, limiter: lim}
	now := time.Now()
	if limit.Period >= persistThreshold {
		l.persist = true
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		sends, err := s.e.lanes.load(ctx, k)
		cancel()
		if err != nil {
			// Without the log the window cannot be proven: wait it out.
			s.e.log.Warn().Err(err).Str("bot", k.bot).Str("endpoint", string(k.endpoint)).Msg("lane send log unreadable; pausing the lane for one period")
			l.pausedUntil = now.Add(limit.Period)
		}
		lim.Restore(sends)
	} else if until := s.e.handover.get(p).Add(limit.Period); until.After(now) {
		l.pausedUntil = until
	}
	s.lanes[k] = l
	return l
}

// complete handles a worker's report.
func (s *scheduler) complete(r result) {
	s.free++
	l := s.lanes[r.j.key]
	l.inflight--
	now := time.Now()
	switch r.kind {
	case resultFinished:
		if r.j.lastErr == nil {
			l.succeeded()
		}
	case resultReleased:
	case resultStale:
		// Restamp refused: the old admission left the log; the intent goes
		// back to the head of its lane for a fresh one.
		if !s.owned[l.partition] {
			s.e.handBack(r.j)
			break
		}
		r.j.notBefore = now
		l.retry(r.j)
		s.e.metrics.laneDepth.Inc()
	case resultThrottled:
		if !s.owned[l.partition] {
			s.e.handBack(r.j)
			break
		}
		l.limiter.Throttled(now)
		r.j.notBefore = now
		l.retry(r.j)
		s.e.metrics.laneDepth.Inc()
	case resultRetry:
		if !s.owned[l.partition] {
			s.e.handBack(r.j)
			break
		}
		if r.j.backoff == nil {
			r.j.backoff = s.e.cfg.Retry.NewBackOff()
		}
		r.j.notBefore = now.Add(r.j.backoff.NextBackOff())
		l.retry(r.j)
		l.failed(now, s.e.cfg.FailureStreak, maxLanePause)
		s.e.metrics.laneDepth.Inc()
	}
	if s.releasing[l.partition] {
		s.checkReleased(l.partition)
		return
	}
	s.markReady(l)
}

// partition applies a gained or lost partition.
func (s *scheduler) partition(ev partEvent) {
	defer close(ev.done)
	if ev.gained {
		s.owned[ev.p] = true
		delete(s.releasing, ev.p)
		// Lanes kept from an earlier ownership of p do not know what the
		// owners in between sent: they wait like new ones (see lane).
		s.pauseForHandover(ev.p, false)
		return
	}
	delete(s.owned, ev.p)
	s.releasing[ev.p] = true
	for _, l := range s.lanes {
		if l.partition != ev.p {
			continue
		}
		for j := l.fresh.pop(); j != nil; j = l.fresh.pop() {
			s.e.handBack(j)
			s.e.metrics.laneDepth.Dec()
		}
		for _, j := range l.retries {
			s.e.handBack(j)
			s.e.metrics.laneDepth.Dec()
		}
		// The backlog stays in LINE_BACKLOG for the next owner.
		l.retries = nil
		s.setSpilling(l, false)
	}
	s.checkReleased(ev.p)
}

// checkReleased reports a lost partition once none of its requests or
// refills is in flight.
func (s *scheduler) checkReleased(p int) {
	if !s.releasing[p] {
		return
	}
	for _, l := range s.lanes {
		if l.partition == p && (l.inflight > 0 || l.refilling) {
			return
		}
	}
	delete(s.releasing, p)
	go s.e.released(context.WithoutCancel(s.ctx), p)
}

// refence tells the scheduler that p's hand-over time is known now.
func (s *scheduler) refence(p int) {
	select {
	case s.fenced <- p:
	case <-s.stopped:
	}
}

// unfenced moves the pause of p's lanes to one period after p's hand-over
// time (it was the fence's bound).
func (s *scheduler) unfenced(p int) { s.pauseForHandover(p, true) }

// pauseForHandover pauses p's lanes (those without a persisted send log)
// until one period after p's hand-over time: only ever later, or exactly
// there when settle is set (a fence ended, its bound was an upper limit).
func (s *scheduler) pauseForHandover(p int, settle bool) {
	at := s.e.handover.get(p)
	for _, l := range s.lanes {
		if l.partition != p || l.persist {
			continue
		}
		if until := at.Add(l.limiter.Limit().Period); settle || until.After(l.pausedUntil) {
			l.pausedUntil = until
		}
		if settle && l.len() > 0 {
			s.sleep(l, l.pausedUntil)
		}
	}
}

func (s *scheduler) gain(p int) { s.event(partEvent{p: p, gained: true}) }
func (s *scheduler) lose(p int) { s.event(partEvent{p: p}) }

func (s *scheduler) event(ev partEvent) {
	ev.done = make(chan struct{})
	select {
	case s.parts <- ev:
		<-ev.done
	case <-s.stopped:
	}
}

// sweep forgets lanes that hold nothing and whose limiter window has passed,
// so a pod that saw many bots does not keep them all. A lane is never dropped
// inside its window: a new limiter would not know the sends it made.
func (s *scheduler) sweep(now time.Time) {
	for k, l := range s.lanes {
		if l.len() > 0 || l.inflight > 0 || l.queued || !l.wakeAt.IsZero() || l.spilling || l.refilling {
			continue
		}
		if now.Sub(l.lastSend) > l.limiter.Limit().Period+time.Second {
			delete(s.lanes, k)
		}
	}
}

// dispatch hands jobs to idle workers, one per ready lane per turn.
func (s *scheduler) dispatch(now time.Time) {
	for s.free > 0 && len(s.ready) > 0 {
		l := s.ready[0]
		s.ready[0] = nil
		s.ready = s.ready[1:]
		l.queued = false
		if l.inflight >= s.e.cfg.MaxInflightPerLane {
			continue // complete() re-queues it
		}
		j, at := l.next(now)
		if j == nil {
			if !at.IsZero() {
				s.sleep(l, at)
			}
			continue
		}
		if now.After(j.deadline) {
			// Expired before a token was spent: a worker records it without
			// calling LINE.
			l.take(j)
			s.send(l, j)
			s.markReady(l)
			continue
		}
		ok, wait := l.limiter.Reserve(now)
		if !ok {
			s.sleep(l, now.Add(wait))
			continue
		}
		l.take(j)
		l.lastSend = now
		j.reservedAt = now
		if l.persist {
			j.sendLog = l.limiter.Snapshot()
		} else {
			j.staleAfter = l.limiter.Config().Guard / staleFraction
			j.limiter = l.limiter
		}
		s.send(l, j)
		s.markReady(l)
		s.maybeRefill(l)
	}
}

func (s *scheduler) send(l *lane, j *job) {
	l.inflight++
	s.free--
	s.e.metrics.laneDepth.Dec()
	s.work <- j // never blocks: work has room for every worker
}

func (s *scheduler) markReady(l *lane) {
	if l.queued || l.len() == 0 {
		return
	}
	l.queued = true
	s.ready = append(s.ready, l)
}

func (s *scheduler) sleep(l *lane, at time.Time) {
	if !l.wakeAt.IsZero() && !l.wakeAt.After(at) {
		return
	}
	l.wakeAt = at
	heap.Push(&s.wake, wakeEntry{at: at, l: l})
}

func (s *scheduler) fireTimers(now time.Time) {
	for len(s.wake) > 0 && !s.wake[0].at.After(now) {
		e := heap.Pop(&s.wake).(wakeEntry)
		if !e.l.wakeAt.Equal(e.at) {
			continue // superseded by an earlier wake-up
		}
		e.l.wakeAt = time.Time{}
		s.markReady(e.l)
		s.maybeRefill(e.l)
	}
}

func (s *scheduler) armTimer() {
	if len(s.wake) == 0 {
		return
	}
	d := time.Until(s.wake[0].at)
	if d < 0 {
		d = 0
	}
	s.timer.Reset(d)
}

// drain hands every queued job back to JetStream (nak) so another pod can
// take it at once, instead of after AckWait.
func (s *scheduler) drain() int {
	n := 0
	for {
		select {
		case j := <-s.in:
			s.e.handBack(j)
			n++
			continue
		case j := <-s.spill:
			s.e.handBack(j)
			n++
			continue
		case r := <-s.refilled:
			for _, j := range r.jobs {
				s.e.handBack(j)
				n++
			}
			continue
		default:
		}
		break
	}
	for _, l := range s.lanes {
		for j := l.fresh.pop(); j != nil; j = l.fresh.pop() {
			s.e.handBack(j)
			n++
		}
		for _, j := range l.retries {
			s.e.handBack(j)
			n++
		}
		l.retries = nil
	}
	return n
}

type wakeEntry struct {
	at time.Time
	l  *lane
}

type wakeHeap []wakeEntry

func (h wakeHeap) Len() int           { return len(h) }
func (h wakeHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h wakeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *wakeHeap) Push(x any)        { *h = append(*h, x.(wakeEntry)) }
func (h *wakeHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
