package dispatch

import (
	"context"
	"time"
)

// keepAlive tells JetStream that held intents are being worked on, so that an
// intent waiting in a lane (behind a limit or a backoff) is not redelivered
// to another pod after AckWait while this pod still means to send it.
func (e *Engine) keepAlive(ctx context.Context) {
	// A held intent is refreshed once it is 2/5 of AckWait old, at most 1/5
	// later (the tick): 2/5 of AckWait stays as margin for a keep-alive
	// pass that runs late on a busy machine (2 s at the scenarios' 5 s).
	// A redelivery that slips through anyway is recognised and ignored
	// (redundantCopy).
	every := e.cfg.AckWait / 5
	stale := (2 * e.cfg.AckWait / 5).Nanoseconds()
	t := time.NewTicker(every)
	defer t.Stop()
	var jobs []*job
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n := now.UnixNano()
			jobs = e.held.appendJobs(jobs[:0])
			for _, j := range jobs {
				if j.done.Load() || n-j.lastProgress.Load() < stale {
					continue
				}
				if err := j.msg.InProgress(); err == nil {
					j.lastProgress.Store(n)
				}
			}
			clear(jobs) // keep no finished job alive until the next pass
		}
	}
}
