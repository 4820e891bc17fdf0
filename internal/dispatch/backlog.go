package dispatch

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// backlogScanEvery is how often the pod looks for spilled intents of its
// partitions that no lane is draining (after a restart or a hand-over, or
// one stranded by a failure).
const backlogScanEvery = 30 * time.Second

// rescanDelay is how long after a hand-over the backlogs are scanned again:
// the previous owner's last spills land after it sees the change.
const rescanDelay = 2 * time.Second

// watchBacklogs resumes the backlogs of the owned partitions periodically,
// and soon after every change of ownership.
func (e *Engine) watchBacklogs(ctx context.Context, owned func() map[int]bool) {
	t := time.NewTicker(backlogScanEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.rescan:
			select {
			case <-ctx.Done():
				return
			case <-time.After(rescanDelay):
			}
		}
		if err := e.resumeBacklogs(ctx, owned()); err != nil && ctx.Err() == nil {
			e.log.Warn().Err(err).Msg("backlog scan failed")
		}
	}
}

// rescanSoon asks for a backlog scan after rescanDelay.
func (e *Engine) rescanSoon() {
	select {
	case e.rescan <- struct{}{}:
	default:
	}
}

// resumeBacklogs tells the scheduler about every key of an owned partition
// with intents in LINE_BACKLOG.
func (e *Engine) resumeBacklogs(ctx context.Context, owned map[int]bool) error {
	s, err := e.js.Stream(ctx, queue.BacklogStream)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(queue.BacklogPrefix+".>"))
	if err != nil {
		return err
	}
	for subj, n := range info.State.Subjects {
		if n == 0 {
			continue
		}
		tok := strings.Split(subj, ".")
		if len(tok) != 6 {
			continue
		}
		p, err := strconv.Atoi(tok[2])
		if err != nil || !owned[p] {
			continue
		}
		k := laneKey{channel: tok[3], bot: tok[4], endpoint: intent.Endpoint(tok[5])}
		select {
		case e.sched.resume <- resumeKey{key: k, partition: p}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
