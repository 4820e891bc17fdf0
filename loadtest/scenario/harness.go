package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/devstack"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// DefaultPartitions is the LINE_INTENTS partition count of a run: the
// dispatcher's own default, so scenarios measure the shipped configuration.
const DefaultPartitions = queue.DefaultPartitions

// Options shape a run. Zero fields take defaults.
type Options struct {
	// Short selects the scenario's short (CI) variant.
	Short bool
	// Pods is the number of dispatcher processes. Default 1.
	Pods int
	// Bin is the dispatcher binary. Required: BuildDispatcher builds one.
	Bin string
	// WorkDir is where the run's temporary directory goes. Default os.TempDir().
	WorkDir string
	// Keep keeps the run's directory (JetStream store, pod configs and logs).
	Keep bool
	// Progress receives progress lines (nil: none).
	Progress io.Writer
	// PodLogLevel is the pods' log level. Default "warn".
	PodLogLevel string
	// PodSet are "path=value" overrides applied to every pod's configuration
	// after the scenario's own (e.g. "dispatch.senders=64").
	PodSet []string
	// Baseline forces the physical baseline on or off (nil: the scenario
	// decides: always in steady, in the long variant of the others).
	Baseline *bool
	// NATS starts the JetStream deployment. Default: Process(NATSServer)
	// when NATSServer is set, else Embedded(). Scenarios marked Cluster use
	// Cluster(NATSServer) instead.
	NATS NATSFactory
	// NATSServer is the nats-server binary of the process and cluster
	// deployments (see BuildNATSServer).
	NATSServer string
	// Partitions is the LINE_INTENTS partition count. Default DefaultPartitions.
	Partitions int
	// Timeout bounds the whole scenario. Default: the scenario's own.
	Timeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Pods <= 0 {
		o.Pods = 1
	}
	if o.PodLogLevel == "" {
		o.PodLogLevel = "warn"
	}
	if o.NATS == nil {
		o.NATS = Embedded()
		if o.NATSServer != "" {
			o.NATS = Process(o.NATSServer)
		}
	}
	if o.Partitions <= 0 {
		o.Partitions = DefaultPartitions
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	return o
}

// Stack is what a scenario asks of the deployment.
type Stack struct {
	// Bots attached to the channel: devstack.BotID(0..Bots-1). Default 1.
	Bots int
	// ExtraBots are attached too (e.g. a bot chosen for its partition).
	ExtraBots []string
	// PeriodScale multiplies every limit period, in linesim AND in the pods.
	// Default 1.
	PeriodScale float64
	// SimLimits overrides linesim's limits per endpoint token.
	SimLimits map[string]linesim.Limit
	// SimFaults are linesim's faults at start.
	SimFaults map[string]linesim.Faults
	// Pod adjusts every pod's configuration (before Options.PodSet).
	Pod func(name string, cfg PodConfig)
}

// Harness is one run's deployment and report. Scenarios drive it.
type Harness struct {
	Opts   Options
	Report *Report
	// Dir is the run's directory.
	Dir     string
	Channel string
	Bots    []string

	NATS   NATS
	Conn   *queue.Conn // the runner's own JetStream connection
	JS     jetstream.JetStream
	Sim    *linesim.Server
	SimAPI *linesim.Client
	Pods   *PodSet
	Gen    *Gen

	stack    Stack
	cpuStart time.Duration // runner CPU when the first pod started
	// podsStarted is when the first pod started.
	podsStarted time.Time
	natsStart   time.Duration // NATS processes' CPU then
	named       map[KeyID]string
	backlog     map[KeyID]bool
	published   atomic.Int64
	collected   *Collected
	closers     []func()
	closeOnce   sync.Once
}

func newHarness(opts Options, r *Report, scenario string) (*Harness, error) {
	opts = opts.withDefaults()
	if opts.Bin == "" {
		return nil, errors.New("scenario: Options.Bin (the dispatcher binary) is required; see BuildDispatcher")
	}
	dir, err := os.MkdirTemp(opts.WorkDir, "linedispatch-scenario-"+scenario+"-")
	if err != nil {
		return nil, err
	}
	h := &Harness{
		Opts: opts, Report: r, Dir: dir, Channel: devstack.DefaultChannel,
		Gen: newGen(devstack.DefaultChannel, scenario), named: map[KeyID]string{}, backlog: map[KeyID]bool{},
	}
	r.Env.Pods, r.Env.Partitions = opts.Pods, opts.Partitions
	if opts.Keep {
		r.Env.WorkDir = dir
	}
	return h, nil
}

// Logf prints a progress line.
func (h *Harness) Logf(format string, args ...any) {
	fmt.Fprintf(h.Opts.Progress, "[%s %s] %s\n", h.Report.Scenario, time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// Param records a scenario parameter in the report.
func (h *Harness) Param(name string, v any) { h.Report.Params[name] = v }

// Begin starts NATS (and provisions the streams), linesim, and the runner's
// own connection.
func (h *Harness) Begin(ctx context.Context, st Stack) error {
	if st.Bots <= 0 {
		st.Bots = 1
	}
	if st.PeriodScale == 0 {
		st.PeriodScale = 1
	}
	h.stack = st
	h.Param("periodScale", st.PeriodScale)
	for i := 0; i < st.Bots; i++ {
		h.Bots = append(h.Bots, devstack.BotID(i))
	}
	h.Bots = append(h.Bots, st.ExtraBots...)

	n, err := h.Opts.NATS(h.Dir)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	h.NATS = n
	h.closers = append(h.closers, n.Close)
	h.Report.Env.NATS = fmt.Sprintf("%T %s", n, n.URL())
	conn, err := queue.Open(ctx, queue.Config{URL: n.URL(), Partitions: h.Opts.Partitions, Replicas: n.Replicas(), ConnName: "loadtest-runner"}, zerolog.Nop())
	if err != nil {
		return fmt.Errorf("runner connection: %w", err)
	}
	h.Conn, h.JS = conn, conn.JS
	h.closers = append(h.closers, conn.Close)

	sim, err := linesim.Start(linesim.Config{
		Channels:    []linesim.Channel{{ID: h.Channel, Secret: "loadtest-secret", Bots: h.Bots, StaticTokens: []string{devstack.DefaultToken}}},
		BotHeader:   linesim.DefaultBotHeader,
		Limits:      st.SimLimits,
		PeriodScale: st.PeriodScale,
		Faults:      st.SimFaults,
	}, "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("linesim: %w", err)
	}
	h.Sim, h.SimAPI = sim, linesim.NewClient(sim.AdminURL())
	h.closers = append(h.closers, func() { _ = sim.Close() })

	h.Pods = newPodSet(h.Opts.Bin, filepath.Join(h.Dir, "pods"), h.Opts.Progress)
	h.closers = append(h.closers, h.Pods.Close)
	h.Logf("nats %s, linesim %s, %d bots, work dir %s", n.URL(), sim.URL(), len(h.Bots), h.Dir)
	return nil
}

// PodConfig is the configuration of a pod named name: the run's NATS and
// linesim, the bot header, a static token, the period scale, the pod name,
// then the scenario's and the command line's changes.
func (h *Harness) PodConfig(name string) (PodConfig, error) {
	c := PodConfig{
		"log":  map[string]any{"level": h.Opts.PodLogLevel},
		"http": map[string]any{"addr": "127.0.0.1:0"},
		"nats": map[string]any{"url": h.NATS.URL(), "partitions": h.Opts.Partitions, "replicas": h.NATS.Replicas()},
		"line": map[string]any{
			"baseURL":   h.Sim.URL(),
			"botHeader": linesim.DefaultBotHeader,
			"channels":  []any{map[string]any{"id": h.Channel, "token": devstack.DefaultToken}},
		},
		"periodScale": h.stack.PeriodScale,
		"dispatch":    map[string]any{"pod": name},
	}
	if h.stack.Pod != nil {
		h.stack.Pod(name, c)
	}
	for _, kv := range h.Opts.PodSet {
		path, val, ok := strings.Cut(kv, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("pod setting %q: want path=value", kv)
		}
		c.Set(path, parseScalar(val))
	}
	return c, nil
}

// AddPod registers a pod slot named pod-<i> with its configuration.
func (h *Harness) AddPod() (*Pod, error) {
	name := fmt.Sprintf("pod-%d", h.Pods.Len())
	cfg, err := h.PodConfig(name)
	if err != nil {
		return nil, err
	}
	return h.Pods.Add(name, cfg), nil
}

// StartPods adds n pods and starts them.
func (h *Harness) StartPods(ctx context.Context, n int) error {
	start := time.Now()
	h.markCPUStart()
	for i := 0; i < n; i++ {
		p, err := h.AddPod()
		if err != nil {
			return err
		}
		if err := h.Pods.Start(ctx, p.Index); err != nil {
			return err
		}
	}
	h.Logf("%d pod(s) healthy in %s", n, time.Since(start).Round(time.Millisecond))
	return nil
}

// StartPodsTogether adds n pods and starts them at once (in parallel), so
// that they register within one ownership settle time and agree on their
// first assignment. It returns the pods' indexes.
func (h *Harness) StartPodsTogether(ctx context.Context, n int) ([]int, error) {
	var idx []int
	for i := 0; i < n; i++ {
		p, err := h.AddPod()
		if err != nil {
			return nil, err
		}
		idx = append(idx, p.Index)
	}
	return idx, h.StartTogether(ctx, idx...)
}

// StartTogether starts the given (stopped) pods in parallel and waits until
// every one serves /healthz.
func (h *Harness) StartTogether(ctx context.Context, idx ...int) error {
	start := time.Now()
	h.markCPUStart()
	errs := make([]error, len(idx))
	var wg sync.WaitGroup
	for k, i := range idx {
		wg.Add(1)
		go func() { defer wg.Done(); errs[k] = h.Pods.Start(ctx, i) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	h.Logf("%d pod(s) healthy in %s", len(idx), time.Since(start).Round(time.Millisecond))
	return nil
}

// markCPUStart records the runner's and the NATS processes' CPU when the
// first pod starts: the run's CPU is counted from there.
func (h *Harness) markCPUStart() {
	if h.cpuStart == 0 {
		h.cpuStart, h.natsStart = selfCPU(), h.natsCPU()
		h.podsStarted = time.Now()
	}
}

// natsCPU is the CPU of the NATS server processes over all their lives (0
// when NATS is embedded: selfCPU counts it then). A cluster sums its nodes.
func (h *Harness) natsCPU() time.Duration {
	if p, ok := h.NATS.(NATSProcesses); ok {
		return p.CPU()
	}
	return 0
}

// stageCPU is the CPU the runner and NATS have used: the baseline's stages
// run in both.
func (h *Harness) stageCPU() time.Duration { return selfCPU() + h.natsCPU() }

// Senders is the dispatcher's sender pool size of one pod.
func (h *Harness) Senders() int {
	cfg, err := h.PodConfig("probe")
	if err == nil {
		switch v := cfg.Get("dispatch.senders").(type) {
		case int:
			return v
		case int64:
			return int(v)
		case float64:
			return int(v)
		}
	}
	return 128 // dispatch.DefaultSenders
}

// NameKey gives a key a name in the report; backlog keys get their
// utilisation measured.
func (h *Harness) NameKey(k KeyID, name string, backlog bool) {
	h.named[k] = name
	if backlog {
		h.backlog[k] = true
	}
}

// Publish publishes n intents made by mk, pipelined, and counts them.
func (h *Harness) Publish(ctx context.Context, n int, mk func(i int) (*intent.Intent, error)) (PublishStats, error) {
	last := time.Now()
	st, err := publishN(ctx, h.publishBatch, n, mk, func(done int) {
		if time.Since(last) > 5*time.Second {
			h.Logf("published %d of %d", done, n)
			last = time.Now()
		}
	})
	if err != nil {
		return st, fmt.Errorf("publish: %w", err)
	}
	return st, nil
}

func (h *Harness) publishBatch(ctx context.Context, ins []*intent.Intent) error {
	res, err := intent.PublishBatch(ctx, h.JS, ins)
	for _, r := range res {
		if r.Err == nil {
			h.published.Add(1)
		}
	}
	return err
}

// PublishOne publishes one intent and waits for its PubAck.
func (h *Harness) PublishOne(ctx context.Context, in *intent.Intent) error {
	if _, err := intent.Publish(ctx, h.JS, in); err != nil {
		return err
	}
	h.published.Add(1)
	return nil
}

// Published is the number of intents JetStream acknowledged.
func (h *Harness) Published() int { return int(h.published.Load()) }

// Outcomes is the number of outcomes stored so far.
func (h *Harness) Outcomes(ctx context.Context) (int, error) { return countOutcomes(ctx, h.JS) }

// WaitOutcomes polls until n outcomes are stored. It fails when ctx ends,
// when a pod dies on its own, or when no outcome arrives for stall.
func (h *Harness) WaitOutcomes(ctx context.Context, n int, stall time.Duration) error {
	return h.WaitOutcomesFunc(ctx, n, stall, nil)
}

// WaitOutcomesFunc is WaitOutcomes calling tick(count) at every poll.
func (h *Harness) WaitOutcomesFunc(ctx context.Context, n int, stall time.Duration, tick func(int)) error {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	lastCount, lastChange, lastLog := -1, time.Now(), time.Now()
	start := time.Now()
	for {
		got, err := countOutcomes(ctx, h.JS)
		if err == nil {
			if tick != nil {
				tick(got)
			}
			if got >= n {
				h.Logf("%d outcomes after %s", got, time.Since(start).Round(time.Millisecond))
				return nil
			}
			if got != lastCount {
				lastCount, lastChange = got, time.Now()
			}
		}
		if err := h.Pods.CheckAlive(); err != nil {
			return err
		}
		if time.Since(lastChange) > stall {
			return fmt.Errorf("stalled: %d of %d outcomes, none for %s", lastCount, n, stall)
		}
		if time.Since(lastLog) > 5*time.Second {
			h.Logf("%d of %d outcomes", lastCount, n)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d outcomes, have %d: %w", n, lastCount, ctx.Err())
		case <-t.C:
		}
	}
}

// Collect ends the run's measurement: it scrapes each pod's /metrics, stops
// the pods (reading their memory high-water mark first), reads linesim's
// report and every outcome, and fills the report's common sections.
func (h *Harness) Collect(ctx context.Context) (*Collected, *linesim.Report, error) {
	if h.cpuStart != 0 {
		h.Report.Env.RunnerCPUSeconds = round2((selfCPU() - h.cpuStart).Seconds())
		h.Report.Env.NATSCPUSeconds = round2((h.natsCPU() - h.natsStart).Seconds())
	}
	for _, p := range h.Pods.All() {
		if err := p.scrapeMetrics(ctx); err != nil {
			h.Report.Notes = append(h.Report.Notes, fmt.Sprintf("%s: /metrics: %v", p.Name, err))
		}
	}
	h.Pods.StopAll(30 * time.Second)
	rep, err := h.SimAPI.Report(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("linesim report: %w", err)
	}
	// On a NATS cluster that just lost or regained a node the stream may
	// be briefly without a leader ("no responders"): read again.
	var c *Collected
	deadline := time.Now().Add(time.Minute)
	for attempt := 1; ; attempt++ {
		c = newCollected(h.Gen.ids, h.Gen.Issued())
		c.trackPods = map[KeyID]bool{}
		for k := range h.named {
			c.trackPods[k] = true
		}
		err := readOutcomes(ctx, h.JS, c)
		if err == nil {
			break
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("reading outcomes (attempt %d): %w", attempt, err)
		}
		h.Logf("reading outcomes failed (%v); again in 1 s", err)
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	h.collected = c
	h.fill(c, rep)
	return c, rep, nil
}

func (h *Harness) fill(c *Collected, rep *linesim.Report) {
	r := h.Report
	r.Published = h.Published()
	r.Outcomes = &OutcomeStats{Total: c.Total, Unique: c.Unique, Duplicate: c.Duplicate, Foreign: c.Foreign,
		Sent: c.Sent, SentVia409: c.SentVia409, Dead: c.Dead, Retried: c.Retried, ThrottledAttempts: c.Throttled, ByPod: c.ByPod}
	t := rep.Totals
	r.LineSim = &SimStats{Requests: t.Requests, Accepted: t.Accepted, Recipients: t.Recipients, DuplicateDeliveries: rep.DuplicateDeliveries,
		Conflicts: t.Conflicts, Throttled: t.Throttled, Violations: t.Violations, ContractViolations: t.ContractViolations, Unattributed: t.Unattributed}
	ks := &KeysSummary{}
	for _, k := range rep.Keys {
		ks.Keys++
		ks.Violations += k.Violations
		if k.Limit.Count > 0 {
			if share := float64(k.MaxInWindow) / float64(k.Limit.Count); share > ks.MaxWindowShare {
				ks.MaxWindowShare, ks.MaxWindowKey = share, k.Bot+"/"+k.Endpoint
			}
		}
		kw := KeyWindow{Key: k.Bot + "/" + k.Endpoint, MaxInWindow: k.MaxInWindow, Limit: k.Limit.String(),
			Violations: k.Violations, Throttled: k.Throttled, Conflicts: k.Conflicts}
		if !k.FirstViolation.IsZero() && !h.podsStarted.IsZero() {
			at := round4(k.FirstViolation.Sub(h.podsStarted).Seconds())
			kw.FirstViolationAt = &at
		}
		r.Windows = append(r.Windows, kw)
		id := KeyID{k.Bot, k.Endpoint}
		name, ok := h.named[id]
		if !ok {
			continue
		}
		kr := KeyReport{Name: name, Bot: k.Bot, Endpoint: k.Endpoint, Limit: k.Limit.String(), LimitCount: k.Limit.Count,
			MaxInWindow: k.MaxInWindow, MaxInWindowCapped: k.MaxInWindowCapped, Violations: k.Violations,
			Received: k.Received, Accepted: k.Accepted, Throttled: k.Throttled, Conflicts: k.Conflicts}
		if h.backlog[id] {
			u := MeasureUtilisation(c.Accepts(id), k.Limit.Count, k.Limit.Period)
			kr.Utilisation = &u
			kr.AcceptsPerPeriod = perPeriod(c.Accepts(id), k.Limit.Period)
		}
		r.Keys = append(r.Keys, kr)
	}
	ks.MaxWindowShare = round4(ks.MaxWindowShare)
	r.KeysSummary = ks
	tp := MeasureThroughput(c.allAt)
	r.Throughput = &tp
	if r.Latency == nil {
		r.Latency = map[string]Latency{}
	}
	r.Latency["all"] = MeasureLatency(c.allLat)
	for id, name := range h.named {
		if lat := c.Latencies(id); len(lat) > 0 {
			r.Latency[name] = MeasureLatency(append([]int64(nil), lat...))
		}
	}
	for _, p := range h.Pods.All() {
		p.mu.Lock()
		pr := PodReport{Name: p.Name, PID: p.pid, Starts: p.starts, PeakRSSBytes: p.peakHWM, PeakRSSMB: round2(float64(p.peakHWM) / (1 << 20)),
			MaxSampledRSSBytes: p.peakRSS, RSSSamples: p.rssSample, CPUSeconds: round2(p.cpu.Seconds()), Outcomes: c.ByPod[p.Name],
			UnexpectedExits: append([]string(nil), p.unexpected...), Metrics: p.lastMetrics}
		p.mu.Unlock()
		p.logs.mu.Lock()
		pr.LogWarnings, pr.LogErrors, pr.FirstLogProblems = p.logs.warns, p.logs.errors, append([]string(nil), p.logs.first...)
		p.logs.mu.Unlock()
		if h.Opts.Keep {
			pr.LogFile = p.logPath
		}
		r.Pods = append(r.Pods, pr)
	}
	_, natsOwn := h.NATS.(NATSProcesses)
	cs := &CPUStats{RunnerSeconds: r.Env.RunnerCPUSeconds, NATSSeconds: r.Env.NATSCPUSeconds, NATSInRunner: !natsOwn}
	for _, p := range r.Pods {
		cs.PodSeconds += p.CPUSeconds
	}
	cs.PodSeconds = round2(cs.PodSeconds)
	if c.Total > 0 {
		cs.MicrosPerOutcome = round2((cs.PodSeconds + cs.RunnerSeconds + cs.NATSSeconds) * 1e6 / float64(c.Total))
	}
	cs.setEfficiency(r.Baseline)
	r.CPU = cs
}

// perPeriod counts sorted times in consecutive periods from the first.
func perPeriod(sorted []int64, period time.Duration) []int {
	if len(sorted) == 0 || period <= 0 {
		return nil
	}
	n := int((sorted[len(sorted)-1]-sorted[0])/int64(period)) + 1
	if n > 100_000 {
		return nil
	}
	out := make([]int, n)
	for _, t := range sorted {
		out[(t-sorted[0])/int64(period)]++
	}
	return out
}

func round4(f float64) float64 { return float64(int64(f*1e4+0.5)) / 1e4 }

// Key returns the report entry of a named key (nil when linesim never saw it).
func (h *Harness) Key(name string) *KeyReport {
	for i := range h.Report.Keys {
		if h.Report.Keys[i].Name == name {
			return &h.Report.Keys[i]
		}
	}
	return nil
}

// CheckDelivery adds the checks of promises 1 and 2 for a run in which
// every published intent must be sent: one outcome each, all sent, linesim
// accepted one request each, no duplicate delivery.
func (h *Harness) CheckDelivery() {
	r := h.Report
	o, s := r.Outcomes, r.LineSim
	pub := float64(h.Published())
	r.Check("outcomes (distinct intents) == published", float64(o.Unique), "==", pub, "")
	r.Check("duplicate outcomes", float64(o.Duplicate), "==", 0, "")
	r.Check("sent == published", float64(o.Sent), "==", pub, "")
	r.Check("linesim accepted == published", float64(s.Accepted), "==", pub, "")
	r.Check("duplicate deliveries", float64(s.DuplicateDeliveries), "==", 0, "")
	r.Check("contract violations", float64(s.ContractViolations), "==", 0, "")
}

// CheckLimits adds the checks of promise 3's window half: no request over
// any key's limit in any sliding window (linesim counts a violation for
// every request that makes its window hold more than the limit, so
// violations == 0 is max-in-window <= limit for every key), and no 429.
func (h *Harness) CheckLimits() {
	r := h.Report
	r.Check("window violations (all keys)", float64(r.LineSim.Violations), "==", 0, "")
	r.Check("429s served", float64(r.LineSim.Throttled), "==", 0, "")
}

// CheckUtilisation adds "utilisation of key name >= min".
func (h *Harness) CheckUtilisation(name string, minimum float64) {
	k := h.Key(name)
	v := 0.0
	if k != nil && k.Utilisation != nil {
		v = round4(k.Utilisation.Value)
	}
	h.Report.Check(name+" utilisation", v, ">=", minimum, "")
}

// Close stops everything the harness started and removes its directory
// unless Options.Keep.
func (h *Harness) Close() {
	h.closeOnce.Do(func() {
		for i := len(h.closers) - 1; i >= 0; i-- {
			h.closers[i]()
		}
		if !h.Opts.Keep {
			_ = os.RemoveAll(h.Dir)
		}
	})
}

// parseScalar reads a -set value: an integer, a float, a bool, or a string
// (durations such as "500ms" stay strings, as YAML has them).
func parseScalar(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return int(i)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	if b, err := strconv.ParseBool(s); err == nil && (s == "true" || s == "false") {
		return b
	}
	return s
}

// BuildDispatcher builds ./cmd/dispatcher of the module containing the
// working directory into dir and returns the binary's path.
func BuildDispatcher(ctx context.Context, dir string) (string, error) {
	return buildInModule(ctx, filepath.Join(dir, "dispatcher"), "./cmd/dispatcher")
}

// buildInModule runs go build -o bin pkg at the root of the linedispatch
// module that contains the working directory.
func buildInModule(ctx context.Context, bin, pkg string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("scenario: not inside the linedispatch module (go env GOMOD is empty)")
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = filepath.Dir(mod)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return bin, nil
}
