package scenario

import (
	"context"
	"sync"
	"time"

	"github.com/linedispatch/linedispatch/internal/dispatch"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// passThroughPoll is how often watchPassThrough reads the consumer.
const passThroughPoll = 50 * time.Millisecond

// watchPassThrough measures how long the pods take to move partition p's
// pre-published intents off its consumer (into lanes or, mostly, to
// LINE_BACKLOG): until then a later intent of the partition waits behind
// them. Call it when the pods start; the returned function stops the watch
// and reports the time from the call to the first poll that found nothing
// pending and undelivered (false if that never happened).
func (h *Harness) watchPassThrough(ctx context.Context, p int) func() (time.Duration, bool) {
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		d  time.Duration
		ok bool
	}
	done := make(chan result, 1)
	go func() {
		t := time.NewTicker(passThroughPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				done <- result{}
				return
			case <-t.C:
			}
			c, err := h.JS.Consumer(ctx, queue.IntentsStream, dispatch.ConsumerName(p))
			if err != nil {
				continue // not created yet
			}
			info, err := c.Info(ctx)
			if err != nil {
				continue
			}
			if info.NumPending == 0 && info.Delivered.Stream > 0 {
				done <- result{d: time.Since(start), ok: true}
				return
			}
		}
	}()
	return sync.OnceValues(func() (time.Duration, bool) {
		cancel()
		r := <-done
		return r.d, r.ok
	})
}
