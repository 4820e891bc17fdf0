package dispatch

import (
	"context"
	"sync"

	"github.com/linedispatch/linedispatch/internal/outcome"
)

// Recording an outcome waits for JetStream's PubAck before the intent is
// acked (record.go). A worker that waited for it itself stopped sending
// while it waited: while LINE_OUTCOMES could not store (its leader dead, up
// to the 5 s PubAck timeout per attempt; the stream full), every worker
// waited and all of the pod's sending stopped, although LINE and the
// intents were fine. Workers therefore hand a finished job to the
// recorders and take their next request. The order of effects for each intent is unchanged: outcome
// stored, then intent acked; a pod that dies in between redelivers it, and
// the retry key turns the second send into LINE's 409.
//
// What waits is bounded by the pod's credits: a job keeps its credit until
// it is recorded, so while recording stalls, the pod sends what it holds
// and then stops pulling.

// recording is a finished job and its outcome, waiting for a recorder.
type recording struct {
	j *job
	o *outcome.Outcome
}

// newRecords is the recorders' queue. Its capacity covers every job the pod
// may hold (MaxHeld credits, plus the refillers' batch members beyond
// them), so a worker never waits to hand one over.
func newRecords(cfg Config) chan recording {
	return make(chan recording, cfg.MaxHeld+refillers*spillBatchMax)
}

// startRecorders runs one recorder per sender, which records as many
// outcomes at once as the workers did when each recorded its own, until
// records is closed and drained. They record on ctx: shutdown cancels it
// when its time is up, and what is not recorded by then is left for
// redelivery.
func (e *Engine) startRecorders(ctx context.Context, wg *sync.WaitGroup) {
	n := e.cfg.Senders
	wg.Add(n)
	for range n {
		go func() {
			defer wg.Done()
			for r := range e.records {
				e.finishNow(ctx, r.j, r.o)
			}
		}()
	}
}
