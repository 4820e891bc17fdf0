package scenario

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/devstack"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// Thresholds shared by the scenarios (DESIGN.md §1 and the issue).
const (
	// MinUtilisation is promise 3's drain rate: ≥ 98 % of the limit.
	MinUtilisation = 0.98
	// MinEfficiency is the aim for steady throughput / combined baseline.
	MinEfficiency = 0.6
	// MaxNeighbourP99 bounds the neighbour's publish-to-accept p99.
	MaxNeighbourP99 = 100 * time.Millisecond
	// MaxPodRSS bounds a pod's peak RSS under a million-intent backlog.
	MaxPodRSS = 300 << 20
	// MaxGapCV bounds the coefficient of variation of hour-scale gaps.
	MaxGapCV = 0.25
	// MinGapShare bounds the smallest hour-scale gap, as a share of the ideal.
	MinGapShare = 0.5
)

func init() {
	Register(Scenario{Name: "steady", Summary: "200 bots, none near its limit: throughput and efficiency against the physical baseline",
		ShortTimeout: 4 * time.Minute, LongTimeout: 20 * time.Minute, Run: runSteady})
	Register(Scenario{Name: "backlog", Summary: "one bot: a push backlog at 2,000/s plus multicast at 200/s, drained at the limit without a 429",
		ShortTimeout: 3 * time.Minute, LongTimeout: 10 * time.Minute, Run: runBacklog})
	Register(Scenario{Name: "hourly", Summary: "narrowcast on a scaled hour: 60 per window, evenly spaced, no violation",
		ShortTimeout: 3 * time.Minute, LongTimeout: 10 * time.Minute, Run: runHourly})
	Register(Scenario{Name: "neighbour", Summary: "bot A drains a backlog at its limit while bot B (same partition) sends every 50 ms: B's p99 < 100 ms",
		ShortTimeout: 3 * time.Minute, LongTimeout: 15 * time.Minute, Run: runNeighbour})
	Register(Scenario{Name: "bigbacklog", Summary: "one bot, a million intents: pod RSS < 300 MB, nothing lost, nothing twice",
		ShortTimeout: 5 * time.Minute, LongTimeout: 60 * time.Minute, Run: runBigBacklog})
	registerMultiPod()
}

// stallFor is how long a run may go without a new outcome before it fails.
const stallFor = 60 * time.Second

// runSteady: many bots below their limits, a backlog spread evenly over
// them, drained as fast as the pods go. Throughput over the steady part of
// the drain divided by the combined physical baseline (measured before the
// pods start and again after they stop) is the efficiency.
func runSteady(ctx context.Context, h *Harness) error {
	bots := 200
	n := pick(h, 200_000, 20_000)
	h.Param("bots", bots)
	h.Param("intents", n)
	h.Param("endpoint", "push")
	if err := h.Begin(ctx, Stack{Bots: bots}); err != nil {
		return err
	}
	if err := h.MaybeBaseline(ctx, true); err != nil {
		return err
	}
	st, err := h.Publish(ctx, n, func(i int) (*intent.Intent, error) { return h.Gen.Push(h.Bots[i%bots], "steady") })
	h.Report.Publish = &st
	if err != nil {
		return err
	}
	h.Logf("published %d intents for %d bots at %.0f/s", n, bots, st.PerSec)
	if err := h.StartPods(ctx, h.Opts.Pods); err != nil {
		return err
	}
	c, err := h.Drain(ctx, n, stallFor)
	if c == nil {
		return err
	}
	h.CheckDelivery()
	h.CheckLimits()
	if err != nil {
		return err
	}
	if err := h.MeasureBaselineAgain(ctx); err != nil {
		return err
	}
	if b := h.Report.Baseline; b != nil && b.CombinedPerSec > 0 {
		eff := round4(h.Report.Throughput.Steady / b.CombinedPerSec)
		h.Report.Efficiency = &eff
		h.Report.Check("efficiency (steady throughput / combined baseline)", eff, ">=", MinEfficiency, "")
	}
	return err
}

// runBacklog: one bot, a push backlog at 2,000/s and multicasts at 200/s
// interleaved in the same stream (both lanes drain at once), published
// before the pods start.
func runBacklog(ctx context.Context, h *Harness) error {
	pushes := pick(h, 100_000, 20_000)
	multicasts := pick(h, 10_000, 2_000)
	const recipients = 2
	h.Param("pushes", pushes)
	h.Param("multicasts", multicasts)
	h.Param("multicastRecipients", recipients)
	h.Param("order", "interleaved (multicasts spread evenly among pushes)")
	if err := h.Begin(ctx, Stack{Bots: 1}); err != nil {
		return err
	}
	if err := h.MaybeBaseline(ctx, false); err != nil {
		return err
	}
	bot := h.Bots[0]
	h.NameKey(KeyID{bot, "push"}, "push", true)
	h.NameKey(KeyID{bot, "multicast"}, "multicast", true)
	total := pushes + multicasts
	st, err := h.Publish(ctx, total, func(i int) (*intent.Intent, error) {
		if (i+1)*multicasts/total > i*multicasts/total {
			return h.Gen.Multicast(bot, "backlog", recipients)
		}
		return h.Gen.Push(bot, "backlog")
	})
	h.Report.Publish = &st
	if err != nil {
		return err
	}
	h.Logf("published %d pushes and %d multicasts at %.0f/s", pushes, multicasts, st.PerSec)
	if err := h.StartPods(ctx, h.Opts.Pods); err != nil {
		return err
	}
	c, err := h.Drain(ctx, total, stallFor)
	if c == nil {
		return err
	}
	h.CheckDelivery()
	h.CheckLimits()
	h.CheckUtilisation("push", MinUtilisation)
	h.CheckUtilisation("multicast", MinUtilisation)
	return err
}

// runHourly: narrowcasts (60 per hour) on a scaled hour, set in linesim and
// in the pods alike, three windows' worth queued at once.
func runHourly(ctx context.Context, h *Harness) error {
	scale := pick(h, 0.01, 0.001)
	n := 180
	h.Param("narrowcasts", n)
	h.Param("limit", "60/1h")
	if err := h.Begin(ctx, Stack{Bots: 1, PeriodScale: scale}); err != nil {
		return err
	}
	if err := h.MaybeBaseline(ctx, false); err != nil {
		return err
	}
	bot := h.Bots[0]
	key := KeyID{bot, "narrowcast"}
	h.NameKey(key, "narrowcast", true)
	st, err := h.Publish(ctx, n, func(int) (*intent.Intent, error) { return h.Gen.Narrowcast(bot, "hourly") })
	h.Report.Publish = &st
	if err != nil {
		return err
	}
	if err := h.StartPods(ctx, h.Opts.Pods); err != nil {
		return err
	}
	period := time.Duration(float64(time.Hour) * scale)
	c, err := h.Drain(ctx, n, max(stallFor, 10*period/60))
	if c == nil {
		return err
	}
	h.CheckDelivery()
	h.CheckLimits()
	// Utilisation is reported (NameKey backlog) but not a check here: on a
	// scaled hour a scheduler's sub-millisecond lateness per send is a
	// thousand times larger against the gap than on a real hour.
	g := MeasureGaps(c.Accepts(key), 60, period)
	h.Report.Gaps = map[string]Gaps{"narrowcast": g}
	h.Report.Check("narrowcast gap coefficient of variation", g.CV, "<=", MaxGapCV, "")
	h.Report.Check("narrowcast smallest gap / ideal gap", round4(g.MinMs/g.IdealMs), ">=", MinGapShare, "")
	return err
}

// runNeighbour: bot A's backlog drains at its limit; bot B, chosen in the
// same partition as A (the worst case: one consumer serves both), publishes
// one push every 50 ms from the moment A's drain is under way until it is
// 90 % done. B's publish-to-accept p99 must stay under 100 ms.
func runNeighbour(ctx context.Context, h *Harness) error {
	aN := pick(h, 200_000, 20_000)
	const every = 50 * time.Millisecond
	botA := devstack.BotID(0)
	botB, err := samePartitionBot(botA, h.Opts.Partitions)
	if err != nil {
		return err
	}
	h.Param("backlogA", aN)
	h.Param("intervalB", every.String())
	h.Param("partition", partitionOf(botA, h.Opts.Partitions))
	h.Param("botA", botA)
	h.Param("botB", botB)
	if err := h.Begin(ctx, Stack{Bots: 1, ExtraBots: []string{botB}}); err != nil {
		return err
	}
	if err := h.MaybeBaseline(ctx, false); err != nil {
		return err
	}
	h.NameKey(KeyID{botA, "push"}, "A", true)
	h.NameKey(KeyID{botB, "push"}, "B", false)
	st, err := h.Publish(ctx, aN, func(int) (*intent.Intent, error) { return h.Gen.Push(botA, "A") })
	h.Report.Publish = &st
	if err != nil {
		return err
	}
	if err := h.confirmPartition(ctx, botA); err != nil {
		return err
	}
	if err := h.StartPods(ctx, h.Opts.Pods); err != nil {
		return err
	}
	passThrough := h.watchPassThrough(ctx, partitionOf(botA, h.Opts.Partitions))
	// B starts once A's drain is under way.
	if err := h.WaitOutcomes(ctx, aN/20, stallFor); err != nil {
		return err
	}
	bN, err := h.neighbourLoop(ctx, botB, every, aN*9/10, aN)
	h.Param("sentB", bN)
	if d, ok := passThrough(); ok {
		// Until the partition's backlog has passed through, B's intents
		// wait behind it.
		rate := float64(aN) / d.Seconds()
		h.Param("passThroughSeconds", round4(d.Seconds()))
		h.Param("passThroughPerSec", int(rate))
		if b := h.Report.Baseline; b != nil && b.ConsumeAckPerSec > 0 {
			h.Param("passThroughShareOfConsumeAck", round4(rate/b.ConsumeAckPerSec))
		}
	}
	var c *Collected
	if err == nil {
		c, err = h.Drain(ctx, aN+bN, stallFor)
	} else {
		c, _ = h.Drain(ctx, 0, stallFor)
	}
	if c == nil {
		return err
	}
	h.CheckDelivery()
	h.CheckLimits()
	h.CheckUtilisation("A", MinUtilisation)
	b := h.Report.Latency["B"]
	h.Report.Check("B samples", float64(b.Count), ">=", 50, "")
	h.Report.Check("B publish-to-accept p99", b.P99, "<", float64(MaxNeighbourP99.Milliseconds()), "ms")
	return err
}

// neighbourLoop publishes one push for bot every interval until the
// outcomes of the backlog reach until (or the drain stalls) and returns how
// many it published.
func (h *Harness) neighbourLoop(ctx context.Context, bot string, every time.Duration, until, backlog int) (int, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	sent := 0
	last, lastChange, lastLog := -1, time.Now(), time.Now()
	limit := time.Now().Add(time.Duration(float64(backlog)/2000*3*float64(time.Second)) + time.Minute)
	h.Logf("neighbour B starts sending every %s", every)
	for {
		select {
		case <-ctx.Done():
			return sent, ctx.Err()
		case <-t.C:
		}
		in, err := h.Gen.Push(bot, "B")
		if err != nil {
			return sent, err
		}
		if err := h.PublishOne(ctx, in); err != nil {
			return sent, fmt.Errorf("publish B: %w", err)
		}
		sent++
		if sent%4 != 0 {
			continue
		}
		n, err := h.Outcomes(ctx)
		if err != nil {
			continue
		}
		if n-sent >= until { // A's outcomes are at least n - sent
			h.Logf("neighbour B stops after %d intents (%d outcomes)", sent, n)
			return sent, nil
		}
		if n != last {
			last, lastChange = n, time.Now()
		}
		if time.Since(lastChange) > stallFor {
			return sent, fmt.Errorf("stalled at %d outcomes while B was sending", n)
		}
		if err := h.Pods.CheckAlive(); err != nil {
			return sent, err
		}
		if time.Now().After(limit) {
			return sent, fmt.Errorf("A's drain did not reach %d outcomes in time (%d)", until, n)
		}
		if time.Since(lastLog) > 5*time.Second {
			h.Logf("%d outcomes, B sent %d", n, sent)
			lastLog = time.Now()
		}
	}
}

// samePartitionBot returns the first devstack bot after a that hashes to a's
// partition.
func samePartitionBot(a string, partitions int) (string, error) {
	pa := partitionOf(a, partitions)
	for i := 1; i < 100_000; i++ {
		if b := devstack.BotID(i); b != a && partitionOf(b, partitions) == pa {
			return b, nil
		}
	}
	return "", errors.New("neighbour: no bot found in the same partition")
}

// confirmPartition checks that JetStream stored bot's intents in the
// partition partitionOf computes (the runner's model of the transform).
func (h *Harness) confirmPartition(ctx context.Context, bot string) error {
	s, err := h.JS.Stream(ctx, queue.IntentsStream)
	if err != nil {
		return err
	}
	want := fmt.Sprintf("%s.%d.%s.%s.push", queue.QueuePrefix, partitionOf(bot, h.Opts.Partitions), h.Channel, bot)
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(fmt.Sprintf("%s.*.%s.%s.>", queue.QueuePrefix, h.Channel, bot)))
	if err != nil {
		return err
	}
	for subj := range info.State.Subjects {
		if subj != want {
			return fmt.Errorf("neighbour: bot %s's intents are stored on %s, the runner computed %s", bot, subj, want)
		}
	}
	return nil
}

// runBigBacklog: a million intents for one bot, published before the pod
// starts; the pod's memory must stay bounded and nothing may be lost or
// sent twice.
func runBigBacklog(ctx context.Context, h *Harness) error {
	n := pick(h, 1_000_000, 50_000)
	h.Param("intents", n)
	if err := h.Begin(ctx, Stack{Bots: 1}); err != nil {
		return err
	}
	if err := h.MaybeBaseline(ctx, false); err != nil {
		return err
	}
	bot := h.Bots[0]
	h.NameKey(KeyID{bot, "push"}, "push", true)
	st, err := h.Publish(ctx, n, func(int) (*intent.Intent, error) { return h.Gen.Push(bot, "big") })
	h.Report.Publish = &st
	if err != nil {
		return err
	}
	h.Logf("published %d intents at %.0f/s", n, st.PerSec)
	if err := h.StartPods(ctx, h.Opts.Pods); err != nil {
		return err
	}
	c, err := h.Drain(ctx, n, stallFor)
	if c == nil {
		return err
	}
	h.CheckDelivery()
	h.CheckLimits()
	h.CheckUtilisation("push", MinUtilisation)
	var peak int64
	for _, p := range h.Report.Pods {
		peak = max(peak, p.PeakRSSBytes)
	}
	h.Report.Check("pod peak RSS (VmHWM)", round2(float64(peak)/(1<<20)), "<", MaxPodRSS>>20, "MB")
	return err
}
