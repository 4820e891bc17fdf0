package e2e

import (
	"testing"

	"github.com/linedispatch/linedispatch/internal/deadletter"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// TestRedriveSendsADeadLetterOnce: LINE refuses pushes for a detached bot;
// after the bot is attached again, redriving the dead letter sends it, with a
// second outcome of its own, and the dead letter is gone.
func TestRedriveSendsADeadLetterOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, linesim.Config{})
	bot := b.stack.Bots[2]
	if err := b.stack.SimAPI.Detach(b.ctx, b.stack.Channel, bot); err != nil {
		t.Fatal(err)
	}
	ins := b.pushesFor(t, 1, bot)
	b.publish(t, ins)
	dead := b.deadLetters(t, 1)
	if dead[0].outcome.Reason != outcome.ReasonRejected {
		t.Fatalf("reason = %q, want %q", dead[0].outcome.Reason, outcome.ReasonRejected)
	}

	if err := b.stack.SimAPI.Attach(b.ctx, b.stack.Channel, bot); err != nil {
		t.Fatal(err)
	}
	letters, err := deadletter.List(b.ctx, b.js, deadletter.Filter{Bot: bot}, 0)
	if err != nil || len(letters) != 1 {
		t.Fatalf("List = %d letters, %v", len(letters), err)
	}
	if err := deadletter.Redrive(b.ctx, b.js, letters[0], deadletter.RedriveOptions{}); err != nil {
		t.Fatal(err)
	}
	outs := b.outcomes(t, 2)
	if outs[1].IntentID != ins[0].ID || outs[1].Result != outcome.Sent {
		t.Errorf("second outcome = %+v, want intent %s sent", outs[1], ins[0].ID)
	}
	if rep := b.report(t); rep.Totals.Accepted != 1 || rep.DuplicateDeliveries != 0 {
		t.Errorf("linesim accepted %d (duplicates %d), want 1 (0)", rep.Totals.Accepted, rep.DuplicateDeliveries)
	}
	s, err := b.js.Stream(b.ctx, queue.DeadStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 0 {
		t.Errorf("LINE_DEAD holds %d letters after the redrive, want 0", n)
	}
}
