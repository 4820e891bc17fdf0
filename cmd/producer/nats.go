package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// defaultNATSURL is the dispatcher's embedded server default.
const defaultNATSURL = "nats://127.0.0.1:4222"

// natsFlags are the connection flags every command shares.
type natsFlags struct {
	url, creds string
}

func (n *natsFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	url := getenv("LINEDISPATCH_NATS_URL")
	if url == "" {
		url = defaultNATSURL
	}
	fs.StringVar(&n.url, "nats-url", url, "NATS server `URL`(s), comma-separated; env LINEDISPATCH_NATS_URL, else the dispatcher's embedded-server default")
	fs.StringVar(&n.creds, "nats-creds", getenv("LINEDISPATCH_NATS_CREDS"), "NATS credentials `file`; env LINEDISPATCH_NATS_CREDS")
}

// connect opens a NATS connection and a JetStream context. Reconnects are
// unlimited: a NATS restart delays publishing, it does not end the command.
func (n *natsFlags) connect(name string, log zerolog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{
		nats.Name("linedispatch-producer " + name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn().Err(err).Msg("nats disconnected")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info().Str("url", nc.ConnectedUrlRedacted()).Msg("nats reconnected")
		}),
	}
	if n.creds != "" {
		opts = append(opts, nats.UserCredentials(n.creds))
	}
	nc, err := nats.Connect(n.url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w", n.url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

// newLogger is the zerolog JSON logger every linedispatch binary uses.
func newLogger(std stdio, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("--log-level: %w", err)
	}
	return zerolog.New(std.stderr).Level(lvl).With().Timestamp().Str("cmd", "producer").Logger(), nil
}
