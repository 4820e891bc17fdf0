package dispatch

import (
	"context"
	"sync"
	"time"

	"github.com/linedispatch/linedispatch/internal/ownership"
)

// Ownership tells the engine which partitions it owns
// (internal/ownership.Tracker). Without one the engine owns them all.
type Ownership interface {
	Updates() <-chan ownership.Assignment
	Leave(ctx context.Context) error
}

// handoverMargin is added to the ownership settle time when a partition is
// gained from a live pod: both pods see the membership change within about
// the settle time of each other, and the old owner stops dispatching the
// moment it sees it.
const handoverMargin = 500 * time.Millisecond

// partitions runs the pullers of the partitions the pod owns.
type partitions struct {
	e      *Engine
	settle time.Duration
	mu     sync.Mutex
	owned  map[int]context.CancelFunc
	wg     sync.WaitGroup
	fences fences
	// prev are the members of the last assignment applied and prevVersion
	// its protocol version (see fence.go).
	prev        []string
	prevVersion int
}

func (ps *partitions) ownedSet() map[int]bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make(map[int]bool, len(ps.owned))
	for p := range ps.owned {
		out[p] = true
	}
	return out
}

func (ps *partitions) list() []int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	out := make([]int, 0, len(ps.owned))
	for p := range ps.owned {
		out = append(out, p)
	}
	return out
}

// gain starts pulling p. alone is true when no other pod is a member, so
// nobody else can be sending for p's keys.
// owner, when set, is the pod that owned p until now and is still a member:
// p is fenced until it records its release (fence.go).
func (ps *partitions) gain(ctx context.Context, p int, alone bool, owner string) error {
	e := ps.e
	c, err := e.partitionConsumer(ctx, p)
	if err != nil {
		return err
	}
	if err := e.lanes.holding(ctx, p, e.cfg.Pod); err != nil {
		// A pod that takes p over from this one may then trust an old
		// release record and start one period early.
		e.log.Warn().Err(err).Int("partition", p).Msg("could not withdraw this pod's old release record")
	}
	e.takeOver(ctx, p)
	if owner != "" {
		ps.fenceGain(ctx, p, owner)
	} else if !alone {
		// The previous owner may still be dispatching until it sees the
		// change; its release record may not be written yet.
		if t := time.Now().Add(ps.settle + handoverMargin); t.After(e.handover.get(p)) {
			e.handover.set(p, t)
		}
	}
	// A dead owner's pin would hold the partition for PinnedTTL; a live one
	// re-pins itself at its next pull until it sees the change, and the
	// server still serves one puller at a time.
	if s, err := e.intentsStream(ctx); err == nil {
		_ = s.UnpinConsumer(ctx, ConsumerName(p), PriorityGroup)
	}
	e.sched.gain(p)
	pctx, cancel := context.WithCancel(ctx)
	ps.mu.Lock()
	ps.owned[p] = cancel
	ps.mu.Unlock()
	ps.wg.Add(1)
	go func() {
		defer ps.wg.Done()
		e.pull(pctx, p, c)
	}()
	return nil
}

// lose stops pulling p; the scheduler hands back what it holds of p and
// reports when p's last request has finished.
func (ps *partitions) lose(p int) {
	ps.mu.Lock()
	cancel := ps.owned[p]
	delete(ps.owned, p)
	ps.mu.Unlock()
	ps.dropFence(p)
	if cancel != nil {
		cancel()
		ps.e.sched.lose(p)
	}
}

// follow applies ownership updates until ctx ends or the updates stop.
func (ps *partitions) follow(ctx context.Context, o Ownership) {
	for {
		select {
		case <-ctx.Done():
			return
		case a, ok := <-o.Updates():
			if !ok {
				return
			}
			for _, p := range a.Lost {
				ps.lose(p)
			}
			ps.membersChanged(a.Members)
			if ps.prev == nil {
				go ps.recordNotOwned(ctx, a.Owned)
			}
			var owners []string
			if len(a.Gained) > 0 {
				version := ps.prevVersion
				if ps.prev == nil {
					version = a.Version
				}
				owners = previousOwners(version, ps.e.partitions, ps.e.cfg.Pod, ps.prev, a.Members)
			}
			for _, p := range a.Gained {
				if err := ps.gain(ctx, p, len(a.Members) <= 1, owners[p]); err != nil && ctx.Err() == nil {
					ps.e.log.Error().Err(err).Int("partition", p).Msg("cannot pull a gained partition")
				}
			}
			ps.prev, ps.prevVersion = a.Members, a.Version
			ps.e.log.Info().Uint64("epoch", a.Epoch).Int("members", len(a.Members)).Int("owned", len(a.Owned)).
				Ints("gained", a.Gained).Ints("lost", a.Lost).Msg("partition assignment applied")
			ps.e.rescanSoon()
		}
	}
}

// released is called by the scheduler once partition p, lost, has no
// request in flight: record it for the next owner and let go of the pin.
func (e *Engine) released(ctx context.Context, p int) {
	e.recordRelease(ctx, []int{p})
	if s, err := e.intentsStream(ctx); err == nil {
		if err := s.UnpinConsumer(ctx, ConsumerName(p), PriorityGroup); err != nil {
			e.log.Debug().Err(err).Int("partition", p).Msg("unpin after hand-over")
		}
	}
}
