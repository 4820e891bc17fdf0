package e2e

import (
	"testing"
	"time"

	"github.com/linedispatch/linedispatch/internal/devstack"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// TestHotLaneSpillsAndDoesNotBlockItsPartition puts a hot bot and a quiet bot
// in one partition. The hot bot's backlog far exceeds its lane and the pod's
// budget; it must spill to LINE_BACKLOG so the quiet bot's intents, published
// after the backlog, are sent long before the backlog drains — and every
// intent is still delivered exactly once, within the limit.
func TestHotLaneSpillsAndDoesNotBlockItsPartition(t *testing.T) {
	t.Parallel()
	const limit = 100 // per second, played by linesim and the pod alike
	b := setup(t, linesim.Config{Limits: map[string]linesim.Limit{"push": {Count: limit, Period: time.Second}}},
		func(o *devstack.Options) {
			o.Partitions = 1
			o.Limits = map[string]string{"push": "100/1s"}
			o.Dispatch.LaneCapacity = 20
			o.Dispatch.MaxHeld = 60
		})
	hot, quiet := b.stack.Bots[0], b.stack.Bots[1]
	const backlog = 300 // three seconds at the limit
	b.publish(t, b.pushesFor(t, backlog, hot))
	quietIntents := b.pushesFor(t, 5, quiet)
	b.publish(t, quietIntents)

	outs := b.outcomes(t, backlog+5)
	rep := b.report(t)
	assertExactlyOnce(t, backlog+5, outs, rep)

	// Absolute latency is the scenario runner's to measure (this test runs
	// under -race beside others); here the quiet bot must simply not wait for
	// the backlog: it finishes in the first half of the hot bot's drain.
	var firstHot, lastHot, lastQuiet time.Time
	for _, o := range outs {
		if o.Result != outcome.Sent {
			continue
		}
		switch o.Bot {
		case hot:
			if firstHot.IsZero() || o.At.Before(firstHot) {
				firstHot = o.At
			}
			lastHot = maxTime(lastHot, o.At)
		case quiet:
			lastQuiet = maxTime(lastQuiet, o.At)
		}
	}
	if half := firstHot.Add(lastHot.Sub(firstHot) / 2); !lastQuiet.Before(half) {
		t.Errorf("quiet bot finished %s after the hot bot's first send, its drain took %s: the quiet bot waited behind it",
			lastQuiet.Sub(firstHot), lastHot.Sub(firstHot))
	}
	s, err := b.js.Stream(b.ctx, queue.BacklogStream)
	if err != nil {
		t.Fatal(err)
	}
	if st := s.CachedInfo().State; st.LastSeq == 0 {
		t.Error("nothing was spilled to LINE_BACKLOG")
	} else if st.Msgs != 0 {
		t.Errorf("LINE_BACKLOG still holds %d intents after the drain", st.Msgs)
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
