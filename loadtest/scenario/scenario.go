package scenario

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Scenario is a named run over the harness.
type Scenario struct {
	Name    string
	Summary string
	// ShortTimeout and LongTimeout bound the whole run of each variant.
	ShortTimeout, LongTimeout time.Duration
	// Cluster runs the scenario on a 3-node NATS cluster (ClusterNATS, R3
	// streams) instead of Options.NATS; Options.NATSServer is then required.
	Cluster bool
	// Run drives the harness and adds the scenario's checks to h.Report.
	Run func(ctx context.Context, h *Harness) error
}

var registry []Scenario

// Register adds a scenario; names must be unique.
func Register(s Scenario) {
	for _, o := range registry {
		if o.Name == s.Name {
			panic("scenario: duplicate name " + s.Name)
		}
	}
	registry = append(registry, s)
}

// All returns the registered scenarios in registration order.
func All() []Scenario { return append([]Scenario(nil), registry...) }

// Lookup finds a scenario by name.
func Lookup(name string) (Scenario, bool) {
	for _, s := range registry {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Names lists the registered scenario names.
func Names() []string {
	out := make([]string, len(registry))
	for i, s := range registry {
		out[i] = s.Name
	}
	return out
}

// Run runs one scenario on a fresh deployment and returns its report. It
// never panics on a failing run: errors end up in Report.Error, and every
// process and server it started is stopped before it returns.
func Run(ctx context.Context, sc Scenario, opts Options) *Report {
	variant := "long"
	if opts.Short {
		variant = "short"
	}
	r := &Report{Scenario: sc.Name, Variant: variant, Params: map[string]any{}, StartedAt: time.Now().UTC(), Env: newEnv()}
	start := time.Now()
	defer func() {
		r.DurationSeconds = round2(time.Since(start).Seconds())
		r.Env.LoadAvgEnd = loadAvg()
		if st, err := readProcStatus(os.Getpid()); err == nil {
			r.Env.RunnerPeakRSSMB = round2(float64(st.hwm) / (1 << 20))
		}
		r.finalize()
	}()
	if sc.Cluster {
		opts.NATS = Cluster(opts.NATSServer)
	}
	h, err := newHarness(opts, r, sc.Name)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer h.Close()
	timeout := sc.LongTimeout
	if opts.Short {
		timeout = sc.ShortTimeout
	}
	if opts.Timeout > 0 {
		timeout = opts.Timeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = sc.Run(rctx, h)
	r.Published = h.Published()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("%w (scenario timeout %s)", err, timeout)
		}
		r.Error = err.Error()
	}
	if u := h.Pods; u != nil {
		for _, e := range u.Unexpected() {
			r.Notes = append(r.Notes, "unexpected pod exit: "+e)
		}
	}
	if p, ok := h.NATS.(*ProcessNATS); ok { // natsfail notes its cluster's
		for _, e := range p.Unexpected() {
			r.Notes = append(r.Notes, "unexpected NATS exit: "+e)
		}
	}
	return r
}

// pick returns short when the run is short, else long.
func pick[T any](h *Harness, long, short T) T {
	if h.Opts.Short {
		return short
	}
	return long
}

// MaybeBaseline measures the physical baseline when the options or the
// scenario's default ask for it.
func (h *Harness) MaybeBaseline(ctx context.Context, byDefault bool) error {
	want := byDefault
	if h.Opts.Baseline != nil {
		want = *h.Opts.Baseline
	}
	if !want {
		return nil
	}
	n := pick(h, 100_000, 10_000)
	return h.MeasureBaseline(ctx, n, h.Senders()*h.Opts.Pods)
}

// Drain waits for n outcomes and collects the run. When waiting fails it
// still collects what there is (with a fresh deadline), so the report shows
// how far the run got; the wait's error is returned.
func (h *Harness) Drain(ctx context.Context, n int, stall time.Duration) (*Collected, error) {
	werr := h.WaitOutcomes(ctx, n, stall)
	cctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
	}
	c, _, cerr := h.Collect(cctx)
	if cerr != nil {
		return nil, errors.Join(werr, cerr)
	}
	return c, werr
}
