package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// WaitOutcomes polls until LINE_OUTCOMES holds at least n outcomes or ctx ends.
func WaitOutcomes(ctx context.Context, js jetstream.JetStream, n int) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		got, err := CountOutcomes(ctx, js)
		if err == nil && got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d outcomes, have %d: %w", n, got, ctx.Err())
		case <-t.C:
		}
	}
}

// CountOutcomes is the number of outcomes stored.
func CountOutcomes(ctx context.Context, js jetstream.JetStream) (int, error) {
	s, err := js.Stream(ctx, queue.OutcomesStream)
	if err != nil {
		return 0, err
	}
	return int(s.CachedInfo().State.Msgs), nil
}

// ReadOutcomes returns every stored outcome, in stream order.
func ReadOutcomes(ctx context.Context, js jetstream.JetStream) ([]outcome.Outcome, error) {
	n, err := CountOutcomes(ctx, js)
	if err != nil || n == 0 {
		return nil, err
	}
	c, err := js.OrderedConsumer(ctx, queue.OutcomesStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	out := make([]outcome.Outcome, 0, n)
	for len(out) < n {
		batch, err := c.Fetch(min(n-len(out), 1000), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			var o outcome.Outcome
			if err := json.Unmarshal(m.Data(), &o); err != nil {
				return nil, fmt.Errorf("outcome %s: %w", m.Subject(), err)
			}
			out = append(out, o)
		}
		if got == 0 {
			if err := batch.Error(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("outcomes: read %d of %d", len(out), n)
		}
	}
	return out, nil
}

// Summary condenses outcomes.
type Summary struct {
	Outcomes int `json:"outcomes"`
	// UniqueIntents counts distinct intent IDs; it equals Outcomes when no
	// intent has two outcomes.
	UniqueIntents int            `json:"uniqueIntents"`
	Sent          int            `json:"sent"`
	SentVia409    int            `json:"sentVia409"`
	Dead          map[string]int `json:"dead"`
	Retried       int            `json:"retried"`
	// Latency percentiles from createdAt to LINE's acceptance, sent only.
	LatencyP50 time.Duration `json:"latencyP50"`
	LatencyP90 time.Duration `json:"latencyP90"`
	LatencyP99 time.Duration `json:"latencyP99"`
	LatencyMax time.Duration `json:"latencyMax"`
}

// Summarize counts outcomes.
func Summarize(outs []outcome.Outcome) Summary {
	s := Summary{Outcomes: len(outs), Dead: map[string]int{}}
	ids := make(map[string]struct{}, len(outs))
	var lat []time.Duration
	for _, o := range outs {
		ids[o.IntentID] = struct{}{}
		if o.Attempts > 1 {
			s.Retried++
		}
		switch o.Result {
		case outcome.Sent:
			s.Sent++
			if o.Conflict {
				s.SentVia409++
			}
			if !o.CreatedAt.IsZero() {
				lat = append(lat, o.At.Sub(o.CreatedAt))
			}
		case outcome.Dead:
			s.Dead[o.Reason]++
		}
	}
	s.UniqueIntents = len(ids)
	slices.Sort(lat)
	s.LatencyP50, s.LatencyP90, s.LatencyP99 = Percentile(lat, 0.50), Percentile(lat, 0.90), Percentile(lat, 0.99)
	if len(lat) > 0 {
		s.LatencyMax = lat[len(lat)-1]
	}
	return s
}

// Percentile of sorted durations (nearest rank), 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}
