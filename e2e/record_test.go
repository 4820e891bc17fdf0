package e2e

import (
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/internal/devstack"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// TestSendingGoesOnWhileOutcomesWait: LINE_OUTCOMES refuses every write for
// a while (full, with DiscardNew: JetStream answers each publish with an
// error, as it does while the stream has no leader). The pod has four
// senders and forty intents. Sending must not wait for recording: all forty
// reach LINE while nothing can be recorded, and none of them is acked
// before its outcome is stored. Once the stream takes writes again, every
// outcome is recorded exactly once and every intent leaves the queue.
func TestSendingGoesOnWhileOutcomesWait(t *testing.T) {
	t.Parallel()
	const n = 40
	b := setup(t, linesim.Config{}, func(o *devstack.Options) { o.Dispatch.Senders = 4 })
	ins := b.pushes(t, n+1)
	b.publish(t, ins[:1])
	b.outcomes(t, 1)

	s, err := b.js.Stream(b.ctx, queue.OutcomesStream)
	if err != nil {
		t.Fatal(err)
	}
	open := s.CachedInfo().Config
	full := open
	full.MaxMsgs, full.Discard = 1, jetstream.DiscardNew
	if _, err := b.js.UpdateStream(b.ctx, full); err != nil {
		t.Fatalf("make LINE_OUTCOMES refuse writes: %v", err)
	}

	b.publish(t, ins[1:])
	eventually(t, "every request to reach linesim while outcomes cannot be recorded (else sending waits for recording)", func() (bool, string) {
		rep := b.report(t)
		return rep.Totals.Accepted == n+1, fmt.Sprintf("linesim accepted %d of %d", rep.Totals.Accepted, n+1)
	})
	if got, err := devstack.CountOutcomes(b.ctx, b.js); err != nil || got != 1 {
		t.Fatalf("outcomes stored while the stream refused writes = %d (%v), want 1", got, err)
	}
	if left := b.intentsLeft(t); left != n {
		t.Fatalf("LINE_INTENTS holds %d intents, want all %d: an intent was acked before its outcome was stored", left, n)
	}

	if _, err := b.js.UpdateStream(b.ctx, open); err != nil {
		t.Fatalf("let LINE_OUTCOMES take writes again: %v", err)
	}
	outs := b.outcomes(t, n+1)
	assertExactlyOnce(t, n+1, outs, b.report(t))
	eventually(t, "LINE_INTENTS to be empty once the outcomes are stored", func() (bool, string) {
		left := b.intentsLeft(t)
		return left == 0, fmt.Sprintf("%d intents left", left)
	})
}

// intentsLeft is the number of intents LINE_INTENTS holds.
func (b *bundle) intentsLeft(t *testing.T) uint64 {
	t.Helper()
	s, err := b.js.Stream(b.ctx, queue.IntentsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
