package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/devstack"
	"github.com/linedispatch/linedispatch/internal/dispatch"
	"github.com/linedispatch/linedispatch/internal/limiter"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/sender"
)

// bundle is what a test needs: the running stack and its JetStream.
type bundle struct {
	stack *devstack.Stack
	js    jetstream.JetStream
	ctx   context.Context
}

// setup starts a stack (embedded JetStream in t.TempDir(), linesim, one pod)
// with fast retries, and stops it when the test ends.
func setup(t *testing.T, sim linesim.Config, opts ...func(*devstack.Options)) *bundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	o := devstack.Options{
		DataDir: t.TempDir(),
		Bots:    4,
		Sim:     sim,
		Dispatch: dispatch.Config{
			Retry: sender.RetryConfig{InitialInterval: 20 * time.Millisecond, MaxInterval: 200 * time.Millisecond},
			// These tests run under -race beside others on two cores, where
			// request delays vary far more than in production: a wide guard
			// keeps their window checks about exactly-once and spilling, not
			// about the scheduler's punctuality (the scenario runner measures
			// that with the defaults).
			Limiter: limiter.Config{Guard: 100 * time.Millisecond},
		},
	}
	for _, opt := range opts {
		opt(&o)
	}
	s, err := devstack.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &bundle{stack: s, js: s.Pod.Conn().JS, ctx: ctx}
}

// eventually polls cond for up to a minute; cond reports whether it holds
// and what it saw, which the failure quotes.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, saw)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for a result
	}
}

// pushes builds n valid push intents spread over the stack's bots, each to a
// distinct recipient with a distinct text, so linesim's duplicate detection
// is exact.
func (b *bundle) pushes(t *testing.T, n int) []*intent.Intent {
	t.Helper()
	return b.pushesFor(t, n, b.stack.Bots...)
}

// pushesFor builds n push intents spread over bots.
func (b *bundle) pushesFor(t *testing.T, n int, bots ...string) []*intent.Intent {
	t.Helper()
	ins := make([]*intent.Intent, n)
	for i := range ins {
		bot := bots[i%len(bots)]
		body := map[string]any{
			"to":       fmt.Sprintf("U%032x", 0x5000+i),
			"messages": []any{map[string]any{"type": "text", "text": fmt.Sprintf("%s %s #%d", t.Name(), bot, i)}},
		}
		in, err := intent.New(b.stack.Channel, bot, intent.Push, body)
		if err != nil {
			t.Fatal(err)
		}
		ins[i] = in
	}
	return ins
}

func (b *bundle) publish(t *testing.T, ins []*intent.Intent) {
	t.Helper()
	if _, err := intent.PublishBatch(b.ctx, b.js, ins); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// outcomes waits for n outcomes and returns them all.
func (b *bundle) outcomes(t *testing.T, n int) []outcome.Outcome {
	t.Helper()
	if err := devstack.WaitOutcomes(b.ctx, b.js, n); err != nil {
		t.Fatal(err)
	}
	outs, err := devstack.ReadOutcomes(b.ctx, b.js)
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

func (b *bundle) report(t *testing.T) *linesim.Report {
	t.Helper()
	rep, err := b.stack.SimAPI.Report(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// assertExactlyOnce checks promises 1 and 2 for n sent intents.
func assertExactlyOnce(t *testing.T, n int, outs []outcome.Outcome, rep *linesim.Report) devstack.Summary {
	t.Helper()
	s := devstack.Summarize(outs)
	if s.Outcomes != n || s.UniqueIntents != n {
		t.Errorf("outcomes = %d for %d distinct intents, want %d each", s.Outcomes, s.UniqueIntents, n)
	}
	if s.Sent != n {
		t.Errorf("sent = %d, want %d (dead: %v)", s.Sent, n, s.Dead)
	}
	if rep.Totals.Accepted != int64(n) {
		t.Errorf("linesim accepted %d deliveries, want %d", rep.Totals.Accepted, n)
	}
	if rep.DuplicateDeliveries != 0 {
		t.Errorf("linesim saw %d duplicate deliveries, want 0: %+v", rep.DuplicateDeliveries, rep.Duplicates)
	}
	if rep.Totals.Violations != 0 || rep.Totals.Throttled != 0 {
		t.Errorf("window violations %d, 429s %d, want 0 each", rep.Totals.Violations, rep.Totals.Throttled)
	}
	if rep.Totals.ContractViolations != 0 {
		t.Errorf("contract violations %d: %+v", rep.Totals.ContractViolations, rep.ContractViolations)
	}
	return s
}
