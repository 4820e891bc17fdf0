package queue

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Conn is a connection to JetStream with the streams provisioned, and the
// embedded server behind it when there is one.
type Conn struct {
	NC     *nats.Conn
	JS     jetstream.JetStream
	cfg    Config
	srv    *server.Server
	url    string
	closed chan struct{} // closed by nats.go once the connection is closed
}

// Open starts the embedded server when cfg.URL is empty, connects, and
// provisions the streams.
func Open(ctx context.Context, cfg Config, log zerolog.Logger) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	c := &Conn{cfg: cfg, url: cfg.URL, closed: make(chan struct{})}
	if cfg.URL == "" {
		srv, err := StartEmbedded(cfg.DataDir, cfg.Listen)
		if err != nil {
			return nil, err
		}
		c.srv, c.url = srv, srv.ClientURL()
		log.Info().Str("url", c.url).Str("dataDir", cfg.DataDir).Msg("embedded nats-server started")
	}
	opts := []nats.Option{
		nats.Name(cfg.ConnName),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn().Err(err).Msg("nats disconnected")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info().Str("url", nc.ConnectedUrlRedacted()).Msg("nats reconnected") }),
		nats.ClosedHandler(func(*nats.Conn) { close(c.closed) }),
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	nc, err := nats.Connect(c.url, opts...)
	if err != nil {
		c.shutdownServer()
		return nil, fmt.Errorf("connect to nats %s: %w", redact(c.url), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		c.shutdownServer()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	c.NC, c.JS = nc, js
	partitions, err := provisionWithRetry(ctx, js, cfg, log)
	if err != nil {
		c.Close()
		return nil, err
	}
	if cfg.Partitions == 0 && partitions != DefaultPartitions {
		log.Info().Int("partitions", partitions).Int("default", DefaultPartitions).
			Msg("nats.partitions not set: using the partition count LINE_INTENTS was created with")
	}
	c.cfg.Partitions = partitions
	return c, nil
}

// provisionWithRetry retries provisioning for a minute: a cluster that is
// still electing its JetStream leader answers nothing for a while, and a pod
// started with it should wait, not exit. A refused configuration is final.
// It returns LINE_INTENTS's partition count (see Provision).
func provisionWithRetry(ctx context.Context, js jetstream.JetStream, cfg Config, log zerolog.Logger) (int, error) {
	deadline := time.Now().Add(time.Minute)
	for attempt := 1; ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		partitions, err := provision(pctx, js, cfg)
		cancel()
		if err == nil || errors.Is(err, ErrIncompatibleStream) || ctx.Err() != nil || time.Now().After(deadline) {
			return partitions, err
		}
		log.Warn().Err(err).Int("attempt", attempt).Msg("provisioning streams failed; retrying")
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// URL is the client URL of the server in use (the embedded one's, if any).
func (c *Conn) URL() string { return c.url }

// Config is the configuration the connection was opened with (defaults set).
func (c *Conn) Config() Config { return c.cfg }

// Embedded returns the embedded server, or nil against an external one.
func (c *Conn) Embedded() *server.Server { return c.srv }

// Close drains the connection and stops the embedded server.
func (c *Conn) Close() {
	if c.NC != nil {
		// Drain flushes pending publishes and acks, asynchronously.
		if err := c.NC.Drain(); err == nil {
			select {
			case <-c.closed:
			case <-time.After(5 * time.Second):
			}
		}
		c.NC.Close()
	}
	c.shutdownServer()
}

func (c *Conn) shutdownServer() {
	if c.srv != nil {
		c.srv.Shutdown()
		c.srv.WaitForShutdown()
	}
}

// redact hides credentials embedded in NATS URLs (comma-separated).
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}
