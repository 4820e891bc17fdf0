package e2e

import (
	"testing"

	"github.com/linedispatch/linedispatch/internal/devstack"
	"github.com/linedispatch/linedispatch/internal/dispatch"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// TestDeletedPartitionConsumersAreCreatedAgain deletes every partition
// consumer under a running pod (as a restart of a standalone server does to
// consumers that keep their state in memory): the pod creates them again,
// and the intents published before and after are each delivered once.
func TestDeletedPartitionConsumersAreCreatedAgain(t *testing.T) {
	t.Parallel()
	const partitions = 4
	b := setup(t, linesim.Config{}, func(o *devstack.Options) { o.Partitions = partitions })
	before := b.pushes(t, 40)
	b.publish(t, before)
	b.outcomes(t, len(before))

	for p := 0; p < partitions; p++ {
		if err := b.js.DeleteConsumer(b.ctx, queue.IntentsStream, dispatch.ConsumerName(p)); err != nil {
			t.Fatal(err)
		}
	}
	after := b.pushes(t, 80)[40:]
	b.publish(t, after)

	outs := b.outcomes(t, len(before)+len(after))
	assertExactlyOnce(t, len(before)+len(after), outs, b.report(t))
	for p := 0; p < partitions; p++ {
		c, err := b.js.Consumer(b.ctx, queue.IntentsStream, dispatch.ConsumerName(p))
		if err != nil {
			t.Fatalf("partition %d: %v", p, err)
		}
		if !c.CachedInfo().Config.MemoryStorage {
			t.Errorf("partition %d's consumer keeps its state on file, want memory (the default)", p)
		}
	}
}
