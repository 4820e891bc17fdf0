package sender

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Status classes of the requests counter. Together with the endpoint they are
// the only labels: bot and channel IDs would make the series count grow with
// the customer base.
const (
	status2xx = iota
	status409
	status4xx
	status429
	status5xx
	statusError // no HTTP answer: timeout, network, canceled; also 1xx/3xx
	statusCount
)

var statusNames = [statusCount]string{"2xx", "409", "4xx", "429", "5xx", "error"}

func statusLabel(code int) int {
	switch {
	case code >= 200 && code <= 299:
		return status2xx
	case code == 409:
		return status409
	case code == 429:
		return status429
	case code >= 400 && code <= 499:
		return status4xx
	case code >= 500 && code <= 599:
		return status5xx
	}
	return statusError
}

// Metrics records every attempt the sender makes (a 401 repeated with a fresh
// token counts twice). Create it with NewMetrics, register it, and pass it in
// Config.Metrics. A nil *Metrics records nothing.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// Children resolved once, so an attempt costs no label hashing.
	reqChild [len(routes)][statusCount]prometheus.Counter
	durChild [len(routes)]prometheus.Observer
}

// NewMetrics creates the collectors:
//
//	linedispatch_sender_requests_total{endpoint,status}
//	linedispatch_sender_request_duration_seconds{endpoint}
func NewMetrics() *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "linedispatch", Subsystem: "sender", Name: "requests_total",
			Help: "LINE API attempts by endpoint and status class (2xx, 409, 4xx, 429, 5xx, error).",
		}, []string{"endpoint", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "linedispatch", Subsystem: "sender", Name: "request_duration_seconds",
			Help:    "Duration of LINE API attempts, from sending to the end of the body.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12), // 5 ms .. ~10 s (the default timeout)
		}, []string{"endpoint"}),
	}
	for i, r := range routes {
		for st := range statusCount {
			m.reqChild[i][st] = m.requests.WithLabelValues(string(r.endpoint), statusNames[st])
		}
		m.durChild[i] = m.duration.WithLabelValues(string(r.endpoint))
	}
	return m
}

// Register registers the collectors with reg, both or neither.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	if err := reg.Register(m.requests); err != nil {
		return fmt.Errorf("sender: metrics: %w", err)
	}
	if err := reg.Register(m.duration); err != nil {
		reg.Unregister(m.requests)
		return fmt.Errorf("sender: metrics: %w", err)
	}
	return nil
}

func (m *Metrics) observe(route, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.reqChild[route][status].Inc()
	m.durChild[route].Observe(d.Seconds())
}
