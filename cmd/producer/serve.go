package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/intent"
)

func runServe(ctx context.Context, args []string, std stdio) int {
	var (
		nf              natsFlags
		addr            string
		logLevel        string
		shutdownTimeout time.Duration
		cfg             = defaultGatewayConfig()
	)
	fs := newFlagSet("serve", "serve [flags]",
		"Runs the HTTP gateway. POST /v1/intents takes one intent object or {\"intents\": [...]} (application/json)\n"+
			"and answers 202 {\"ids\": [...], \"duplicates\": n} once JetStream acknowledged every intent; a request\n"+
			"with any invalid intent is refused whole (400, nothing published). Missing id and createdAt are\n"+
			"filled in (v4, now) and returned. Also GET /healthz and GET /metrics (Prometheus).\n"+
			"SIGINT/SIGTERM stop accepting connections and finish requests in flight.",
		std.stderr)
	nf.register(fs, std.getenv)
	fs.StringVar(&addr, "addr", "127.0.0.1:8090", "listen address (host:port)")
	fs.IntVar(&cfg.MaxBatch, "max-batch", cfg.MaxBatch, "most intents in one request")
	fs.Int64Var(&cfg.MaxBody, "max-body", cfg.MaxBody, fmt.Sprintf("largest request body in bytes (raised to at least %d, one maximal intent)", intent.MaxSize))
	fs.DurationVar(&cfg.PublishTimeout, "publish-timeout", cfg.PublishTimeout, "wait for the JetStream acks of one request at most this long (then 503)")
	fs.IntVar(&cfg.MaxInFlight, "max-in-flight", cfg.MaxInFlight, "publishes awaiting an ack at once, per request")
	fs.DurationVar(&shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGINT/SIGTERM, wait this long for requests in flight")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(std.stderr, "producer serve: unexpected arguments %q\n", pos)
		return exitUsage
	}
	if cfg.MaxBatch < 1 || cfg.MaxInFlight < 1 || cfg.PublishTimeout <= 0 {
		fmt.Fprintln(std.stderr, "producer serve: --max-batch, --max-in-flight and --publish-timeout must be positive")
		return exitUsage
	}
	log, err := newLogger(std, logLevel)
	if err != nil {
		fmt.Fprintln(std.stderr, "producer serve:", err)
		return exitUsage
	}
	log = log.With().Str("component", "gateway").Logger()

	nc, js, err := nf.connect("serve", log)
	if err != nil {
		log.Error().Err(err).Msg("nats")
		return exitFail
	}
	defer func() {
		// Drain flushes what is buffered; every request already awaited its acks.
		if err := nc.Drain(); err != nil {
			nc.Close()
		}
	}()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error().Err(err).Str("addr", addr).Msg("listen")
		return exitFail
	}
	log.Info().Str("addr", ln.Addr().String()).Str("nats", nc.ConnectedUrlRedacted()).Msg("gateway listening")
	if err := serve(ctx, ln, newGatewayWith(js, log, cfg), log, cfg.PublishTimeout, shutdownTimeout); err != nil {
		log.Error().Err(err).Msg("gateway stopped")
		return exitFail
	}
	log.Info().Msg("gateway stopped")
	return exitOK
}

// serve runs h on ln until ctx ends, then shuts down gracefully: no new
// connections, requests in flight finish (each waits for its acks) within
// shutdownTimeout.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log zerolog.Logger, publishTimeout, shutdownTimeout time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		// A request may wait publishTimeout for its acks after reading.
		WriteTimeout: publishTimeout + 30*time.Second,
		IdleTimeout:  2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info().Dur("timeout", shutdownTimeout).Msg("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
