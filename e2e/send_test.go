package e2e

import (
	"testing"

	"github.com/linedispatch/linedispatch/internal/linesim"
)

func TestEveryIntentIsSentExactlyOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, linesim.Config{})
	const n = 400
	b.publish(t, b.pushes(t, n))
	s := assertExactlyOnce(t, n, b.outcomes(t, n), b.report(t))
	if s.SentVia409 != 0 {
		t.Errorf("%d sent via 409 without any fault", s.SentVia409)
	}
}

func TestAcceptThenFailDeliversOnce(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"500", "drop"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			b := setup(t, linesim.Config{Faults: map[string]linesim.Faults{
				"push": {AcceptThenFailRatio: 0.2, AcceptThenFailMode: mode},
			}})
			const n = 300
			b.publish(t, b.pushes(t, n))
			outs := b.outcomes(t, n)
			rep := b.report(t)
			s := assertExactlyOnce(t, n, outs, rep)
			if rep.Totals.AcceptedThenFailed == 0 {
				t.Fatal("linesim injected no accept-then-fail fault")
			}
			// Every accepted-then-failed request was retried under its key and
			// answered 409 (unless a retry itself failed again before that).
			if s.SentVia409 == 0 || int64(s.SentVia409) > rep.Totals.AcceptedThenFailed {
				t.Errorf("sent via 409 = %d, accepted-then-failed = %d", s.SentVia409, rep.Totals.AcceptedThenFailed)
			}
			for _, o := range outs {
				if o.Conflict && (o.Attempts < 2 || o.AcceptedRequestID == "") {
					t.Errorf("intent %s sent via 409 after %d attempts, accepted request id %q", o.IntentID, o.Attempts, o.AcceptedRequestID)
				}
			}
		})
	}
}
