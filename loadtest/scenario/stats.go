package scenario

import (
	"math"
	"slices"
	"time"
)

// EdgeFraction is the share of a drain left out at each end when measuring
// its steady part: the first and last 5 % of a key's accepts.
const EdgeFraction = 0.05

// Utilisation is a key's achieved rate over the steady part of a drain,
// against its limit.
type Utilisation struct {
	// Accepts is the number of sent outcomes of the key.
	Accepts int `json:"accepts"`
	// Used is the number of intervals in the steady part (accepts in it - 1).
	Used int `json:"used"`
	// DrainSeconds is the time from the first to the last accept.
	DrainSeconds float64 `json:"drainSeconds"`
	// SteadySeconds is the span of the steady part.
	SteadySeconds float64 `json:"steadySeconds"`
	// Rate is the achieved rate over the steady part (per second).
	Rate float64 `json:"ratePerSec"`
	// LimitRate is the limit as a rate (count / period, per second).
	LimitRate float64 `json:"limitPerSec"`
	// Value is Rate / LimitRate.
	Value float64 `json:"utilisation"`
	// LongestGapSeconds is the longest time between two accepts in the
	// steady part, and LongestGapAt when it began (seconds after the
	// first accept): a stall shows here, an even shortfall does not.
	LongestGapSeconds float64 `json:"longestGapSeconds"`
	LongestGapAt      float64 `json:"longestGapAt"`
}

// MeasureUtilisation computes the utilisation of a key from the sorted
// accept times (unix ns) of its sent outcomes: the first and last
// EdgeFraction of the accepts are left out, and the rate is the number of
// intervals between the remaining first and last accept divided by their
// distance in time.
func MeasureUtilisation(sorted []int64, limitCount int, limitPeriod time.Duration) Utilisation {
	u := Utilisation{Accepts: len(sorted)}
	if limitPeriod > 0 {
		u.LimitRate = float64(limitCount) / limitPeriod.Seconds()
	}
	if len(sorted) < 3 {
		return u
	}
	u.DrainSeconds = float64(sorted[len(sorted)-1]-sorted[0]) / 1e9
	i0, i1 := steadyRange(len(sorted))
	if i1 <= i0 {
		return u
	}
	u.Used = i1 - i0
	span := float64(sorted[i1]-sorted[i0]) / 1e9
	u.SteadySeconds = span
	if span > 0 {
		u.Rate = float64(u.Used) / span
	}
	for i := i0 + 1; i <= i1; i++ {
		if g := float64(sorted[i]-sorted[i-1]) / 1e9; g > u.LongestGapSeconds {
			u.LongestGapSeconds, u.LongestGapAt = g, float64(sorted[i-1]-sorted[0])/1e9
		}
	}
	if u.LimitRate > 0 {
		u.Value = u.Rate / u.LimitRate
	}
	return u
}

// steadyRange returns the first and last index of the steady part of n
// sorted samples.
func steadyRange(n int) (int, int) {
	i0 := int(math.Floor(EdgeFraction * float64(n)))
	i1 := int(math.Ceil((1-EdgeFraction)*float64(n))) - 1
	return max(0, i0), min(n-1, i1)
}

// Throughput is the rate of outcomes of a run.
type Throughput struct {
	Outcomes int `json:"outcomes"`
	// Seconds is the time from the first to the last outcome.
	Seconds float64 `json:"seconds"`
	// Overall is Outcomes / Seconds.
	Overall float64 `json:"overallPerSec"`
	// Steady is the rate over the steady part (first and last 5 % left out),
	// the figure the efficiency ratio uses.
	Steady float64 `json:"steadyPerSec"`
}

// MeasureThroughput computes a run's throughput from sorted outcome times.
func MeasureThroughput(sorted []int64) Throughput {
	t := Throughput{Outcomes: len(sorted)}
	if len(sorted) < 3 {
		return t
	}
	t.Seconds = float64(sorted[len(sorted)-1]-sorted[0]) / 1e9
	if t.Seconds > 0 {
		t.Overall = float64(len(sorted)-1) / t.Seconds
	}
	i0, i1 := steadyRange(len(sorted))
	if span := float64(sorted[i1]-sorted[i0]) / 1e9; i1 > i0 && span > 0 {
		t.Steady = float64(i1-i0) / span
	}
	return t
}

// Latency holds percentiles of publish-to-accept latency (outcome.At -
// CreatedAt), in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P90   float64 `json:"p90Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
	Mean  float64 `json:"meanMs"`
}

// MeasureLatency sorts lat (ns) in place and returns its percentiles
// (nearest rank).
func MeasureLatency(lat []int64) Latency {
	l := Latency{Count: len(lat)}
	if len(lat) == 0 {
		return l
	}
	slices.Sort(lat)
	ms := func(ns int64) float64 { return math.Round(float64(ns)/1e4) / 100 }
	l.P50, l.P90, l.P99 = ms(percentile(lat, 0.50)), ms(percentile(lat, 0.90)), ms(percentile(lat, 0.99))
	l.Max = ms(lat[len(lat)-1])
	var sum float64
	for _, v := range lat {
		sum += float64(v)
	}
	l.Mean = ms(int64(sum / float64(len(lat))))
	return l
}

// percentile of sorted values, nearest rank (as internal/devstack).
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

// Gaps describes the spacing of consecutive accepts of one key.
type Gaps struct {
	Count int `json:"count"`
	// IdealMs is the period divided by the count of the limit.
	IdealMs float64 `json:"idealMs"`
	MinMs   float64 `json:"minMs"`
	MeanMs  float64 `json:"meanMs"`
	MaxMs   float64 `json:"maxMs"`
	StdMs   float64 `json:"stdMs"`
	// CV is the coefficient of variation: standard deviation / mean.
	CV float64 `json:"cv"`
}

// MeasureGaps computes the gaps between consecutive sorted accept times.
func MeasureGaps(sorted []int64, limitCount int, limitPeriod time.Duration) Gaps {
	g := Gaps{}
	if limitCount > 0 {
		g.IdealMs = round2(float64(limitPeriod) / 1e6 / float64(limitCount))
	}
	if len(sorted) < 2 {
		return g
	}
	g.Count = len(sorted) - 1
	minG, maxG := math.MaxFloat64, 0.0
	var sum, sq float64
	for i := 1; i < len(sorted); i++ {
		d := float64(sorted[i]-sorted[i-1]) / 1e6
		minG, maxG = min(minG, d), max(maxG, d)
		sum += d
		sq += d * d
	}
	n := float64(g.Count)
	mean := sum / n
	std := math.Sqrt(max(0, sq/n-mean*mean))
	g.MinMs, g.MaxMs, g.MeanMs, g.StdMs = round2(minG), round2(maxG), round2(mean), round2(std)
	if mean > 0 {
		g.CV = math.Round(std/mean*1e4) / 1e4
	}
	return g
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// Combined is the throughput of the three physical stages in series: a
// message must be published, consumed and acked, and sent over HTTP, and a
// machine doing all three spends 1/a + 1/b + 1/c seconds per message.
func Combined(publish, consume, http float64) float64 {
	if publish <= 0 || consume <= 0 || http <= 0 {
		return 0
	}
	return 1 / (1/publish + 1/consume + 1/http)
}
