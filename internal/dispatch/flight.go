package dispatch

import (
	"sync/atomic"
	"time"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/limiter"
)

// flight follows one request of a lane with a limiter from its admission to
// its answer, for the window log: the sender's transport goroutine reports
// when the request was written and when its answer began, and the worker
// settles the log after Send returns.
type flight struct {
	e          *Engine
	l          *limiter.Limiter
	floor      *limiter.Floor // the endpoint's fastest recent answer
	endpoint   intent.Endpoint
	admitted   time.Time
	staleAfter time.Duration
	// wrote and answered are offsets from admitted plus one; zero: not yet.
	wrote, answered atomic.Int64
}

func (e *Engine) newFlight(j *job) *flight {
	ep := j.in.Endpoint
	return &flight{e: e, l: j.limiter, floor: e.floors[ep], endpoint: ep, admitted: j.reservedAt, staleAfter: j.staleAfter}
}

// offset encodes t for wrote and answered.
func (f *flight) offset(t time.Time) int64 { return int64(max(t.Sub(f.admitted), 0)) + 1 }

// wroteAt is the sender's Wrote hook. If the request was written more than
// staleAfter after its admission (the process was descheduled between the
// check in attempt and the write, or the connection pool made it wait), the
// admission moves to the write: the check before Send keeps such a request
// from going out on an old token; this keeps the window log at the true
// departure for the admissions that follow (limiter.Left: the request has
// left, so the move is never refused). Only the first write counts: the log
// holds one entry per admission.
func (f *flight) wroteAt(t time.Time) {
	if !f.wrote.CompareAndSwap(0, f.offset(t)) || t.Sub(f.admitted) <= f.staleAfter {
		return
	}
	f.l.Left(f.admitted, t)
	f.e.metrics.stale.WithLabelValues("restamped_at_write").Inc()
}

// answeredAt is the sender's Answered hook; only the first answer counts.
func (f *flight) answeredAt(t time.Time) { f.answered.CompareAndSwap(0, f.offset(t)) }

// settle hands the request's round trip to the limiter once Send returned
// (at now): an answer that came late moves the request in the window log to
// when LINE may have counted it (limiter.Answered). A request that left but
// got no answer is settled at now: if LINE counted it, it was before. One
// that never left settles nothing.
func (f *flight) settle(now time.Time) {
	w := f.wrote.Load()
	if w == 0 {
		return
	}
	answered := now
	if a := f.answered.Load(); a != 0 {
		answered = f.admitted.Add(time.Duration(a - 1))
	}
	if late := f.l.Answered(f.admitted, f.admitted.Add(time.Duration(w-1)), answered, f.floor); late > 0 {
		f.e.metrics.lateAnswers.WithLabelValues(string(f.endpoint)).Inc()
	}
}

// newAnswerFloors returns one floor per endpoint, shared by the lanes of
// that endpoint (a new lane knows it from its first answer). The map is
// read-only afterwards; lanes exist only for these endpoints.
func newAnswerFloors() map[intent.Endpoint]*limiter.Floor {
	f := make(map[intent.Endpoint]*limiter.Floor, len(intent.Endpoints))
	for _, ep := range intent.Endpoints {
		f[ep] = &limiter.Floor{}
	}
	return f
}
