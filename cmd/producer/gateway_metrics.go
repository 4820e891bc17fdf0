package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// gatewayMetrics live in a registry of their own (not the global one) so that
// every gateway, and every test, starts from zero without registration clashes.
// Labels stay low-cardinality: HTTP code and result, never bot or channel.
type gatewayMetrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	intents        *prometheus.CounterVec
	publishSeconds prometheus.Histogram
	requestSeconds prometheus.Histogram
}

func newGatewayMetrics() *gatewayMetrics {
	m := &gatewayMetrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linedispatch_gateway_requests_total",
			Help: "HTTP requests by status code.",
		}, []string{"code"}),
		intents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "linedispatch_gateway_intents_total",
			Help: "Intents by result: accepted (stored), duplicate (stored before), rejected (invalid, or in an invalid or oversized request), failed (not acknowledged).",
		}, []string{"result"}),
		publishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "linedispatch_gateway_publish_seconds",
			Help:    "Time from the first publish of a request to its last JetStream ack.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms .. 16 s
		}),
		requestSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "linedispatch_gateway_request_seconds",
			Help:    "HTTP request duration, all endpoints.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
	}
	for _, r := range []string{"accepted", "duplicate", "rejected", "failed"} {
		m.intents.WithLabelValues(r) // export zeros, so rates work from the start
	}
	m.reg.MustRegister(m.requests, m.intents, m.publishSeconds, m.requestSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *gatewayMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

func (m *gatewayMetrics) rejected(n int) {
	m.intents.WithLabelValues("rejected").Add(float64(n))
}

func (m *gatewayMetrics) published(accepted, duplicate, failed int) {
	m.intents.WithLabelValues("accepted").Add(float64(accepted))
	m.intents.WithLabelValues("duplicate").Add(float64(duplicate))
	m.intents.WithLabelValues("failed").Add(float64(failed))
}

// instrument counts and logs every request: 5xx at error level, 4xx at info
// (a client mistake, useful when debugging a producer), the rest at debug so
// a load test does not drown the log.
func (m *gatewayMetrics) instrument(next http.Handler, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		took := time.Since(start)
		m.requests.WithLabelValues(strconv.Itoa(sw.status)).Inc()
		m.requestSeconds.Observe(took.Seconds())
		ev := log.Debug()
		switch {
		case sw.status >= 500:
			ev = log.Error()
		case sw.status >= 400:
			ev = log.Info()
		}
		ev.Str("method", r.Method).Str("path", r.URL.Path).Int("status", sw.status).
			Str("remote", r.RemoteAddr).Dur("took", took).Msg("http request")
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
