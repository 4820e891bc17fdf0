package dispatch

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the engine's Prometheus collectors. Labels stay low-cardinality
// (endpoint, class, result, reason): per-bot figures live in the stats API.
type Metrics struct {
	attempts  *prometheus.CounterVec
	outcomes  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	laneDepth prometheus.Gauge
	held      prometheus.Gauge
	spills    prometheus.Counter
	// spillBatches counts LINE_BACKLOG messages: spills / spillBatches is
	// the mean batch.
	spillBatches prometheus.Counter
	stale        *prometheus.CounterVec
	// lateAnswers counts requests whose answer came late enough to move
	// them in their lane's window log (see limiter.Answered).
	lateAnswers *prometheus.CounterVec
	// redelivered counts redeliveries of messages the pod still held.
	redelivered prometheus.Counter
	// lookahead counts intents read ahead of their partition's consumer.
	lookahead prometheus.Counter
	// pulls counts pull requests to the partition consumers: intents
	// pulled / pulls is the mean batch.
	pulls prometheus.Counter
}

// NewMetrics builds the collectors and registers them with reg (nil: none).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linedispatch_attempts_total",
			Help: "Requests sent to LINE by endpoint and classified result (sent, retry, throttle, quota, reject, canceled).",
		}, []string{"endpoint", "class"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linedispatch_outcomes_total",
			Help: "Intents finished, by endpoint, result (sent, dead) and dead-letter reason.",
		}, []string{"endpoint", "result", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "linedispatch_intent_latency_seconds",
			Help:    "From an intent's createdAt to LINE's acceptance, for sent intents.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 16),
		}, []string{"endpoint"}),
		laneDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "linedispatch_lane_depth",
			Help: "Intents queued in lanes (all lanes together), waiting for a token or a retry.",
		}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "linedispatch_held_intents",
			Help: "Intents the pod holds: queued, in flight, or being pulled.",
		}),
		spills: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "linedispatch_spills_total",
			Help: "Intents moved from a full lane to LINE_BACKLOG.",
		}),
	}
	m.spillBatches = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "linedispatch_spill_batches_total",
		Help: "LINE_BACKLOG messages published by spills; each holds one or more intents of one key (spills_total / spill_batches_total is the mean batch).",
	})
	m.stale = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "linedispatch_stale_tokens_total",
		Help: "Requests that would have left more than a tenth of the limiter's guard after their token (a starved worker): restamped (the admission moved to the real departure) or requeued (a new token).",
	}, []string{"action"})
	m.lateAnswers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "linedispatch_late_answers_total",
		Help: "Requests answered more than half the limiter's guard later than the fastest recent answer of their endpoint: LINE may have counted them that much after they left (a stall on the way), so their lane's window log moved them there. Many of them mean a slow or jittery path to LINE.",
	}, []string{"endpoint"})
	m.redelivered = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "linedispatch_redeliveries_ignored_total",
		Help: "Messages JetStream delivered again while the pod still held them, or just after it finished them (their ack deadline passed, e.g. keep-alive ran late): ignored; the held copy is acked or handed back, a finished one is acked again.",
	})
	m.lookahead = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "linedispatch_lookahead_total",
		Help: "Intents read from LINE_INTENTS ahead of their partition's consumer, because the partition was deep (a hot key's backlog passing through) and their key did not spill.",
	})
	m.pulls = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "linedispatch_pulls_total",
		Help: "Pull requests to the partition consumers. Each costs JetStream a request and the pod a subscription, so intents pulled per request (outcomes_total / pulls_total on a busy pod) should be tens, not a few.",
	})
	if reg != nil {
		reg.MustRegister(m.attempts, m.outcomes, m.latency, m.laneDepth, m.held, m.spills, m.spillBatches, m.stale, m.lateAnswers, m.redelivered, m.lookahead, m.pulls)
	}
	return m
}
