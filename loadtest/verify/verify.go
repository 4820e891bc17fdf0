package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// Label keys of the k6 marker (loadtest/k6/intents.js).
const (
	labelRun = "k6run" // the run ID
	labelSeq = "seq"   // the intent's place in the run: s<iteration> or b<iteration>.<index>
	labelTo  = "to"    // the intent's recipients, comma-separated (unique per intent)
)

// slowLatency is the createdAt→LINE latency above which an intent is listed as slow.
const slowLatency = 5 * time.Second

// options are verify's flags.
type options struct {
	NATSURL, NATSCreds string
	LinesimAdmin       string
	RunID, Channel     string
	K6Summary          string
	Accepted           int64
	GatewayURL         string
	Since              time.Duration
	Timeout, Settle    time.Duration
	CheckRecipients    bool
	Concurrency        int
	Global             bool
	AllowDead          bool
	JSONOut            string
}

// Report is what verify found. Counts are of intents unless named otherwise.
type Report struct {
	RunID string `json:"runId"`
	// Accepted is the number of intents the gateway accepted (202), from
	// AcceptedFrom ("k6", "flag" or "gateway").
	Accepted     int64  `json:"accepted"`
	AcceptedFrom string `json:"acceptedFrom"`
	// K6 holds the k6 summary's figures when one was given.
	K6 *K6Figures `json:"k6,omitempty"`
	// GatewayAccepted is the gateway's own accepted counter (-1: not asked).
	GatewayAccepted int64 `json:"gatewayAccepted"`

	// Outcomes counts outcome messages of the run; Intents distinct intent IDs among them.
	Outcomes int            `json:"outcomes"`
	Intents  int            `json:"intents"`
	Sent     int            `json:"sent"`
	Dead     map[string]int `json:"dead"`
	// Lost is Accepted − Intents when positive; Extra is Intents − Accepted
	// when positive (outcomes of intents k6 did not see accepted, e.g. a
	// request that timed out in k6 after the gateway had stored it).
	Lost  int64 `json:"lost"`
	Extra int64 `json:"extra"`
	// OutcomeDuplicates counts outcome messages beyond the first of an intent;
	// SeqDuplicates intents that share a marker with another intent.
	OutcomeDuplicates int `json:"outcomeDuplicates"`
	SeqDuplicates     int `json:"seqDuplicates"`

	// Per-recipient check (labels.to of every sent intent).
	RecipientsChecked   int   `json:"recipientsChecked"`
	DeliveryDuplicates  int64 `json:"deliveryDuplicates"`  // deliveries beyond the first, summed
	NotDelivered        int   `json:"notDelivered"`        // recipients of sent intents linesim never delivered to
	DeadButDelivered    int   `json:"deadButDelivered"`    // recipients of dead intents that linesim delivered to
	IntentsWithoutTo    int   `json:"intentsWithoutTo"`    // sent intents without labels.to (not checked per recipient)
	LinesimDuplicates   int64 `json:"linesimDuplicates"`   // linesim's DuplicateDeliveries (all its traffic)
	LinesimGlobalScoped bool  `json:"linesimGlobalScoped"` // LinesimDuplicates counted in Duplicates
	Duplicates          int64 `json:"duplicates"`

	// Rate limits on the run's keys (channel, bot, endpoint).
	Keys          int          `json:"keys"`
	Violations    int64        `json:"violations"`
	Throttled     int64        `json:"throttled"` // 429s (window and quota)
	QuotaExceeded int64        `json:"quotaExceeded"`
	OverWindow    int64        `json:"overWindow"`
	IntentsHit429 int          `json:"intentsHit429"` // intents whose outcome counts a 429
	Contract      int64        `json:"contractViolations"`
	Peak          []EndpointPk `json:"peak"` // highest MaxInWindow per endpoint vs its limit

	Retried int            `json:"retried"` // intents sent in more than one attempt
	ByPod   map[string]int `json:"byPod"`   // outcomes decided per dispatcher pod
	// Slow counts sent intents whose createdAt→LINE latency exceeded 5 s;
	// Slowest lists the worst few.
	Slow       int           `json:"slow"`
	Slowest    []SlowIntent  `json:"slowest"`
	LatencyP50 time.Duration `json:"latencyP50"`
	LatencyP99 time.Duration `json:"latencyP99"`
	LatencyMax time.Duration `json:"latencyMax"`
	Waited     time.Duration `json:"waited"`

	AllowDead bool     `json:"allowDead"`
	Failures  []string `json:"failures"`
	Pass      bool     `json:"pass"`
}

// K6Figures are the k6 summary's counters (see loadtest/k6/intents.js).
type K6Figures struct {
	Requests          int64    `json:"requests"`
	Accepted          int64    `json:"accepted"`
	Duplicates        int64    `json:"duplicates"`
	Refused           int64    `json:"refused"`
	GatewayErrorRate  float64  `json:"gatewayErrorRate"`
	DroppedIterations int64    `json:"droppedIterations"`
	DurationP95       float64  `json:"durationP95ms"`
	DurationP99       float64  `json:"durationP99ms"`
	ThresholdsFailed  []string `json:"thresholdsFailed,omitempty"`
}

// SlowIntent is one of the slowest intents of the run.
type SlowIntent struct {
	ID       string        `json:"id"`
	Seq      string        `json:"seq"`
	Bot      string        `json:"bot"`
	Endpoint string        `json:"endpoint"`
	Pod      string        `json:"pod"`
	Attempts int           `json:"attempts"`
	Latency  time.Duration `json:"latency"`
	At       time.Time     `json:"at"` // when the outcome was decided
}

// EndpointPk is the busiest window seen for one endpoint over the run's bots.
type EndpointPk struct {
	Endpoint    string `json:"endpoint"`
	MaxInWindow int    `json:"maxInWindow"`
	Limit       string `json:"limit"`
}

// intentRec is what verify keeps of one intent's outcomes.
type intentRec struct {
	n         int
	result    outcome.Result
	reason    string
	to        string
	seq       string
	bot       string
	endpoint  string
	attempts  int
	throttled int
	latency   time.Duration
	pod       string
	at        time.Time
}

// collector folds outcome messages of one run.
type collector struct {
	mu      sync.Mutex
	runID   string
	byID    map[string]*intentRec
	msgs    int // outcome messages of the run
	scanned int // every outcome message read
	bad     int // undecodable
}

func newCollector(runID string) *collector {
	return &collector{runID: runID, byID: make(map[string]*intentRec, 1<<16)}
}

func (c *collector) add(data []byte) {
	var o outcome.Outcome
	err := json.Unmarshal(data, &o)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scanned++
	if err != nil {
		c.bad++
		return
	}
	if c.runID != "" && o.Labels[labelRun] != c.runID {
		return
	}
	c.msgs++
	r := c.byID[o.IntentID]
	if r != nil {
		r.n++
		return
	}
	r = &intentRec{n: 1, result: o.Result, reason: o.Reason, to: o.Labels[labelTo], seq: o.Labels[labelSeq],
		bot: o.Bot, endpoint: o.Endpoint, attempts: o.Attempts, throttled: o.Throttled, pod: o.Pod, at: o.At}
	if o.Result == outcome.Sent && !o.CreatedAt.IsZero() {
		r.latency = o.At.Sub(o.CreatedAt)
	}
	c.byID[o.IntentID] = r
}

func (c *collector) intents() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byID)
}

// verify runs the whole check. It returns a report even with an error when
// the report is still worth printing.
func verify(ctx context.Context, o options, progress io.Writer) (*Report, error) {
	rep := &Report{RunID: o.RunID, Accepted: -1, GatewayAccepted: -1, Dead: map[string]int{}, Failures: []string{}, Peak: []EndpointPk{}}
	if o.K6Summary != "" {
		k6, err := readK6Summary(o.K6Summary)
		if err != nil {
			return nil, err
		}
		rep.K6 = k6
		rep.Accepted, rep.AcceptedFrom = k6.Accepted, "k6"
	}
	if o.Accepted >= 0 {
		rep.Accepted, rep.AcceptedFrom = o.Accepted, "flag"
	}
	if o.GatewayURL != "" {
		n, err := gatewayAccepted(ctx, o.GatewayURL)
		if err != nil {
			fmt.Fprintln(progress, "verify: gateway metrics:", err)
		} else {
			rep.GatewayAccepted = n
			if rep.Accepted < 0 {
				rep.Accepted, rep.AcceptedFrom = n, "gateway"
			}
		}
	}
	if rep.Accepted < 0 {
		return nil, errors.New("no count of accepted intents")
	}

	nopts := []nats.Option{nats.Name("linedispatch-k6-verify"), nats.MaxReconnects(-1)}
	if o.NATSCreds != "" {
		nopts = append(nopts, nats.UserCredentials(o.NATSCreds))
	}
	nc, err := nats.Connect(o.NATSURL, nopts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS %s: %w", o.NATSURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	col := newCollector(o.RunID)
	start := time.Now()
	if err := consumeOutcomes(ctx, js, o, col, rep.Accepted, progress); err != nil {
		return nil, err
	}
	rep.Waited = time.Since(start).Round(100 * time.Millisecond)

	sim := linesim.NewClient(o.LinesimAdmin)
	lrep, err := sim.Report(ctx)
	if err != nil {
		return nil, fmt.Errorf("linesim report: %w", err)
	}
	fold(rep, col, lrep, o)
	if o.CheckRecipients {
		if err := checkRecipients(ctx, sim, col, rep, o.Concurrency); err != nil {
			return nil, err
		}
	}
	judge(rep, o)
	return rep, nil
}

// consumeOutcomes reads LINE_OUTCOMES with an ordered consumer until the run
// has `want` intents with an outcome (then Settle longer), or Timeout.
func consumeOutcomes(ctx context.Context, js jetstream.JetStream, o options, col *collector, want int64, progress io.Writer) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if o.Channel != "" {
		cfg.FilterSubjects = []string{outcome.OutcomePrefix + "." + o.Channel + ".>"}
	}
	if o.Since > 0 {
		t := time.Now().Add(-o.Since)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	}
	cons, err := js.OrderedConsumer(ctx, queue.OutcomesStream, cfg)
	if err != nil {
		return fmt.Errorf("outcomes consumer: %w", err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { col.add(m.Data()) })
	if err != nil {
		return fmt.Errorf("outcomes: %w", err)
	}
	defer cc.Stop()
	deadline := time.NewTimer(o.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastLog := time.Now()
	for {
		have := int64(col.intents())
		if have >= want {
			break
		}
		if time.Since(lastLog) >= 5*time.Second {
			fmt.Fprintf(progress, "verify: waiting for outcomes: %d of %d\n", have, want)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			fmt.Fprintf(progress, "verify: gave up after %s with %d of %d outcomes\n", o.Timeout, have, want)
			return nil
		case <-tick.C:
		}
	}
	// Extra outcomes (a second one for an intent, an intent k6 did not count)
	// would arrive after the expected ones: keep reading a little.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(o.Settle):
	}
	return nil
}

// fold fills the report from the outcomes and linesim's report.
func fold(rep *Report, col *collector, lrep *linesim.Report, o options) {
	col.mu.Lock()
	defer col.mu.Unlock()
	rep.Outcomes = col.msgs
	rep.Intents = len(col.byID)
	bots := map[string]bool{}
	seqs := make(map[string]int, len(col.byID))
	var lat []time.Duration
	rep.ByPod = map[string]int{}
	for id, r := range col.byID {
		bots[r.bot] = true
		rep.ByPod[r.pod]++
		if r.result == outcome.Sent && r.latency > slowLatency {
			rep.Slow++
			rep.Slowest = append(rep.Slowest, SlowIntent{ID: id, Seq: r.seq, Bot: r.bot, Endpoint: r.endpoint, Pod: r.pod, Attempts: r.attempts, Latency: r.latency, At: r.at})
		}
		if r.n > 1 {
			rep.OutcomeDuplicates += r.n - 1
		}
		if r.seq != "" {
			seqs[r.seq]++
		}
		switch r.result {
		case outcome.Sent:
			rep.Sent++
			lat = append(lat, r.latency)
		default:
			rep.Dead[r.reason]++
		}
		if r.attempts > 1 {
			rep.Retried++
		}
		if r.throttled > 0 {
			rep.IntentsHit429++
		}
	}
	for _, n := range seqs {
		if n > 1 {
			rep.SeqDuplicates += n - 1
		}
	}
	if d := rep.Accepted - int64(rep.Intents); d > 0 {
		rep.Lost = d
	} else {
		rep.Extra = -d
	}
	sort.Slice(rep.Slowest, func(i, j int) bool { return rep.Slowest[i].Latency > rep.Slowest[j].Latency })
	if len(rep.Slowest) > 5 {
		rep.Slowest = rep.Slowest[:5]
	}
	slices.Sort(lat)
	rep.LatencyP50, rep.LatencyP99 = percentile(lat, 0.50), percentile(lat, 0.99)
	if len(lat) > 0 {
		rep.LatencyMax = lat[len(lat)-1]
	}

	peak := map[string]*EndpointPk{}
	for _, k := range lrep.Keys {
		if !bots[k.Bot] || (o.Channel != "" && k.Channel != o.Channel) {
			continue
		}
		rep.Keys++
		rep.Violations += k.Violations
		rep.Throttled += k.Throttled
		rep.QuotaExceeded += k.QuotaExceeded
		rep.Contract += k.ContractViolations
		// A request over the window is both a violation and a 429; a quota
		// 429 is only a 429. Count each request once.
		rep.OverWindow += max(k.Violations, k.Throttled)
		p := peak[k.Endpoint]
		if p == nil {
			p = &EndpointPk{Endpoint: k.Endpoint, Limit: k.Limit.String()}
			peak[k.Endpoint] = p
		}
		p.MaxInWindow = max(p.MaxInWindow, k.MaxInWindow)
	}
	for _, p := range peak {
		rep.Peak = append(rep.Peak, *p)
	}
	sort.Slice(rep.Peak, func(i, j int) bool { return rep.Peak[i].Endpoint < rep.Peak[j].Endpoint })
	rep.LinesimDuplicates = lrep.DuplicateDeliveries
}

// checkRecipients asks linesim how often each recipient of the run was
// delivered to. Recipients are unique per intent, so a sent intent's
// recipients must each have exactly one delivery and a dead one's none.
func checkRecipients(ctx context.Context, sim *linesim.Client, col *collector, rep *Report, concurrency int) error {
	type job struct {
		to   string
		sent bool
	}
	var jobs []job
	col.mu.Lock()
	for _, r := range col.byID {
		if r.to == "" {
			if r.result == outcome.Sent {
				rep.IntentsWithoutTo++
			}
			continue
		}
		for to := range strings.SplitSeq(r.to, ",") {
			jobs = append(jobs, job{to, r.result == outcome.Sent})
		}
	}
	col.mu.Unlock()
	concurrency = max(1, concurrency)
	var (
		next                      atomic.Int64
		dups                      atomic.Int64
		notDelivered, deadDeliver atomic.Int64
		firstErr                  error
		errOnce                   sync.Once
		wg                        sync.WaitGroup
	)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				n, err := sim.Deliveries(ctx, j.to)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("linesim deliveries of %s: %w", j.to, err) })
					return
				}
				switch {
				case j.sent && n == 0:
					notDelivered.Add(1)
				case !j.sent && n > 0:
					deadDeliver.Add(1)
				}
				if n > 1 {
					dups.Add(int64(n - 1))
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	rep.RecipientsChecked = len(jobs)
	rep.DeliveryDuplicates = dups.Load()
	rep.NotDelivered = int(notDelivered.Load())
	rep.DeadButDelivered = int(deadDeliver.Load())
	return nil
}

// judge sets Duplicates, Failures and Pass.
func judge(rep *Report, o options) {
	rep.AllowDead = o.AllowDead
	rep.Duplicates = int64(rep.OutcomeDuplicates) + rep.DeliveryDuplicates
	if o.Global || !o.CheckRecipients {
		// linesim's count covers the run's recipients too: take the larger.
		rep.LinesimGlobalScoped = true
		rep.Duplicates = int64(rep.OutcomeDuplicates) + max(rep.DeliveryDuplicates, rep.LinesimDuplicates)
	}
	fail := func(format string, args ...any) { rep.Failures = append(rep.Failures, fmt.Sprintf(format, args...)) }
	if rep.Accepted == 0 {
		fail("no intent was accepted by the gateway")
	}
	if rep.Lost > 0 {
		fail("lost %d of %d accepted intents (no outcome after %s)", rep.Lost, rep.Accepted, rep.Waited)
	}
	if rep.Duplicates > 0 {
		fail("%d duplicates (outcomes twice %d, deliveries twice %d, linesim duplicate deliveries %d)",
			rep.Duplicates, rep.OutcomeDuplicates, rep.DeliveryDuplicates, rep.LinesimDuplicates)
	}
	if rep.OverWindow > 0 {
		fail("%d requests over the limit (violations %d, 429s %d)", rep.OverWindow, rep.Violations, rep.Throttled)
	}
	if rep.NotDelivered > 0 {
		fail("%d recipients of sent intents were never delivered to", rep.NotDelivered)
	}
	if rep.DeadButDelivered > 0 {
		fail("%d recipients of dead-lettered intents were delivered to", rep.DeadButDelivered)
	}
	if dead := rep.Intents - rep.Sent; dead > 0 && !o.AllowDead {
		fail("%d dead letters (%s)", dead, deadString(rep.Dead))
	}
	rep.Pass = len(rep.Failures) == 0
}

func deadString(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// Print writes the short human report.
func (r *Report) Print(w io.Writer) {
	verdict := func(bad bool) string {
		if bad {
			return "FAIL"
		}
		return "ok"
	}
	run := r.RunID
	if run == "" {
		run = "(every outcome in the stream)"
	}
	fmt.Fprintf(w, "== k6 verify: run %s\n", run)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	acc := fmt.Sprintf("%d\t\t(from %s", r.Accepted, r.AcceptedFrom)
	if r.K6 != nil {
		acc += fmt.Sprintf("; k6: %d requests, %d duplicates, %d refused, gateway error rate %.4f, p95 %.1f ms, p99 %.1f ms, dropped iterations %d",
			r.K6.Requests, r.K6.Duplicates, r.K6.Refused, r.K6.GatewayErrorRate, r.K6.DurationP95, r.K6.DurationP99, r.K6.DroppedIterations)
	}
	if r.GatewayAccepted >= 0 {
		acc += fmt.Sprintf("; gateway counter %d", r.GatewayAccepted)
	}
	fmt.Fprintf(tw, "accepted by gateway\t%s)\n", acc)
	fmt.Fprintf(tw, "intents with an outcome\t%d\t\t(sent %d, dead %d; %d outcome messages; waited %s)\n", r.Intents, r.Sent, r.Intents-r.Sent, r.Outcomes, r.Waited)
	fmt.Fprintf(tw, "lost\t%d\t%s\t(accepted − intents with an outcome; extra outcomes %d)\n", r.Lost, verdict(r.Lost > 0), r.Extra)
	scope := "run's recipients only"
	if r.LinesimGlobalScoped {
		scope = "all linesim traffic"
	}
	fmt.Fprintf(tw, "duplicates\t%d\t%s\t(outcomes twice %d; deliveries twice %d over %d recipients; linesim duplicate deliveries %d, %s)\n",
		r.Duplicates, verdict(r.Duplicates > 0), r.OutcomeDuplicates, r.DeliveryDuplicates, r.RecipientsChecked, r.LinesimDuplicates, scope)
	fmt.Fprintf(tw, "over-window\t%d\t%s\t(violations %d, 429s %d of which quota %d, on %d keys; intents that met a 429: %d)\n",
		r.OverWindow, verdict(r.OverWindow > 0), r.Violations, r.Throttled, r.QuotaExceeded, r.Keys, r.IntentsHit429)
	fmt.Fprintf(tw, "dead letters\t%d\t%s\t(%s)\n", r.Intents-r.Sent, verdict(r.Intents-r.Sent > 0 && !r.AllowDead), deadString(r.Dead))
	fmt.Fprintf(tw, "delivered exactly once\t%d\t%s\t(recipients checked; never delivered %d, dead but delivered %d, sent without labels.to %d)\n",
		r.RecipientsChecked-r.NotDelivered, verdict(r.NotDelivered+r.DeadButDelivered > 0), r.NotDelivered, r.DeadButDelivered, r.IntentsWithoutTo)
	tw.Flush()
	var peaks []string
	for _, p := range r.Peak {
		peaks = append(peaks, fmt.Sprintf("%s %d/%s", p.Endpoint, p.MaxInWindow, p.Limit))
	}
	fmt.Fprintf(w, "busiest window per key: %s; contract violations %d\n", strings.Join(peaks, ", "), r.Contract)
	fmt.Fprintf(w, "createdAt→LINE latency: p50 %s, p99 %s, max %s; over %s: %d; retried intents %d\n",
		r.LatencyP50.Round(time.Millisecond), r.LatencyP99.Round(time.Millisecond), r.LatencyMax.Round(time.Millisecond), slowLatency, r.Slow, r.Retried)
	for _, s := range r.Slowest {
		fmt.Fprintf(w, "  slow: intent %s %s (bot %s, %s): %s, %d attempt(s), pod %s, sent %s\n",
			s.ID, s.Seq, s.Bot, s.Endpoint, s.Latency.Round(time.Millisecond), s.Attempts, s.Pod, s.At.UTC().Format("15:04:05.000"))
	}
	pods := make([]string, 0, len(r.ByPod))
	for p, n := range r.ByPod {
		pods = append(pods, fmt.Sprintf("%s %d", p, n))
	}
	sort.Strings(pods)
	fmt.Fprintf(w, "outcomes by pod: %s\n", strings.Join(pods, ", "))
	if r.K6 != nil && len(r.K6.ThresholdsFailed) > 0 {
		fmt.Fprintf(w, "k6 thresholds failed: %s\n", strings.Join(r.K6.ThresholdsFailed, "; "))
	}
	if r.Pass {
		fmt.Fprintf(w, "RESULT: PASS  %d accepted, %d lost, %d duplicates, %d over-window\n", r.Accepted, r.Lost, r.Duplicates, r.OverWindow)
		return
	}
	fmt.Fprintf(w, "RESULT: FAIL  %d accepted, %d lost, %d duplicates, %d over-window\n", r.Accepted, r.Lost, r.Duplicates, r.OverWindow)
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  - %s\n", f)
	}
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// readK6Summary reads k6's --summary-export JSON: {"metrics": {name: {...}}}
// where a counter is {"count": n, "rate": r}, a rate {"value": v, ...} and a
// trend {"p(95)": ms, ...}; each may carry "thresholds": {expr: failed}.
// (k6 versions that nest the figures under "values" are read too.)
func readK6Summary(path string) (*K6Figures, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("k6 summary: %w", err)
	}
	return parseK6Summary(b)
}

func parseK6Summary(b []byte) (*K6Figures, error) {
	var doc struct {
		Metrics map[string]map[string]json.RawMessage `json:"metrics"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("k6 summary: %w", err)
	}
	if doc.Metrics == nil {
		return nil, errors.New("k6 summary: no metrics")
	}
	num := func(metric, field string) float64 {
		m := doc.Metrics[metric]
		if m == nil {
			return 0
		}
		raw, ok := m[field]
		if !ok {
			var vals map[string]float64
			if v, ok := m["values"]; ok && json.Unmarshal(v, &vals) == nil {
				return vals[field]
			}
			return 0
		}
		var f float64
		_ = json.Unmarshal(raw, &f)
		return f
	}
	if doc.Metrics["intents_accepted"] == nil {
		return nil, errors.New("k6 summary: no intents_accepted counter (not a run of loadtest/k6/intents.js, or nothing was accepted)")
	}
	f := &K6Figures{
		Requests:          int64(num("http_reqs", "count")),
		Accepted:          int64(num("intents_accepted", "count")),
		Duplicates:        int64(num("intents_duplicate", "count")),
		Refused:           int64(num("intents_refused", "count")),
		GatewayErrorRate:  num("gateway_errors", "value"),
		DroppedIterations: int64(num("dropped_iterations", "count")),
		DurationP95:       num("http_req_duration", "p(95)"),
		DurationP99:       num("http_req_duration", "p(99)"),
	}
	if f.GatewayErrorRate == 0 {
		f.GatewayErrorRate = num("gateway_errors", "rate")
	}
	names := make([]string, 0, len(doc.Metrics))
	for name := range doc.Metrics {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		raw, ok := doc.Metrics[name]["thresholds"]
		if !ok {
			continue
		}
		var th map[string]json.RawMessage
		if json.Unmarshal(raw, &th) != nil {
			continue
		}
		for expr, v := range th {
			if thresholdFailed(v) {
				f.ThresholdsFailed = append(f.ThresholdsFailed, name+": "+expr)
			}
		}
	}
	sort.Strings(f.ThresholdsFailed)
	return f, nil
}

// thresholdFailed reads a threshold's entry: a bool (true = failed, in
// --summary-export) or {"ok": bool}.
func thresholdFailed(v json.RawMessage) bool {
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return b
	}
	var o struct {
		OK *bool `json:"ok"`
	}
	if json.Unmarshal(v, &o) == nil && o.OK != nil {
		return !*o.OK
	}
	return false
}

// gatewayAccepted reads linedispatch_gateway_intents_total{result="accepted"}
// from the gateway's /metrics.
func gatewayAccepted(ctx context.Context, base string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseGatewayAccepted(resp.Body)
}

func parseGatewayAccepted(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "linedispatch_gateway_intents_total{") || !strings.Contains(line, `result="accepted"`) {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metrics line %q: %w", line, err)
		}
		return int64(v), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, nil
}
