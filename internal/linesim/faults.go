package linesim

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Accept-then-fail modes: what linesim does after it delivered.
const (
	ModeError = "500"  // answer 500 (the client retries; its retry gets 409)
	ModeDrop  = "drop" // close the connection without answering
	ModeHang  = "hang" // hold the connection for HangFor, then close it
)

// Latency distributions.
const (
	DistUniform     = "uniform"     // mean ± jitter, uniform
	DistNormal      = "normal"      // N(mean, jitter), cut at 0
	DistExponential = "exponential" // mean + Exp(jitter): a long tail
)

// DefaultHangFor is how long a hang lasts when HangFor is unset: well past any
// sane client timeout. A hang also ends when the client goes away.
const DefaultHangFor = 2 * time.Minute

// Faults are injected failures for one endpoint (or "*" for all). Ratios are
// probabilities in [0, 1] drawn independently per request, in this order:
// Outage, latency, ResetRatio, HangRatio, ErrorRatio (none of these deliver),
// then the request is processed and, if it delivered, AcceptThenFailRatio.
// An ingress stall (StallEvery, StallFor) strikes before all of them: it
// delays when the request is counted against the rate limit.
type Faults struct {
	ErrorRatio          float64       // answer 500 without delivering
	LatencyMean         time.Duration // added latency before processing
	LatencyJitter       time.Duration // spread of the latency (see LatencyDist)
	LatencyDist         string        // uniform (default) | normal | exponential
	HangRatio           float64       // hang without delivering
	HangFor             time.Duration // how long a hang lasts (default 2m)
	ResetRatio          float64       // reset the TCP connection (RST) without delivering
	AcceptThenFailRatio float64       // deliver, then fail as AcceptThenFailMode says
	AcceptThenFailMode  string        // "500" (default) | "drop" | "hang"
	Outage              bool          // every request 500 (nothing delivered)
	// StallEvery and StallFor are an ingress stall: in every StallEvery
	// (counted from the Unix epoch, so that stalls start at multiples of
	// StallEvery of wall-clock time), requests that arrive during the first
	// StallFor are held until it ends and only then counted against the rate
	// limit, as if a link or a load balancer in front of LINE had paused.
	// Requests that left evenly reach the counter together. Both or neither.
	StallEvery time.Duration
	StallFor   time.Duration
}

// IsZero reports whether no fault is configured.
func (f Faults) IsZero() bool { return f == Faults{} }

// Validate checks ratios, durations and modes; errors name the field.
func (f Faults) Validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"ErrorRatio", f.ErrorRatio}, {"HangRatio", f.HangRatio}, {"ResetRatio", f.ResetRatio}, {"AcceptThenFailRatio", f.AcceptThenFailRatio}} {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			return fmt.Errorf("%s: %v is not in [0, 1]", r.name, r.v)
		}
	}
	if f.LatencyMean < 0 || f.LatencyJitter < 0 || f.HangFor < 0 {
		return fmt.Errorf("LatencyMean, LatencyJitter, HangFor: must not be negative")
	}
	if f.StallEvery < 0 || f.StallFor < 0 {
		return fmt.Errorf("StallEvery, StallFor: must not be negative")
	}
	if (f.StallEvery == 0) != (f.StallFor == 0) || f.StallFor >= f.StallEvery && f.StallEvery > 0 {
		return fmt.Errorf("StallFor: %v must be set with StallEvery and shorter than it (%v)", f.StallFor, f.StallEvery)
	}
	switch f.LatencyDist {
	case "", DistUniform, DistNormal, DistExponential:
	default:
		return fmt.Errorf("LatencyDist: %q is not uniform, normal or exponential", f.LatencyDist)
	}
	switch f.AcceptThenFailMode {
	case "", ModeError, ModeDrop, ModeHang:
	default:
		return fmt.Errorf("AcceptThenFailMode: %q is not 500, drop or hang", f.AcceptThenFailMode)
	}
	return nil
}

func (f Faults) hangFor() time.Duration {
	if f.HangFor > 0 {
		return f.HangFor
	}
	return DefaultHangFor
}

func (f Faults) atfMode() string {
	if f.AcceptThenFailMode == "" {
		return ModeError
	}
	return f.AcceptThenFailMode
}

// latency draws one added latency.
func (f Faults) latency() time.Duration {
	if f.LatencyMean == 0 && f.LatencyJitter == 0 {
		return 0
	}
	m, j := float64(f.LatencyMean), float64(f.LatencyJitter)
	var d float64
	switch f.LatencyDist {
	case DistNormal:
		d = m + rand.NormFloat64()*j
	case DistExponential:
		d = m + rand.ExpFloat64()*j
	default:
		d = m + (rand.Float64()*2-1)*j
	}
	if d < 0 {
		d = 0
	}
	return time.Duration(d)
}

func hit(ratio float64) bool {
	return ratio > 0 && (ratio >= 1 || rand.Float64() < ratio)
}

// stall returns how long a request arriving at t is held by the ingress
// stall: until the end of the stall it arrived in, or zero.
func (f Faults) stall(t time.Time) time.Duration {
	if f.StallEvery <= 0 {
		return 0
	}
	if phase := time.Duration(t.UnixNano() % int64(f.StallEvery)); phase < f.StallFor {
		return f.StallFor - phase
	}
	return 0
}

// ParseFaults parses the compact form used by --fault, e.g.
// "error=0.1,latency=5ms±2ms,latency_dist=normal,hang=0.01,hang_for=30s,
// reset=0.01,accept_then_fail=0.2,accept_then_fail_mode=drop,outage=true,
// stall=50ms/700ms" (held 50 ms at the start of every 700 ms).
// "latency=5ms+-2ms" is accepted too.
func ParseFaults(s string) (Faults, error) {
	var f Faults
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return Faults{}, fmt.Errorf("fault %q: want key=value", part)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		var err error
		switch k {
		case "error", "error_ratio":
			f.ErrorRatio, err = strconv.ParseFloat(v, 64)
		case "latency":
			mean, jit, found := strings.Cut(v, "±")
			if !found {
				mean, jit, found = strings.Cut(v, "+-")
			}
			if f.LatencyMean, err = time.ParseDuration(mean); err == nil && found {
				f.LatencyJitter, err = time.ParseDuration(jit)
			}
		case "latency_mean":
			f.LatencyMean, err = time.ParseDuration(v)
		case "latency_jitter":
			f.LatencyJitter, err = time.ParseDuration(v)
		case "latency_dist":
			f.LatencyDist = v
		case "hang", "hang_ratio":
			f.HangRatio, err = strconv.ParseFloat(v, 64)
		case "hang_for":
			f.HangFor, err = time.ParseDuration(v)
		case "reset", "reset_ratio":
			f.ResetRatio, err = strconv.ParseFloat(v, 64)
		case "accept_then_fail", "accept_then_fail_ratio":
			f.AcceptThenFailRatio, err = strconv.ParseFloat(v, 64)
		case "accept_then_fail_mode", "mode":
			f.AcceptThenFailMode = v
		case "outage":
			f.Outage, err = strconv.ParseBool(v)
		case "stall":
			hold, every, found := strings.Cut(v, "/")
			if !found {
				err = fmt.Errorf("want stall=<for>/<every>, e.g. 50ms/700ms")
			} else if f.StallFor, err = time.ParseDuration(hold); err == nil {
				f.StallEvery, err = time.ParseDuration(every)
			}
		case "stall_for":
			f.StallFor, err = time.ParseDuration(v)
		case "stall_every":
			f.StallEvery, err = time.ParseDuration(v)
		default:
			return Faults{}, fmt.Errorf("fault %q: unknown key %q", part, k)
		}
		if err != nil {
			return Faults{}, fmt.Errorf("fault %q: %v", part, err)
		}
	}
	if err := f.Validate(); err != nil {
		return Faults{}, err
	}
	return f, nil
}

// ParseFaultSpec parses "<endpoint>:<faults>" as given to --fault; the
// endpoint is a token or "*".
func ParseFaultSpec(s string) (string, Faults, error) {
	ep, rest, ok := strings.Cut(s, ":")
	if !ok {
		return "", Faults{}, fmt.Errorf("fault spec %q: want <endpoint>:<key=value,...>", s)
	}
	ep = strings.TrimSpace(ep)
	if err := checkFaultEndpoint(ep); err != nil {
		return "", Faults{}, err
	}
	f, err := ParseFaults(rest)
	if err != nil {
		return "", Faults{}, fmt.Errorf("fault spec %q: %w", s, err)
	}
	return ep, f, nil
}

func checkFaultEndpoint(ep string) error {
	if ep == "*" {
		return nil
	}
	if _, ok := epByToken[ep]; !ok {
		return fmt.Errorf("unknown endpoint %q (want * or one of %s)", ep, strings.Join(EndpointTokens(), ", "))
	}
	return nil
}

// String renders the compact form accepted by ParseFaults.
func (f Faults) String() string {
	var b []string
	add := func(k, v string) { b = append(b, k+"="+v) }
	ff := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	if f.ErrorRatio != 0 {
		add("error", ff(f.ErrorRatio))
	}
	if f.LatencyMean != 0 || f.LatencyJitter != 0 {
		add("latency", f.LatencyMean.String()+"+-"+f.LatencyJitter.String())
	}
	if f.LatencyDist != "" {
		add("latency_dist", f.LatencyDist)
	}
	if f.HangRatio != 0 {
		add("hang", ff(f.HangRatio))
	}
	if f.HangFor != 0 {
		add("hang_for", f.HangFor.String())
	}
	if f.ResetRatio != 0 {
		add("reset", ff(f.ResetRatio))
	}
	if f.AcceptThenFailRatio != 0 {
		add("accept_then_fail", ff(f.AcceptThenFailRatio))
	}
	if f.AcceptThenFailMode != "" {
		add("accept_then_fail_mode", f.AcceptThenFailMode)
	}
	if f.Outage {
		add("outage", "true")
	}
	if f.StallEvery != 0 || f.StallFor != 0 {
		add("stall", f.StallFor.String()+"/"+f.StallEvery.String())
	}
	return strings.Join(b, ",")
}

// faultsJSON is the wire form: durations as Go duration strings.
type faultsJSON struct {
	ErrorRatio          float64  `json:"errorRatio,omitempty" yaml:"error_ratio"`
	LatencyMean         duration `json:"latencyMean,omitempty" yaml:"latency_mean"`
	LatencyJitter       duration `json:"latencyJitter,omitempty" yaml:"latency_jitter"`
	LatencyDist         string   `json:"latencyDist,omitempty" yaml:"latency_dist"`
	HangRatio           float64  `json:"hangRatio,omitempty" yaml:"hang_ratio"`
	HangFor             duration `json:"hangFor,omitempty" yaml:"hang_for"`
	ResetRatio          float64  `json:"resetRatio,omitempty" yaml:"reset_ratio"`
	AcceptThenFailRatio float64  `json:"acceptThenFailRatio,omitempty" yaml:"accept_then_fail_ratio"`
	AcceptThenFailMode  string   `json:"acceptThenFailMode,omitempty" yaml:"accept_then_fail_mode"`
	Outage              bool     `json:"outage,omitempty" yaml:"outage"`
	StallEvery          duration `json:"stallEvery,omitempty" yaml:"stall_every"`
	StallFor            duration `json:"stallFor,omitempty" yaml:"stall_for"`
}

func (j faultsJSON) faults() Faults {
	return Faults{
		ErrorRatio: j.ErrorRatio, LatencyMean: time.Duration(j.LatencyMean), LatencyJitter: time.Duration(j.LatencyJitter),
		LatencyDist: j.LatencyDist, HangRatio: j.HangRatio, HangFor: time.Duration(j.HangFor), ResetRatio: j.ResetRatio,
		AcceptThenFailRatio: j.AcceptThenFailRatio, AcceptThenFailMode: j.AcceptThenFailMode, Outage: j.Outage,
		StallEvery: time.Duration(j.StallEvery), StallFor: time.Duration(j.StallFor),
	}
}

// MarshalJSON writes camelCase fields with durations as strings ("5ms").
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		ErrorRatio: f.ErrorRatio, LatencyMean: duration(f.LatencyMean), LatencyJitter: duration(f.LatencyJitter),
		LatencyDist: f.LatencyDist, HangRatio: f.HangRatio, HangFor: duration(f.HangFor), ResetRatio: f.ResetRatio,
		AcceptThenFailRatio: f.AcceptThenFailRatio, AcceptThenFailMode: f.AcceptThenFailMode, Outage: f.Outage,
		StallEvery: duration(f.StallEvery), StallFor: duration(f.StallFor),
	})
}

// UnmarshalJSON reads the MarshalJSON form; durations may also be numbers (ns).
// Unknown fields are an error.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := decodeStrict(b, &j); err != nil {
		return err
	}
	*f = j.faults()
	return nil
}

// duration is a time.Duration that reads and writes JSON as "5ms" (numbers
// are nanoseconds) and YAML as a duration string.
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		*d = duration(v)
		return err
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration: want a string like \"5ms\" or nanoseconds")
	}
	*d = duration(n)
	return nil
}

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = duration(v)
	return err
}
