// Package statscli implements the dispatcher's statistics subcommands —
// stats, stats rebuild and reconcile — as functions of (ctx, args, stdout),
// so that cmd/dispatcher only dispatches to them and tests can run them
// against an embedded JetStream.
//
// Each command parses its own flags; --help prints them to stdout and
// returns flag.ErrHelp (exit status 0 is the caller's choice).
package statscli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Environment variables that supply flag defaults (secrets belong there
// rather than in argv, which other users of the host can read).
const (
	EnvNATSURL       = "LINEDISPATCH_NATS_URL"
	EnvNATSCreds     = "LINEDISPATCH_NATS_CREDS"
	EnvLineBaseURL   = "LINEDISPATCH_LINE_BASE_URL"
	EnvBotHeader     = "LINEDISPATCH_BOT_HEADER"
	EnvLineToken     = "LINEDISPATCH_LINE_TOKEN"
	EnvChannelSecret = "LINEDISPATCH_CHANNEL_SECRET"
)

// DefaultNATSURL is used when neither --nats-url nor EnvNATSURL is set.
const DefaultNATSURL = "nats://127.0.0.1:4222"

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// natsFlags are the connection flags every command takes.
type natsFlags struct {
	url, creds string
}

func (n *natsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.url, "nats-url", envOr(EnvNATSURL, DefaultNATSURL), "NATS server or cluster URL(s), comma-separated (env "+EnvNATSURL+")")
	fs.StringVar(&n.creds, "creds", os.Getenv(EnvNATSCreds), "NATS credentials file (env "+EnvNATSCreds+")")
}

// connect opens a client connection; it never starts a server.
func (n *natsFlags) connect() (*nats.Conn, jetstream.JetStream, error) {
	opts := []nats.Option{nats.Name("linedispatch-cli"), nats.Timeout(5 * time.Second)}
	if n.creds != "" {
		opts = append(opts, nats.UserCredentials(n.creds))
	}
	nc, err := nats.Connect(n.url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to NATS at %s: %w", redact(n.url), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// newFlagSet returns a flag set that prints usage to out, headed by usage.
func newFlagSet(name, usage string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "%s\n\nFlags:\n", strings.TrimSpace(usage))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args and rejects stray positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (see --help)", fs.Name(), fs.Arg(0))
	}
	return nil
}

func required(fs *flag.FlagSet, pairs ...string) error {
	var errs []error
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			errs = append(errs, fmt.Errorf("%s: --%s is required", fs.Name(), pairs[i]))
		}
	}
	return errors.Join(errs...)
}

// logger writes warnings to stderr: stdout carries the command's result.
func logger() zerolog.Logger {
	return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true}).Level(zerolog.WarnLevel).With().Timestamp().Logger()
}

func redact(u string) string {
	if at := strings.LastIndex(u, "@"); at >= 0 {
		if s := strings.Index(u, "://"); s >= 0 && s < at {
			return u[:s+3] + "***" + u[at:]
		}
	}
	return u
}

// withTimeout bounds commands that should finish quickly.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}
