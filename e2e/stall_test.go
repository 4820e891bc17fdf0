package e2e

import (
	"testing"
	"time"

	"github.com/linedispatch/linedispatch/internal/devstack"
	"github.com/linedispatch/linedispatch/internal/limiter"
	"github.com/linedispatch/linedispatch/internal/linesim"
)

// TestIngressStallStaysWithinTheLimit drains one bot at its limit through an
// ingress stall: every second, what reaches linesim in the first 600 ms is
// held and counted when the stall ends. (A low limit, so that the pod keeps
// pace under -race on a busy machine: the control depends on it.) The requests that leave during a
// stall are counted together, and with the next second's sends that is over
// the limit although no second of departures was (the control, with late
// answers ignored, shows it). Their late answers move them in the lane's
// window log to when linesim counted them, so the pod holds back instead.
func TestIngressStallStaysWithinTheLimit(t *testing.T) {
	t.Parallel()
	const (
		limit = 50 // per second, played by linesim and the pod alike
		n     = 250
	)
	for _, tt := range []struct {
		lateAnswers string
		wantOver    bool
	}{
		{limiter.LateAnswersRestamp, false},
		{limiter.LateAnswersIgnore, true},
	} {
		t.Run(tt.lateAnswers, func(t *testing.T) {
			t.Parallel()
			b := setup(t, linesim.Config{
				Limits: map[string]linesim.Limit{"push": {Count: limit, Period: time.Second}},
				Faults: map[string]linesim.Faults{"push": {StallEvery: time.Second, StallFor: 600 * time.Millisecond}},
			}, func(o *devstack.Options) {
				o.Limits = map[string]string{"push": "50/1s"}
				o.Dispatch.Limiter.LateAnswers = tt.lateAnswers
			})
			bot := b.stack.Bots[0]
			b.publish(t, b.pushesFor(t, n, bot))
			outs := b.outcomes(t, n)
			rep := b.report(t)
			over := rep.Totals.Violations + rep.Totals.Throttled
			if !tt.wantOver {
				assertExactlyOnce(t, n, outs, rep)
				return
			}
			if over == 0 {
				t.Fatalf("control: linesim counted no request over the limit with late answers ignored; the stall does not compress arrivals")
			}
			t.Logf("control: %d window violations, %d 429s", rep.Totals.Violations, rep.Totals.Throttled)
		})
	}
}
