package dispatch

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/linedispatch/linedispatch/internal/ownership"
)

// A partition gained from a pod that is still a member is fenced: its lanes
// stay paused until that pod's release record (written once its last request
// for the partition finished) says when it stopped, and then one period
// more. Timing alone (both pods see a membership change within the settle
// time of each other) fails when the old owner is slow to see it: on the
// 3-node cluster an old owner applied its loss ~5 s after the new owners'
// gains (docs/ownership.md).
//
// Release records are kept per pod (a record of another pod says nothing
// about the old owner); a pod withdraws its record of p when it gains p, so
// a record that exists means "released, not owned since", however old. A pod
// records at its first assignment that it holds nothing of the partitions it
// does not own: pods started together fence on each other before any of
// them owned anything.
//
// A fence ends when the record appears, when the old owner leaves the
// membership (a dead pod sends nothing; its lanes' windows are then waited
// out from that moment), or after fenceLimit (AckWait): a live pod that has
// not let go by then holds nothing the server would not redeliver anyway.

// fencePoll is how often a fenced partition looks for the release record.
const fencePoll = 100 * time.Millisecond

type fence struct {
	owner  string
	gainAt time.Time
	cancel context.CancelFunc
}

type fences struct {
	mu sync.Mutex
	m  map[int]*fence
}

// previousOwners returns, per partition (of partitions), the pod that owned
// it before this assignment and is still a member, or "" if there is none
// (or it is this pod). prev are the members of the previous assignment (nil
// before the first: the others then converged without this pod, as after
// its restart) and version its protocol version. One assignment serves all
// the partitions a change moves.
func previousOwners(version, partitions int, self string, prev, members []string) []string {
	base := prev
	if base == nil {
		base = slices.DeleteFunc(slices.Clone(members), func(m string) bool { return m == self })
	}
	out := make([]string, partitions)
	for old, ps := range ownership.AssignVersion(version, partitions, base) {
		if old == self || !slices.Contains(members, old) {
			continue
		}
		for _, p := range ps {
			out[p] = old
		}
	}
	return out
}

// fenceGain pauses p's lanes until owner's release record for p.
func (ps *partitions) fenceGain(ctx context.Context, p int, owner string) {
	e := ps.e
	gainAt := time.Now()
	limit := e.cfg.AckWait
	e.handover.set(p, gainAt.Add(limit))
	fctx, cancel := context.WithCancel(ctx)
	ps.fences.mu.Lock()
	if ps.fences.m == nil {
		ps.fences.m = map[int]*fence{}
	}
	if f := ps.fences.m[p]; f != nil {
		f.cancel()
	}
	f := &fence{owner: owner, gainAt: gainAt, cancel: cancel}
	ps.fences.m[p] = f
	ps.fences.mu.Unlock()

	go func() {
		t := time.NewTicker(fencePoll)
		defer t.Stop()
		for {
			if at, err := e.lanes.podRelease(fctx, p, owner); err == nil && !at.IsZero() {
				ps.unfence(p, f, at)
				return
			}
			select {
			case <-fctx.Done():
				return
			case now := <-t.C:
				if now.Sub(gainAt) >= limit {
					e.log.Warn().Int("partition", p).Str("previous_owner", owner).Dur("waited", limit).
						Msg("previous owner did not record its release; resuming after ackWait")
					ps.unfence(p, f, now)
					return
				}
			}
		}
	}()
}

// unfence ends f (if it is still p's fence): p's lanes may send one period
// after at.
func (ps *partitions) unfence(p int, f *fence, at time.Time) {
	ps.fences.mu.Lock()
	if ps.fences.m[p] != f {
		ps.fences.mu.Unlock()
		return
	}
	delete(ps.fences.m, p)
	ps.fences.mu.Unlock()
	f.cancel()
	// The timing rule still holds as a floor: before the first assignment
	// the old owner is a guess (the rendezvous owner among the others),
	// wrong when several pods join at once.
	if floor := f.gainAt.Add(ps.settle + handoverMargin); at.Before(floor) {
		at = floor
	}
	ps.e.handover.set(p, at)
	ps.e.sched.refence(p)
}

// dropFence forgets p's fence (p was lost again).
func (ps *partitions) dropFence(p int) {
	ps.fences.mu.Lock()
	f := ps.fences.m[p]
	delete(ps.fences.m, p)
	ps.fences.mu.Unlock()
	if f != nil {
		f.cancel()
	}
}

// recordNotOwned records, at this pod's first assignment, that it holds
// nothing of the partitions it does not own.
func (ps *partitions) recordNotOwned(ctx context.Context, owned []int) {
	now := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, p := range ps.e.allPartitions() {
		if _, ok := slices.BinarySearch(owned, p); ok {
			continue
		}
		if err := ps.e.lanes.notHolding(ctx, p, now, ps.e.cfg.Pod); err != nil {
			ps.e.log.Warn().Err(err).Int("partition", p).Msg("could not record holding nothing of a partition; its owner may wait for its fence bound")
			return
		}
	}
}

// membersChanged ends the fences whose old owner left: it is dead or gone,
// and sends nothing from now on.
func (ps *partitions) membersChanged(members []string) {
	ps.fences.mu.Lock()
	var gone map[int]*fence
	for p, f := range ps.fences.m {
		if !slices.Contains(members, f.owner) {
			if gone == nil {
				gone = map[int]*fence{}
			}
			gone[p] = f
		}
	}
	ps.fences.mu.Unlock()
	now := time.Now()
	for p, f := range gone {
		ps.unfence(p, f, now)
	}
}
