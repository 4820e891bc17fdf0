package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/limiter"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/sender"
	"github.com/linedispatch/linedispatch/internal/unit"
)

// Sender makes one attempt of one LINE request (internal/sender.Sender).
type Sender interface {
	Send(ctx context.Context, req sender.Request) (*sender.Response, error)
}

// Units admits unit names against the per-bot monthly cap
// (internal/unit.Registry). Nil disables the cap.
type Units interface {
	Admit(ctx context.Context, channel, bot, unit string, at time.Time) (unit.Decision, error)
}

// Engine is one pod's dispatcher.
type Engine struct {
	cfg        Config
	js         jetstream.JetStream
	partitions int
	sender     Sender
	units      Units
	log        zerolog.Logger
	metrics    *Metrics
	floors     map[intent.Endpoint]*limiter.Floor // fastest recent answer per endpoint (see flight)

	credits chan struct{} // one per intent the pod may hold (credit.go)
	// gather lets one puller at a time wait for a batch's worth of credits,
	// for at most gatherWait (creditGather).
	gather     chan struct{}
	gatherWait time.Duration
	held       *heldSet       // every held job, and which one holds a stored message
	records    chan recording // finished jobs for the recorders (recorder.go)
	// spillingKeys holds the laneKeys whose lanes spill (written by the
	// scheduler, read by pullers to pass their intents through undecoded).
	spillingKeys sync.Map
	// finished remembers the messages the pod finished lately, to
	// recognise a redelivery that crossed the ack (finishedSeqs).
	finished *finishedSeqs
	// ahead is each partition's lookahead state (lookahead.go).
	ahead []partitionAhead
	// checkFirstDeliveries is set once a first delivery may be a copy of a
	// message the pod holds or just finished: it looked ahead, or a
	// partition consumer was created again (redundantCopy).
	checkFirstDeliveries atomic.Bool
	sched                *scheduler
	// intents is the LINE_INTENTS handle once looked up (intentsStream).
	intentsMu sync.Mutex
	intents   jetstream.Stream
	replicas  int
	lanes     *laneStore
	handover  handovers
	own       Ownership
	settle    time.Duration
	rescan    chan struct{}
}

// Deps are the engine's collaborators.
type Deps struct {
	JS         jetstream.JetStream
	Partitions int // the LINE_INTENTS partition count
	Replicas   int // replicas of the KV buckets the engine creates (default 1)
	Sender     Sender
	Units      Units // optional
	// Ownership assigns partitions to pods; nil: this pod owns them all.
	Ownership Ownership
	// OwnershipSettle is the ownership tracker's settle time.
	OwnershipSettle time.Duration
	Metrics         *Metrics // optional; NewMetrics(nil) when nil
	Logger          zerolog.Logger
}

// New checks cfg and builds an engine; Run starts it.
func New(cfg Config, d Deps) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.JS == nil || d.Sender == nil {
		return nil, errors.New("dispatch: JS and Sender are required")
	}
	if d.Partitions < 1 {
		return nil, fmt.Errorf("dispatch: partitions must be positive, got %d", d.Partitions)
	}
	cfg = cfg.WithDefaults()
	m := d.Metrics
	if m == nil {
		m = NewMetrics(nil)
	}
	e := &Engine{
		cfg:        cfg,
		js:         d.JS,
		partitions: d.Partitions,
		sender:     d.Sender,
		units:      d.Units,
		log:        d.Logger.With().Str("pod", cfg.Pod).Logger(),
		metrics:    m,
		credits:    make(chan struct{}, cfg.MaxHeld),
		gather:     make(chan struct{}, 1),
		gatherWait: creditGather,
		records:    newRecords(cfg),
		held:       newHeldSet(),
		floors:     newAnswerFloors(),
	}
	for i := 0; i < cfg.MaxHeld; i++ {
		e.credits <- struct{}{}
	}
	e.finished = newFinishedSeqs(min(cfg.AckWait, finishedMemory))
	e.ahead = make([]partitionAhead, d.Partitions)
	e.sched = newScheduler(e)
	e.replicas = d.Replicas
	e.own, e.settle = d.Ownership, d.OwnershipSettle
	e.rescan = make(chan struct{}, 1)
	return e, nil
}

// Run dispatches until ctx ends, then shuts down gracefully: it stops
// pulling, lets in-flight requests finish (at most ShutdownTimeout), records
// their outcomes, and hands every queued intent back to JetStream.
func (e *Engine) Run(parent context.Context) error {
	ctx, stop := context.WithCancel(parent)
	defer stop()
	var maxPeriod time.Duration
	for _, l := range e.cfg.Limits {
		maxPeriod = max(maxPeriod, l.Period)
	}
	var err error
	// A busy or newly elected cluster may not answer KV calls for a while.
	for deadline := time.Now().Add(time.Minute); ; {
		if e.lanes, err = openLaneStore(ctx, e.js, maxPeriod, e.replicas); err == nil {
			break
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		e.log.Warn().Err(err).Msg("lane store not reachable; retrying")
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	// Requests in flight at shutdown finish on their own context: an
	// abandoned request would be retried by another pod anyway, but letting
	// it finish records its outcome now.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	var recorders sync.WaitGroup
	e.startRecorders(workCtx, &recorders)
	var workers sync.WaitGroup
	for i := 0; i < e.cfg.Senders; i++ {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range e.sched.work {
				e.sched.done <- e.attempt(workCtx, j)
			}
		}()
	}
	schedDone := make(chan struct{})
	go func() { defer close(schedDone); e.sched.run(ctx) }()

	ps := &partitions{e: e, settle: e.settle, owned: map[int]context.CancelFunc{}}
	var follow sync.WaitGroup
	var startErr error
	if e.own == nil {
		for _, p := range e.allPartitions() {
			if err := ps.gain(ctx, p, true, ""); err != nil {
				startErr = fmt.Errorf("partition %d: %w", p, err)
				stop() // shut down what started
				break
			}
		}
	} else {
		follow.Add(1)
		go func() { defer follow.Done(); ps.follow(ctx, e.own) }()
	}
	var helpers sync.WaitGroup
	sp := &spiller{e: e, in: e.sched.spill, done: e.sched.spilled}
	helpers.Add(3 + refillers)
	go func() { defer helpers.Done(); sp.run(ctx) }()
	go func() { defer helpers.Done(); e.keepAlive(ctx) }()
	go func() { defer helpers.Done(); e.watchBacklogs(ctx, ps.ownedSet) }()
	e.rescanSoon()
	for i := 0; i < refillers; i++ {
		go func() {
			defer helpers.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case r := <-e.sched.refillReq:
					rep := e.refill(ctx, r)
					select {
					case e.sched.refilled <- rep:
					case <-ctx.Done():
						for _, j := range rep.jobs {
							e.handBack(j)
						}
						return
					}
				}
			}
		}()
	}
	e.log.Info().Int("partitions", e.partitions).Bool("shared", e.own != nil).Int("senders", e.cfg.Senders).Msg("dispatcher running")

	<-ctx.Done()
	// Shutdown. Leaving first lets the other pods take over while this one
	// drains; pullers, the spiller and refillers stop with ctx, and what
	// they hold is handed back.
	if e.own != nil {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := e.own.Leave(lctx); err != nil {
			e.log.Warn().Err(err).Msg("leaving the membership failed; the others take over after its TTL")
		}
		cancel()
	}
	follow.Wait()
	<-schedDone
	owned := ps.list()
	ps.wg.Wait()
	helpers.Wait()
	handedBack := e.sched.drain()
	close(e.sched.work)
	// The workers finish their requests and hand the outcomes over, then
	// the recorders record what they hold, all within ShutdownTimeout.
	finished := make(chan struct{})
	go func() { workers.Wait(); close(e.records); recorders.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(e.cfg.ShutdownTimeout):
		e.log.Warn().Dur("timeout", e.cfg.ShutdownTimeout).Msg("in-flight requests or their outcomes did not finish; abandoning them (they will be redelivered and retried with the same retry key)")
		cancelWork()
		<-finished
	}
	e.recordRelease(context.WithoutCancel(ctx), owned)
	for _, p := range owned {
		e.released(context.WithoutCancel(ctx), p)
	}
	e.log.Info().Int("handedBack", handedBack).Msg("dispatcher stopped")
	return startErr
}

// intentsStream returns a handle on LINE_INTENTS, looked up once: its calls
// (unpin, direct reads, deletes) go by the stream's name, not by the info
// the lookup cached, and a pod gains and releases up to every partition at
// once.
func (e *Engine) intentsStream(ctx context.Context) (jetstream.Stream, error) {
	e.intentsMu.Lock()
	defer e.intentsMu.Unlock()
	if e.intents != nil {
		return e.intents, nil
	}
	s, err := e.js.Stream(ctx, queue.IntentsStream)
	if err != nil {
		return nil, err
	}
	e.intents = s
	return s, nil
}

// takeOver learns when partition p's previous owner stopped sending.
func (e *Engine) takeOver(ctx context.Context, p int) {
	t, err := e.lanes.lastRelease(ctx, p)
	if err != nil {
		// Unknown: assume it stopped just now.
		e.log.Warn().Err(err).Int("partition", p).Msg("previous owner's release time unreadable")
		t = time.Now()
	}
	e.handover.set(p, t)
}

// recordRelease tells the partitions' next owners when this pod stopped
// sending for them. Called once no request of theirs is in flight.
func (e *Engine) recordRelease(ctx context.Context, partitions []int) {
	now := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, p := range partitions {
		if err := e.lanes.released(ctx, p, now, e.cfg.Pod); err != nil {
			e.log.Warn().Err(err).Int("partition", p).Msg("release time not recorded")
			return
		}
	}
}

func (e *Engine) allPartitions() []int {
	ps := make([]int, e.partitions)
	for i := range ps {
		ps[i] = i
	}
	return ps
}
