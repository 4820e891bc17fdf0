package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of one scenario run: one JSON document.
type Report struct {
	Scenario string `json:"scenario"`
	// Variant is "short" (CI) or "long" (the documented command).
	Variant string `json:"variant"`
	// Params are the scenario's parameters (intents, bots, rates, scale…).
	Params map[string]any `json:"params"`
	// Pass is true when every check holds and the run completed.
	Pass bool `json:"pass"`
	// Failed lists the checks that did not hold.
	Failed []Check `json:"failed"`
	// Checks lists every check.
	Checks []Check `json:"checks"`
	// Error is set when the run could not complete (setup, timeout, a pod
	// that died); the report then holds what was measured until then.
	Error string `json:"error,omitempty"`

	StartedAt       time.Time `json:"startedAt"`
	DurationSeconds float64   `json:"durationSeconds"`
	Env             Env       `json:"env"`

	// Published is the number of intents accepted by JetStream (PubAck).
	Published int `json:"published"`
	// Publish is the pipelined publish of the scenario's backlog.
	Publish *PublishStats `json:"publish,omitempty"`
	// Outcomes summarises LINE_OUTCOMES.
	Outcomes *OutcomeStats `json:"outcomes,omitempty"`
	// LineSim is what the simulator counted.
	LineSim *SimStats `json:"linesim,omitempty"`
	// Keys are the (bot, endpoint) keys the scenario names, with linesim's
	// window figures and the utilisation of backlog keys.
	Keys []KeyReport `json:"keys,omitempty"`
	// KeysSummary covers every key linesim saw.
	KeysSummary *KeysSummary `json:"keysSummary,omitempty"`
	// Windows lists every key linesim saw: its highest count in any sliding
	// window against its limit, and its violations.
	Windows []KeyWindow `json:"windows,omitempty"`
	// Throughput is the rate of outcomes.
	Throughput *Throughput `json:"throughput,omitempty"`
	// Latency holds publish-to-accept percentiles: "all" and per named group.
	Latency map[string]Latency `json:"latency,omitempty"`
	// Gaps holds the spacing of accepts of hour-scale keys.
	Gaps map[string]Gaps `json:"gaps,omitempty"`
	// Baseline is the physical baseline measured in the same run.
	Baseline *Baseline `json:"baseline,omitempty"`
	// Efficiency is the dispatcher's steady throughput divided by the
	// combined baseline (see docs/scenarios.md).
	Efficiency *float64 `json:"efficiency,omitempty"`
	// CPU is the CPU cost per outcome (and against the baseline's).
	CPU *CPUStats `json:"cpu,omitempty"`
	// Pods reports each dispatcher process.
	Pods []PodReport `json:"pods,omitempty"`
	// Multi holds what the multi-pod scenarios measure (scale3, podkill,
	// podjoin, natsfail): events, phases, kills, rebalance, pauses.
	Multi *MultiPod `json:"multiPod,omitempty"`
	// Notes are free-form observations of the run.
	Notes []string `json:"notes,omitempty"`
}

// Env describes the machine and run shape.
type Env struct {
	GoVersion  string `json:"goVersion"`
	NumCPU     int    `json:"numCPU"`
	Pods       int    `json:"pods"`
	Partitions int    `json:"partitions"`
	NATS       string `json:"nats"`
	WorkDir    string `json:"workDir,omitempty"`
	// LoadAvgStart and LoadAvgEnd are the machine's 1-minute load average
	// when the run started and ended: other work on the machine skews rates.
	LoadAvgStart float64 `json:"loadAvgStart"`
	LoadAvgEnd   float64 `json:"loadAvgEnd"`
	// RunnerCPUSeconds is the CPU the runner process (linesim, the runner
	// itself, and NATS when embedded) used while the pods ran.
	RunnerCPUSeconds float64 `json:"runnerCPUSeconds"`
	// NATSCPUSeconds is the CPU the nats-server processes (every node of a
	// cluster) used while the pods ran; 0 when NATS is embedded.
	NATSCPUSeconds float64 `json:"natsCPUSeconds"`
	// RunnerPeakRSSMB is the runner process's VmHWM (linesim, the runner,
	// and NATS when embedded) at the end of the run.
	RunnerPeakRSSMB float64 `json:"runnerPeakRSSMB"`
}

// Check is one threshold: Measured Op Threshold.
type Check struct {
	Name      string  `json:"name"`
	Pass      bool    `json:"pass"`
	Measured  float64 `json:"measured"`
	Op        string  `json:"op"`
	Threshold float64 `json:"threshold"`
	// Wanted is Op and Threshold as text, e.g. ">= 0.98".
	Wanted string `json:"wanted"`
	Unit   string `json:"unit,omitempty"`
}

func (c Check) String() string {
	st := "PASS"
	if !c.Pass {
		st = "FAIL"
	}
	return fmt.Sprintf("%s %s: measured %s, wanted %s", st, c.Name, fmtNum(c.Measured, c.Unit), c.Wanted)
}

func fmtNum(v float64, unit string) string {
	s := ""
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		s = fmt.Sprintf("%d", int64(v))
	case math.Abs(v) >= 100:
		s = fmt.Sprintf("%.1f", v)
	default:
		s = fmt.Sprintf("%.6g", v)
	}
	if unit != "" {
		s += " " + unit
	}
	return s
}

// Check records a check: measured op threshold, op one of ==, <=, <, >=, >.
func (r *Report) Check(name string, measured float64, op string, threshold float64, unit string) bool {
	var ok bool
	switch op {
	case "==":
		ok = measured == threshold
	case "<=":
		ok = measured <= threshold
	case "<":
		ok = measured < threshold
	case ">=":
		ok = measured >= threshold
	case ">":
		ok = measured > threshold
	default:
		panic("scenario: unknown op " + op)
	}
	if math.IsNaN(measured) {
		ok = false
	}
	c := Check{Name: name, Pass: ok, Measured: measured, Op: op, Threshold: threshold, Unit: unit,
		Wanted: op + " " + fmtNum(threshold, unit)}
	r.Checks = append(r.Checks, c)
	return ok
}

// finalize sets Pass and Failed.
func (r *Report) finalize() {
	r.Failed = []Check{}
	for _, c := range r.Checks {
		if !c.Pass {
			r.Failed = append(r.Failed, c)
		}
	}
	r.Pass = r.Error == "" && len(r.Failed) == 0 && len(r.Checks) > 0
}

// MarshalJSON encodes v indented, without HTML escaping (so "<=" stays
// readable), with a final newline.
func MarshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// FailureText lists the failed checks and the error, one per line.
func (r *Report) FailureText() string {
	var b strings.Builder
	if r.Error != "" {
		fmt.Fprintf(&b, "error: %s\n", r.Error)
	}
	for _, c := range r.Failed {
		fmt.Fprintln(&b, c.String())
	}
	return b.String()
}

// OutcomeStats summarises the outcomes of a run.
type OutcomeStats struct {
	Total int `json:"total"`
	// Unique counts distinct intents with an outcome; Duplicate counts
	// second outcomes of an intent (must be 0).
	Unique     int            `json:"unique"`
	Duplicate  int            `json:"duplicate"`
	Foreign    int            `json:"foreign,omitempty"`
	Sent       int            `json:"sent"`
	SentVia409 int            `json:"sentVia409"`
	Dead       map[string]int `json:"dead"`
	Retried    int            `json:"retried"`
	// ThrottledAttempts counts attempts LINE answered with 429, per outcomes.
	ThrottledAttempts int            `json:"throttledAttempts"`
	ByPod             map[string]int `json:"byPod"`
}

// SimStats is what linesim counted.
type SimStats struct {
	Requests            int64 `json:"requests"`
	Accepted            int64 `json:"accepted"`
	Recipients          int64 `json:"recipients"`
	DuplicateDeliveries int64 `json:"duplicateDeliveries"`
	Conflicts           int64 `json:"conflicts"`
	Throttled           int64 `json:"throttled429"`
	Violations          int64 `json:"windowViolations"`
	ContractViolations  int64 `json:"contractViolations"`
	Unattributed        int64 `json:"unattributed"`
}

// KeyReport is one (bot, endpoint) key.
type KeyReport struct {
	Name     string `json:"name,omitempty"`
	Bot      string `json:"bot"`
	Endpoint string `json:"endpoint"`
	Limit    string `json:"limit"`
	// MaxInWindow is the highest number of requests linesim received in any
	// sliding window of the limit's period.
	MaxInWindow       int   `json:"maxInWindow"`
	MaxInWindowCapped bool  `json:"maxInWindowCapped,omitempty"`
	LimitCount        int   `json:"limitCount"`
	Violations        int64 `json:"violations"`
	Received          int64 `json:"received"`
	Accepted          int64 `json:"accepted"`
	Throttled         int64 `json:"throttled429"`
	// Conflicts counts requests answered 409 (a retry key sent again).
	Conflicts   int64        `json:"conflicts409,omitempty"`
	Utilisation *Utilisation `json:"utilisation,omitempty"`
	// AcceptsPerPeriod counts the key's accepts (outcome.At) in consecutive
	// periods of its limit from the first accept: the drain's rate over time.
	AcceptsPerPeriod []int `json:"acceptsPerPeriod,omitempty"`
}

// KeyWindow is one key's window figures, compactly.
type KeyWindow struct {
	Key         string `json:"key"` // bot/endpoint
	MaxInWindow int    `json:"maxInWindow"`
	Limit       string `json:"limit"`
	Violations  int64  `json:"violations"`
	Throttled   int64  `json:"throttled429,omitempty"`
	Conflicts   int64  `json:"conflicts409,omitempty"`
	// FirstViolationAt is when the first violation arrived, in seconds
	// since the first pod started.
	FirstViolationAt *float64 `json:"firstViolationAt,omitempty"`
}

// KeysSummary covers every key linesim saw.
type KeysSummary struct {
	Keys       int   `json:"keys"`
	Violations int64 `json:"violations"`
	// MaxWindowShare is the highest MaxInWindow / limit over all keys.
	MaxWindowShare float64 `json:"maxWindowShare"`
	MaxWindowKey   string  `json:"maxWindowKey"`
}

// Baseline is the physical baseline: each stage alone, on the same machine,
// in the same run (see docs/scenarios.md).
type Baseline struct {
	// Messages per stage.
	Messages int `json:"messages"`
	// HTTPConcurrency is how many requests the HTTP stage keeps in flight.
	HTTPConcurrency int `json:"httpConcurrency"`
	// BaselineStages are the mean of the Samples (see Baseline.add).
	BaselineStages
	// Samples are the measurements the figures above are the mean of:
	// before the pods started, and (steady) again after they stopped.
	Samples []BaselineSample `json:"samples,omitempty"`
}

// BaselineStages are the figures of the baseline's stages.
type BaselineStages struct {
	// PublishPerSec: JetStream publish alone, pipelined (intent.PublishBatch).
	PublishPerSec float64 `json:"publishPerSec"`
	// ConsumeAckPerSec: JetStream pull consume + ack alone.
	ConsumeAckPerSec float64 `json:"consumeAckPerSec"`
	// HTTPPerSec: push round trips to linesim alone, HTTPConcurrency at once,
	// limits not binding, a unique retry key each.
	HTTPPerSec float64 `json:"httpPerSec"`
	HTTPErrors int     `json:"httpErrors"`
	// CombinedPerSec = 1 / (1/publish + 1/consumeAck + 1/http).
	CombinedPerSec float64 `json:"combinedPerSec"`
	// CPU per message of each stage (the runner process and the NATS
	// processes: client and server sides together), in microseconds, and
	// their sum.
	PublishCPUMicros    float64 `json:"publishCPUMicros"`
	ConsumeAckCPUMicros float64 `json:"consumeAckCPUMicros"`
	HTTPCPUMicros       float64 `json:"httpCPUMicros"`
	CombinedCPUMicros   float64 `json:"combinedCPUMicros"`
}

// When a baseline sample was measured.
const (
	BaselineBeforePods = "before pods"
	BaselineAfterPods  = "after pods"
)

// BaselineSample is one measurement of the baseline's stages.
type BaselineSample struct {
	When string `json:"when"`
	BaselineStages
}

// CPUStats is the CPU the run cost per outcome: a figure that other load
// on a shared machine skews far less than rates do.
type CPUStats struct {
	// PodSeconds is the CPU of every pod (all lives); RunnerSeconds the CPU
	// of the runner process (linesim, and NATS when embedded) and
	// NATSSeconds that of the nats-server processes while the pods ran.
	PodSeconds    float64 `json:"podSeconds"`
	RunnerSeconds float64 `json:"runnerSeconds"`
	NATSSeconds   float64 `json:"natsSeconds"`
	// NATSInRunner: NATS is embedded, its CPU is in RunnerSeconds.
	NATSInRunner bool `json:"natsInRunner,omitempty"`
	// MicrosPerOutcome is (PodSeconds + RunnerSeconds + NATSSeconds) / outcomes.
	MicrosPerOutcome float64 `json:"microsPerOutcome"`
	// Efficiency is the baseline's CombinedCPUMicros / MicrosPerOutcome:
	// the share of the run's CPU the physical work alone would need.
	Efficiency float64 `json:"efficiency,omitempty"`
}

// setEfficiency sets the CPU efficiency against baseline b (none without
// a baseline or outcomes).
func (c *CPUStats) setEfficiency(b *Baseline) {
	if b != nil && c.MicrosPerOutcome > 0 {
		c.Efficiency = round4(b.CombinedCPUMicros / c.MicrosPerOutcome)
	}
}

// PodReport is one dispatcher process slot.
type PodReport struct {
	Name   string `json:"name"`
	PID    int    `json:"pid"`
	Starts int    `json:"starts"`
	// PeakRSSBytes is the highest VmHWM of the process (over its lives).
	PeakRSSBytes int64   `json:"peakRSSBytes"`
	PeakRSSMB    float64 `json:"peakRSSMB"`
	// MaxSampledRSSBytes is the highest VmRSS sampled every 250 ms.
	MaxSampledRSSBytes int64 `json:"maxSampledRSSBytes"`
	RSSSamples         int   `json:"rssSamples"`
	// CPUSeconds is the user+system CPU of the process over all its lives.
	CPUSeconds       float64  `json:"cpuSeconds"`
	Outcomes         int      `json:"outcomes"`
	LogWarnings      int      `json:"logWarnings"`
	LogErrors        int      `json:"logErrors"`
	FirstLogProblems []string `json:"firstLogProblems,omitempty"`
	UnexpectedExits  []string `json:"unexpectedExits,omitempty"`
	// Metrics are selected series of the pod's /metrics at the end.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	LogFile string             `json:"logFile,omitempty"`
}

func newEnv() Env {
	return Env{GoVersion: runtime.Version(), NumCPU: runtime.NumCPU(), LoadAvgStart: loadAvg()}
}

// loadAvg is the 1-minute load average (0 when unknown).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var f float64
	_, _ = fmt.Sscanf(string(b), "%g", &f)
	return f
}

// WriteSummary prints a human summary of r.
func (r *Report) WriteSummary(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(tw, "== scenario %s (%s): %s in %.1fs\n", r.Scenario, r.Variant, verdict, r.DurationSeconds)
	if len(r.Params) > 0 {
		keys := make([]string, 0, len(r.Params))
		for k := range r.Params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var ps []string
		for _, k := range keys {
			ps = append(ps, fmt.Sprintf("%s=%v", k, r.Params[k]))
		}
		fmt.Fprintf(tw, "params\t%s\n", strings.Join(ps, " "))
	}
	if r.Error != "" {
		fmt.Fprintf(tw, "ERROR\t%s\n", firstLine(r.Error))
	}
	fmt.Fprintf(tw, "published\t%d", r.Published)
	if r.Publish != nil {
		fmt.Fprintf(tw, " (backlog at %.0f/s)", r.Publish.PerSec)
	}
	fmt.Fprintln(tw)
	if o := r.Outcomes; o != nil {
		fmt.Fprintf(tw, "outcomes\t%d (unique %d, duplicate %d), sent %d (409 %d), dead %v, retried %d, throttled attempts %d\n",
			o.Total, o.Unique, o.Duplicate, o.Sent, o.SentVia409, o.Dead, o.Retried, o.ThrottledAttempts)
	}
	if s := r.LineSim; s != nil {
		fmt.Fprintf(tw, "linesim\taccepted %d, recipients %d, duplicate deliveries %d, 429s %d, window violations %d, 409s %d, contract violations %d\n",
			s.Accepted, s.Recipients, s.DuplicateDeliveries, s.Throttled, s.Violations, s.Conflicts, s.ContractViolations)
	}
	for _, k := range r.Keys {
		name := k.Name
		if name == "" {
			name = k.Bot
		}
		fmt.Fprintf(tw, "key %s/%s\tlimit %s, max in window %d, violations %d, accepted %d, 429s %d",
			name, k.Endpoint, k.Limit, k.MaxInWindow, k.Violations, k.Accepted, k.Throttled)
		if u := k.Utilisation; u != nil {
			fmt.Fprintf(tw, ", utilisation %.2f%% (%.1f/s of %.1f/s over %.1fs, longest gap %.0fms at %.1fs)", 100*u.Value, u.Rate, u.LimitRate, u.SteadySeconds, 1000*u.LongestGapSeconds, u.LongestGapAt)
		}
		fmt.Fprintln(tw)
	}
	if ks := r.KeysSummary; ks != nil {
		fmt.Fprintf(tw, "all keys\t%d keys, violations %d, highest window share %.3f (%s)\n", ks.Keys, ks.Violations, ks.MaxWindowShare, ks.MaxWindowKey)
	}
	for _, w := range r.Windows {
		if w.Violations > 0 && w.FirstViolationAt != nil {
			fmt.Fprintf(tw, "violations\t%s: %d, max in window %d of %s, the first %.2fs after the first pod started\n", w.Key, w.Violations, w.MaxInWindow, w.Limit, *w.FirstViolationAt)
		}
	}
	if t := r.Throughput; t != nil {
		fmt.Fprintf(tw, "throughput\t%.0f/s steady, %.0f/s overall (%d outcomes in %.1fs)\n", t.Steady, t.Overall, t.Outcomes, t.Seconds)
	}
	for _, name := range sortedKeys(r.Latency) {
		l := r.Latency[name]
		fmt.Fprintf(tw, "latency %s\tp50 %.1fms p90 %.1fms p99 %.1fms max %.1fms (n=%d)\n", name, l.P50, l.P90, l.P99, l.Max, l.Count)
	}
	for _, name := range sortedKeys(r.Gaps) {
		g := r.Gaps[name]
		fmt.Fprintf(tw, "gaps %s\tideal %.2fms: min %.2f mean %.2f max %.2f ms, cv %.3f (n=%d)\n", name, g.IdealMs, g.MinMs, g.MeanMs, g.MaxMs, g.CV, g.Count)
	}
	if b := r.Baseline; b != nil {
		fmt.Fprintf(tw, "baseline\tpublish %.0f/s, consume+ack %.0f/s, http %.0f/s (x%d), combined %.0f/s",
			b.PublishPerSec, b.ConsumeAckPerSec, b.HTTPPerSec, b.HTTPConcurrency, b.CombinedPerSec)
		if len(b.Samples) > 1 {
			fmt.Fprint(tw, ": the mean of")
			for i, s := range b.Samples {
				if i > 0 {
					fmt.Fprint(tw, " and")
				}
				fmt.Fprintf(tw, " %.0f/s (%.0fµs) %s", s.CombinedPerSec, s.CombinedCPUMicros, s.When)
			}
		}
		fmt.Fprintln(tw)
	}
	if r.Efficiency != nil {
		fmt.Fprintf(tw, "efficiency\t%.3f\n", *r.Efficiency)
	}
	if c := r.CPU; c != nil {
		nats := fmt.Sprintf("nats %.1fs", c.NATSSeconds)
		if c.NATSInRunner {
			nats = "nats in the runner"
		}
		fmt.Fprintf(tw, "cpu\t%.0fµs per outcome (pods %.1fs, runner %.1fs, %s)", c.MicrosPerOutcome, c.PodSeconds, c.RunnerSeconds, nats)
		if b := r.Baseline; b != nil && c.Efficiency > 0 {
			fmt.Fprintf(tw, "; baseline %.0fµs per message (publish %.0f, consume+ack %.0f, http %.0f): CPU efficiency %.3f",
				b.CombinedCPUMicros, b.PublishCPUMicros, b.ConsumeAckCPUMicros, b.HTTPCPUMicros, c.Efficiency)
		}
		fmt.Fprintln(tw)
	}
	for _, p := range r.Pods {
		fmt.Fprintf(tw, "pod %s\tpeak RSS %.1f MB (VmHWM), max sampled %.1f MB, CPU %.1fs, starts %d, outcomes %d, log warn %d error %d\n",
			p.Name, p.PeakRSSMB, float64(p.MaxSampledRSSBytes)/(1<<20), p.CPUSeconds, p.Starts, p.Outcomes, p.LogWarnings, p.LogErrors)
		for _, m := range p.FirstLogProblems {
			fmt.Fprintf(tw, "\t  %s\n", m)
		}
	}
	if r.Multi != nil {
		r.Multi.writeSummary(tw)
	}
	fmt.Fprintf(tw, "machine\t%d CPUs, load average %.1f at start, %.1f at end; while pods ran CPU runner %.1fs, NATS processes %.1fs; runner peak RSS %.0f MB\n",
		r.Env.NumCPU, r.Env.LoadAvgStart, r.Env.LoadAvgEnd, r.Env.RunnerCPUSeconds, r.Env.NATSCPUSeconds, r.Env.RunnerPeakRSSMB)
	for _, n := range r.Notes {
		fmt.Fprintf(tw, "note\t%s\n", n)
	}
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "check\t%s\n", c)
	}
	_ = tw.Flush()
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
