// Package pod wires one dispatcher pod together: JetStream, the sender, the
// unit registry, the statistics projection, the engine and the HTTP server
// (health, metrics, statistics).
package pod

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/config"
	"github.com/linedispatch/linedispatch/internal/dispatch"
	"github.com/linedispatch/linedispatch/internal/ownership"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/sender"
	"github.com/linedispatch/linedispatch/internal/stats"
	"github.com/linedispatch/linedispatch/internal/unit"
)

// Pod is a running dispatcher: JetStream, the engine, the statistics
// projection and the HTTP server.
type Pod struct {
	conn        *queue.Conn
	engine      *dispatch.Engine
	sender      *sender.Sender
	projector   *stats.Projector
	statsBucket string
	server      *http.Server
	addr        string
	log         zerolog.Logger
	done        chan error
}

// Start opens JetStream (embedded or external), starts the engine and the
// HTTP server, and returns; the pod runs until ctx ends. cfg must be
// validated.
func Start(ctx context.Context, cfg *config.Config, log zerolog.Logger) (*Pod, error) {
	cfg.NATS.ConnName = "linedispatch-" + cfg.Dispatch.WithDefaults().Pod
	conn, err := queue.Open(ctx, cfg.NATS, log)
	if err != nil {
		return nil, err
	}
	p := &Pod{conn: conn, log: log, done: make(chan error, 1), statsBucket: cfg.Stats.Bucket}
	ok := false
	defer func() {
		if !ok {
			p.close()
		}
	}()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	tokens, err := newTokens(cfg, log)
	if err != nil {
		return nil, err
	}
	sm := sender.NewMetrics()
	if err := sm.Register(reg); err != nil {
		return nil, err
	}
	p.sender, err = sender.New(sender.Config{BaseURL: cfg.LINE.BaseURL, BotHeader: cfg.LINE.BotHeader, Timeout: cfg.LINE.Timeout, Metrics: sm}, tokens, log)
	if err != nil {
		return nil, err
	}
	units, err := retryStart(ctx, log, "unit registry", func() (*unit.Registry, error) {
		return unit.NewRegistry(ctx, conn.JS, cfg.Units, log)
	})
	if err != nil {
		return nil, err
	}
	// Every pod runs the projector; one at a time holds the lease and folds.
	scfg := cfg.Stats
	if scfg.Name == "" {
		scfg.Name = cfg.Dispatch.WithDefaults().Pod
	}
	p.projector, err = retryStart(ctx, log, "statistics projector", func() (*stats.Projector, error) {
		return stats.StartProjector(ctx, conn.JS, scfg, log)
	})
	if err != nil {
		return nil, err
	}
	dcfg := cfg.Dispatch
	if dcfg.Limits, err = cfg.LimitTable(); err != nil {
		return nil, err
	}
	podName := dcfg.WithDefaults().Pod
	ocfg := cfg.Ownership.WithDefaults()
	tracker, err := retryStart(ctx, log, "ownership", func() (*ownership.Tracker, error) {
		return ownership.Start(ctx, conn.JS, conn.Config().Partitions, podName, ocfg, log)
	})
	if err != nil {
		return nil, err
	}
	p.engine, err = dispatch.New(dcfg, dispatch.Deps{
		Ownership:       tracker,
		OwnershipSettle: ocfg.Settle,
		JS:              conn.JS,
		Partitions:      conn.Config().Partitions,
		Sender:          p.sender,
		Units:           units,
		Metrics:         dispatch.NewMetrics(reg),
		Logger:          log,
	})
	if err != nil {
		return nil, err
	}
	if err := p.serveHTTP(cfg.HTTP, reg); err != nil {
		return nil, err
	}
	go func() { p.done <- p.run(ctx) }()
	ok = true
	return p, nil
}

func (p *Pod) serveHTTP(hc config.HTTP, reg *prometheus.Registry) error {
	addr := hc.Addr
	if addr == "-" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http.addr: %w", err)
	}
	p.addr = ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !p.conn.NC.IsConnected() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"nats disconnected"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ready"}`))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/v1/stats/", stats.Handler(stats.NewStore(p.conn.JS, p.statsBucket), p.log))
	if hc.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"not found"}`))
	})
	p.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := p.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error().Err(err).Msg("http server stopped")
		}
	}()
	p.log.Info().Str("addr", p.addr).Msg("http server listening")
	return nil
}

// run runs the engine until ctx ends, then stops everything.
func (p *Pod) run(ctx context.Context) error {
	err := p.engine.Run(ctx)
	p.close()
	return err
}

// Wait blocks until the pod has stopped.
func (p *Pod) Wait() error { return <-p.done }

// Addr is the HTTP server's address ("" when disabled).
func (p *Pod) Addr() string { return p.addr }

// Projector is the pod's statistics projector.
func (p *Pod) Projector() *stats.Projector { return p.projector }

// Conn is the pod's JetStream connection.
func (p *Pod) Conn() *queue.Conn { return p.conn }

func (p *Pod) close() {
	if p.server != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = p.server.Shutdown(sctx)
		cancel()
	}
	if p.projector != nil {
		p.projector.Stop()
	}
	if p.sender != nil {
		p.sender.Close()
	}
	p.conn.Close()
}

// startRetryFor bounds how long a pod keeps retrying a component that cannot
// reach JetStream at start.
const startRetryFor = time.Minute

// retryStart retries start while JetStream does not answer in time: pods
// started together with a busy or newly elected cluster see KV calls time
// out for a while, and should wait rather than exit. Other errors (a
// duplicate pod name, a refused configuration) are final.
func retryStart[T any](ctx context.Context, log zerolog.Logger, what string, start func() (T, error)) (T, error) {
	deadline := time.Now().Add(startRetryFor)
	for attempt := 1; ; attempt++ {
		v, err := start()
		transient := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
			errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrJetStreamNotEnabled)
		if err == nil || !transient || ctx.Err() != nil || time.Now().After(deadline) {
			if err != nil {
				err = fmt.Errorf("%s: %w", what, err)
			}
			return v, err
		}
		log.Warn().Err(err).Str("component", what).Int("attempt", attempt).Msg("JetStream not answering at start; retrying")
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
