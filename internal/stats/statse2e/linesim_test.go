package statse2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/devstack"
	"github.com/linedispatch/linedispatch/internal/dispatch"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
	"github.com/linedispatch/linedispatch/internal/sender"
	"github.com/linedispatch/linedispatch/internal/stats"
	"github.com/linedispatch/linedispatch/internal/unit"
)

var nopLog = zerolog.Nop()

// TestCountsMatchLinesim runs the real pipeline — intents, a dispatcher pod,
// linesim — with accepted-then-500 faults (retries answered 409) and a pod
// restart mid-run, projects the outcomes, and checks the statistics against
// what linesim counted per unit, then reconciles with linesim's read-back
// endpoints. Bot 0 gets more names than the cap (5, policy strip): linesim
// must never have dropped a name.
func TestCountsMatchLinesim(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nc := queuetest.Start(t, queuetest.Partitions(4)) // outlives the pod restart
	fault := linesim.Faults{AcceptThenFailRatio: 0.1}
	s, err := devstack.Start(ctx, devstack.Options{
		NATSURL: nc.URL(), Partitions: 4, Bots: 2,
		Sim:      linesim.Config{Faults: map[string]linesim.Faults{"push": fault, "multicast": fault}},
		Dispatch: dispatch.Config{AckWait: 2 * time.Second, Retry: sender.RetryConfig{InitialInterval: 10 * time.Millisecond, MaxInterval: 100 * time.Millisecond}},
		Units:    unit.Config{Cap: 5, Policy: unit.PolicyStrip},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	p, err := stats.StartProjector(ctx, nc.JS, stats.ProjectorConfig{Linger: 5 * time.Millisecond}, nopLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)

	const n = 400
	batch := func(from, to int) []*intent.Intent {
		var ins []*intent.Intent
		for i := from; i < to; i++ {
			b := i % 2
			names := []int{7, 3}[b] // bot 0 exceeds the cap of 5
			ep, body := intent.Push, map[string]any{"to": fmt.Sprintf("U%032x", 0x7000+i)}
			if i%3 == 0 {
				var to []string
				for r := range i%4 + 2 {
					to = append(to, fmt.Sprintf("U%032x", 0x9000+i*10+r))
				}
				ep, body = intent.Multicast, map[string]any{"to": to}
			}
			body["messages"] = []any{map[string]any{"type": "text", "text": fmt.Sprintf("%s #%d", t.Name(), i)}}
			in, err := intent.New(s.Channel, s.Bots[b], ep, body)
			if err != nil {
				t.Fatal(err)
			}
			if i%5 != 4 { // some sends without a unit
				in.Unit = fmt.Sprintf("campaign_%d", i%names)
			}
			ins = append(ins, in)
		}
		return ins
	}
	if _, err := intent.PublishBatch(ctx, nc.JS, batch(0, n/2)); err != nil {
		t.Fatal(err)
	}
	// Restart the pod while the first half is in flight: once some
	// outcomes are recorded, not all.
	for {
		done, err := devstack.CountOutcomes(ctx, nc.JS)
		if err != nil {
			t.Fatal(err)
		}
		if done >= n/8 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no outcomes before the restart")
		}
	}
	if err := s.StopPod(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if err := s.StartPod(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := intent.PublishBatch(ctx, nc.JS, batch(n/2, n)); err != nil {
		t.Fatal(err)
	}
	if err := devstack.WaitOutcomes(ctx, nc.JS, n); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}

	rep, err := s.SimAPI.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.DuplicateDeliveries != 0 {
		t.Fatalf("linesim saw %d duplicate deliveries", rep.DuplicateDeliveries)
	}
	store := stats.NewStore(nc.JS, "")
	var requests, stripped int64
	for _, uc := range rep.UnitCounts {
		if uc.Dropped != 0 {
			t.Errorf("linesim silently dropped %d names of bot %s: the cap let them through", uc.Dropped, uc.Bot)
		}
		d, err := store.Get(ctx, uc.Channel, uc.Bot, uc.Month)
		if err != nil {
			t.Fatalf("%s %s: %v", uc.Bot, uc.Month, err)
		}
		named := 0
		for name, c := range d.Units {
			if name != stats.NoUnit && c.Attached > 0 {
				named++
			}
		}
		if named != uc.Distinct {
			t.Errorf("bot %s: %d names attached by us, %d counted by linesim", uc.Bot, named, uc.Distinct)
		}
		for _, u := range uc.Units {
			c := d.Units[u.Name]
			if c == nil || c.Attached != u.Requests || c.AttachedRecipients != u.Recipients {
				t.Errorf("bot %s unit %s: ours %+v, linesim %d requests %d recipients", uc.Bot, u.Name, c, u.Requests, u.Recipients)
			}
		}
		requests += d.Totals.Requests
		stripped += d.Totals.Stripped
		if d.Totals.Sent != d.Totals.Requests || d.Totals.FailedTotal != 0 {
			t.Errorf("bot %s: %d sent of %d requests, failed %v", uc.Bot, d.Totals.Sent, d.Totals.Requests, d.Totals.Failed)
		}
	}
	if requests != n || stripped == 0 {
		t.Errorf("counted %d requests (want %d), %d stripped (want some)", requests, n, stripped)
	}

	// Reconcile against linesim's aggregation/info and aggregation/list.
	reg, err := unit.NewRegistry(ctx, nc.JS, unit.Config{}, nopLog)
	if err != nil {
		t.Fatal(err)
	}
	line := stats.NewLineClient(s.Sim.URL(), linesim.DefaultBotHeader, func(context.Context) (string, error) { return devstack.DefaultToken, nil })
	for b, want := range []int{5, 3} {
		rr, err := stats.Reconcile(ctx, line, reg, store, stats.ReconcileOptions{Channel: s.Channel, Bot: s.Bots[b]})
		if err != nil {
			t.Fatal(err)
		}
		if rr.LineCount != int64(want) || len(rr.OurNames) != want || len(rr.OnlyLine)+len(rr.OnlyOurs) != 0 {
			t.Errorf("bot %d reconcile: %+v, want %d names on both sides", b, rr, want)
		}
	}
}
