package stats_test

import (
	"testing"
	"time"

	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/stats"
)

func TestProjectionCountsMixedOutcomes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.publishAll(mix(0, 500, nov))
	p := f.start("pod-1", f.conn.JS)
	f.caughtUp(p)
	f.check()

	// Spot-check one figure by hand, independent of the model.
	d, err := f.store.Get(f.ctx, channel, botA, "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, c := range d.Units {
		sum += c.Requests
	}
	if sum != 250 || d.Totals.Requests != 250 {
		t.Errorf("bot A requests: units sum to %d, totals %d; want 250 (every other of 500)", sum, d.Totals.Requests)
	}
}

func TestSameIntentTwiceIsCountedOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	os := mix(0, 20, nov)
	f.publishAll(os)
	// A pod that crashed between publishing an outcome and acking its intent
	// publishes the outcome again (same intent ID): the stream drops it.
	for _, o := range os[:5] {
		if !f.publish(o) {
			t.Fatalf("outcome %s published twice was stored twice", o.IntentID)
		}
	}
	p := f.start("pod-1", f.conn.JS)
	f.caughtUp(p)
	f.check()
}

func TestProjectorRestartMidStreamIsExact(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.publishAll(mix(0, 3000, nov))
	p := f.start("pod-1", f.conn.JS)
	// Stop as soon as some, but likely not all, outcomes are folded.
	deadline := time.Now().Add(30 * time.Second)
	for {
		lag, err := p.Lag(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if lag < 3000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("projector made no progress")
		}
	}
	p.Stop()
	f.publishAll(mix(3000, 500, nov))
	p2 := f.start("pod-1-restarted", f.js())
	f.caughtUp(p2)
	f.check()
}

func TestTwoProjectorsAreExactAndOneLeads(t *testing.T) {
	t.Parallel()
	f := setup(t)
	p1 := f.start("pod-1", f.js())
	p2 := f.start("pod-2", f.js())
	for i := 0; i < 1000; i += 250 {
		f.publishAll(mix(i, 250, nov))
	}
	f.caughtUp(p1)
	f.check()
	if p1.Leader() && p2.Leader() {
		t.Error("both projectors lead")
	}

	// The leader goes away; the other takes over and folds what follows.
	leader, standby := p1, p2
	if p2.Leader() {
		leader, standby = p2, p1
	}
	leader.Stop()
	f.publishAll(mix(1000, 300, nov))
	f.caughtUp(standby)
	f.check()
	if !standby.Leader() {
		t.Error("the standby projector did not take over")
	}
}

func TestMonthRolloverAtMidnightTokyo(t *testing.T) {
	t.Parallel()
	f := setup(t)
	before := time.Date(2026, 10, 31, 14, 59, 59, 999_000_000, time.UTC) // 23:59:59.999 Tokyo
	after := time.Date(2026, 10, 31, 15, 0, 0, 0, time.UTC)              // 00:00 Tokyo
	for i, at := range []time.Time{before, after, after} {
		f.publish(outcome.Outcome{IntentID: intentID(i), Channel: channel, Bot: botA, Endpoint: "push",
			Result: outcome.Sent, Unit: "promo", Recipients: 1, At: at})
	}
	p := f.start("pod-1", f.conn.JS)
	f.caughtUp(p)
	f.check()
	for month, want := range map[string]int64{"2026-10": 1, "2026-11": 2} {
		u, err := f.store.Unit(f.ctx, channel, botA, month, "promo")
		if err != nil {
			t.Fatalf("%s: %v", month, err)
		}
		if u.Sent != want {
			t.Errorf("%s: sent %d, want %d", month, u.Sent, want)
		}
	}
}

func TestUnattributableOutcomesAreSkipped(t *testing.T) {
	t.Parallel()
	f := setup(t)
	// Dead letters of broken intents may lack a valid channel or bot.
	bad := outcome.Outcome{IntentID: intentID(900), Channel: "not-a-channel", Bot: "x", Endpoint: "push",
		Result: outcome.Dead, Reason: outcome.ReasonInvalidIntent, At: nov}
	b, _ := jsonMarshal(bad)
	if _, err := f.conn.JS.Publish(f.ctx, bad.Subject(), b); err != nil {
		t.Fatal(err)
	}
	if _, err := f.conn.JS.Publish(f.ctx, "line.outcomes.1.2.push.sent", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	invalidUnit := outcome.Outcome{IntentID: intentID(901), Channel: channel, Bot: botA, Endpoint: "push",
		Result: outcome.Dead, Reason: outcome.ReasonInvalidIntent, Unit: "no spaces allowed", At: nov}
	f.publishAll(mix(0, 10, nov))
	b, _ = jsonMarshal(invalidUnit)
	if _, err := f.conn.JS.Publish(f.ctx, invalidUnit.Subject(), b); err != nil {
		t.Fatal(err)
	}
	p := f.start("pod-1", f.conn.JS)
	f.caughtUp(p) // the checkpoint passes the skipped messages too
	u, err := f.store.Unit(f.ctx, channel, botA, "2026-11", stats.InvalidUnit)
	if err != nil {
		t.Fatal(err)
	}
	if u.Requests != 1 || u.Failed[outcome.ReasonInvalidIntent] != 1 {
		t.Errorf("invalid unit bucket = %+v", u.Counts)
	}
}
