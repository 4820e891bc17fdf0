package ownership

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
)

// The hand-over that docs/ownership.md prescribes, checked against the real
// server: a partition consumer in a pinned priority group serves one puller;
// another puller's fetches stay empty until the old owner naks what it holds
// and unpins (Stream.UnpinConsumer); then the new owner gets everything,
// including what the old owner handed back, and the old owner is refused
// (ErrPinIDMismatch). The names mirror internal/dispatch ("intents-p<p>",
// group "dispatch").
func TestPinnedHandOver(t *testing.T) {
	c := queuetest.Start(t)
	ctx := context.Background()
	const consumer, group = "intents-p0", "dispatch"
	cfg := jetstream.ConsumerConfig{
		Durable:        consumer,
		FilterSubject:  queue.PartitionFilter(0),
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        30 * time.Second,
		MaxDeliver:     -1,
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{group},
		PinnedTTL:      30 * time.Second,
	}
	oldOwner, err := c.JS.CreateOrUpdateConsumer(ctx, queue.IntentsStream, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Each pod has its own handle (its own pin id) on the same durable.
	newOwner, err := c.JS.Consumer(ctx, queue.IntentsStream, consumer)
	if err != nil {
		t.Fatal(err)
	}
	// Publish intents for bots until 4 land in partition 0 (of 4).
	var inP0 int
	for i := 0; inP0 < 4; i++ {
		pa, err := c.JS.Publish(ctx, fmt.Sprintf("line.intents.ch.bot%d.push", i), []byte("{}"))
		if err != nil {
			t.Fatal(err)
		}
		if m, err := c.JS.Stream(ctx, queue.IntentsStream); err == nil {
			if msg, err := m.GetMsg(ctx, pa.Sequence); err == nil && strings.HasPrefix(msg.Subject, "line.q.0.") {
				inP0++
			}
		}
	}
	fetch := func(cons jetstream.Consumer, n int) ([]jetstream.Msg, error) {
		fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		batch, err := cons.Fetch(n, jetstream.FetchPriorityGroup(group), jetstream.FetchContext(fctx))
		if err != nil {
			return nil, err
		}
		var out []jetstream.Msg
		for m := range batch.Messages() {
			out = append(out, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return out, err
		}
		return out, nil
	}

	held, err := fetch(oldOwner, 2)
	if err != nil || len(held) != 2 {
		t.Fatalf("old owner's fetch: %d msgs, %v", len(held), err)
	}
	if got, err := fetch(newOwner, 10); len(got) != 0 {
		t.Fatalf("new owner got %d msgs (%v) while the old one is pinned", len(got), err)
	}

	// The old owner lost the partition: hand back what it holds, then unpin.
	for _, m := range held {
		if err := m.Nak(); err != nil {
			t.Fatal(err)
		}
	}
	s, err := c.JS.Stream(ctx, queue.IntentsStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UnpinConsumer(ctx, consumer, group); err != nil {
		t.Fatalf("unpin: %v", err)
	}
	got, err := fetch(newOwner, 10)
	if err != nil || len(got) != 4 {
		t.Fatalf("new owner after unpin: %d msgs, %v; want all 4", len(got), err)
	}
	t.Logf("after nak + unpin the new owner pulled all %d intents (2 handed back)", len(got))
	redelivered := 0
	for _, m := range got {
		if md, _ := m.Metadata(); md != nil && md.NumDelivered > 1 {
			redelivered++
		}
		_ = m.Ack()
	}
	if redelivered != 2 {
		t.Errorf("%d redelivered, want the 2 handed back", redelivered)
	}
	if _, err := fetch(oldOwner, 1); !errors.Is(err, jetstream.ErrPinIDMismatch) {
		t.Errorf("old owner's next fetch: %v, want ErrPinIDMismatch", err)
	}
}
