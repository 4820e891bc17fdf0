package dispatch

import (
	"context"
	"time"
)

// A pod holds at most MaxHeld intents: one credit each. A full pod gets its
// credits back one outcome at a time, and a puller that took whatever was
// free when it woke asked JetStream for a handful of intents per request:
// about 7 in a long steady run (28,000 pull requests for 200,000 intents),
// each request a subscription, a pull and an unsubscription for the pod and
// the server. A puller that wants a batch therefore waits, briefly, for a
// batch's worth of credits (creditBatch), one puller at a time so that the
// credits coming back are not shared out a few to each of them.
//
// The wait is short and only happens on a full pod, which holds seconds of
// work: MaxHeld intents at its drain rate. A puller that wants one intent
// (an idle partition) never waits for more than one credit, so a quiet
// key's intent does not wait for a busy one's.
const (
	// creditBatch is the most credits a puller waits to gather.
	creditBatch = 64
	// creditGather bounds the wait: a puller takes what it has after it.
	creditGather = 5 * time.Millisecond
)

// acquire takes between 1 and n credits, waiting for the first, then up to
// creditGather for min(n, creditBatch) of them. It returns 0 only when ctx
// ends before the first; the caller releases what it does not use.
func (e *Engine) acquire(ctx context.Context, n int) int {
	if n > 1 {
		// The turn to gather is taken with ctx in view: a puller whose
		// partition moved away must not wait behind one waiting for
		// credits.
		select {
		case e.gather <- struct{}{}:
		case <-ctx.Done():
			return 0
		}
		defer func() { <-e.gather }()
	}
	select {
	case <-e.credits:
	case <-ctx.Done():
		return 0
	}
	got := e.takeFree(1, n)
	goal := min(n, creditBatch)
	if got >= goal {
		return got
	}
	t := time.NewTimer(e.gatherWait)
	defer t.Stop()
	for got < goal {
		select {
		case <-e.credits:
			got = e.takeFree(got+1, n)
		case <-t.C:
			return got
		case <-ctx.Done():
			return got
		}
	}
	return got
}

// takeFree adds the credits free now to got, up to n, without waiting.
func (e *Engine) takeFree(got, n int) int {
	for got < n {
		select {
		case <-e.credits:
			got++
		default:
			return got
		}
	}
	return got
}

// release returns n credits.
func (e *Engine) release(n int) {
	for i := 0; i < n; i++ {
		e.credits <- struct{}{}
	}
	e.metrics.held.Sub(float64(n))
}
