// Command linesim serves a simulation of the LINE Messaging API for a module
// channel: LINE's contract, strict rate limits, faults and counters, with an
// admin API to inspect and steer it. See docs/linesim.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/linesim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
}

// options are the parsed command line.
type options struct {
	addr, adminAddr, logLevel string
	cfg                       linesim.Config
}

// run parses args, serves until ctx ends and returns the exit code. ready,
// if set, is called once the server listens.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(*linesim.Server)) int {
	opts, err := parse(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "linesim:", err)
		return 2
	}
	level, err := zerolog.ParseLevel(opts.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "linesim: --log-level: %v\n", err)
		return 2
	}
	log := zerolog.New(stderr).Level(level).With().Timestamp().Str("service", "linesim").Logger()
	opts.cfg.Logger = log
	srv, err := linesim.Start(opts.cfg, opts.addr, opts.adminAddr)
	if err != nil {
		log.Error().Err(err).Msg("cannot start")
		return 1
	}
	channels := make([]string, 0, len(opts.cfg.Channels))
	for _, c := range opts.cfg.Channels {
		channels = append(channels, fmt.Sprintf("%s(%d bots)", c.ID, len(c.Bots)))
	}
	log.Info().Str("api", srv.URL()).Str("admin", srv.AdminURL()).Strs("channels", channels).
		Str("botHeader", headerOrDefault(opts.cfg.BotHeader)).Float64("periodScale", opts.cfg.PeriodScale).Msg("linesim ready")
	if ready != nil {
		ready(srv)
	}
	<-ctx.Done()
	log.Info().Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error().Err(err).Msg("shutdown")
		return 1
	}
	return 0
}

func headerOrDefault(h string) string {
	if h == "" {
		return linesim.DefaultBotHeader
	}
	return h
}

const usageHead = `linesim serves a simulation of the LINE Messaging API for a module channel:
LINE's contract, strict sliding-window rate limits, faults and counters.
The admin API (JSON) inspects and steers it; see docs/linesim.md.

Usage: linesim [flags]

Channels come from --channel and/or --config (at least one is required).
Flags given on the command line override the configuration file; --channel,
--static-token, --limit and --fault add to it.

Endpoint tokens (for --limit and --fault; "*" for every endpoint in --fault):
  %s

Flags:
`

var reStaticToken = regexp.MustCompile(`^([0-9]+):(.+)$`)

// parse reads the command line (and the --config file it names).
func parse(args []string, out io.Writer) (*options, error) {
	fs := flag.NewFlagSet("linesim", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, usageHead, strings.Join(linesim.EndpointTokens(), ", "))
		fs.PrintDefaults()
	}
	o := &options{}
	var (
		configPath   string
		channels     []linesim.Channel
		staticTokens []string
		limits       = map[string]linesim.Limit{}
		faults       = map[string]linesim.Faults{}
		cfg          linesim.Config
	)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8081", "`address` of the LINE API (point the dispatcher's LINE base URL here)")
	fs.StringVar(&o.adminAddr, "admin-addr", "127.0.0.1:8082", "`address` of the admin API (report, faults, clock, reset)")
	fs.StringVar(&configPath, "config", "", "YAML configuration `file` (channels, limits, faults, ...; see docs/linesim.md) (default: none)")
	fs.Func("channel", "a module channel: `id:secret[:Ubot1,Ubot2,...]` with its attached bots (repeatable; default: none)", func(s string) error {
		parts := strings.SplitN(s, ":", 3)
		if len(parts) < 2 {
			return errors.New("want id:secret[:bot,bot,...]")
		}
		ch := linesim.Channel{ID: parts[0], Secret: parts[1]}
		if len(parts) == 3 && parts[2] != "" {
			ch.Bots = strings.Split(parts[2], ",")
		}
		channels = append(channels, ch)
		return nil
	})
	fs.Func("static-token", "an access token that never expires: `[channel:]token` (repeatable; the channel may be omitted when there is only one; default: none)", func(s string) error {
		staticTokens = append(staticTokens, s)
		return nil
	})
	fs.StringVar(&cfg.BotHeader, "bot-header", linesim.DefaultBotHeader, "`name` of the header naming the target bot")
	fs.Func("limit", "override a rate limit: `endpoint=count/period`, e.g. push=2000/1s or narrowcast=60/1h (repeatable; default: LINE's limits)", func(s string) error {
		ep, l, ok := strings.Cut(s, "=")
		if !ok {
			return errors.New("want endpoint=count/period")
		}
		lim, err := linesim.ParseLimit(l)
		if err != nil {
			return err
		}
		if _, ok := linesim.DefaultLimit(ep); !ok {
			return fmt.Errorf("unknown endpoint %q", ep)
		}
		limits[ep] = lim
		return nil
	})
	fs.Float64Var(&cfg.PeriodScale, "period-scale", 1, "multiply every limit period by this `factor` (0.001 plays 60/1h as 60 per 3.6s)")
	fs.IntVar(&cfg.UnitCap, "unit-cap", linesim.DefaultUnitCap, "distinct unit names per (channel, bot, month in Asia/Tokyo); further names are silently dropped")
	fs.IntVar(&cfg.MonthlyQuota, "monthly-quota", 0, "recipient deliveries per (channel, bot, month) before 429 \"You have reached your monthly limit.\" (default 0 = unlimited)")
	fs.DurationVar(&cfg.ReplyTokenTTL, "reply-token-ttl", linesim.DefaultReplyTokenTTL, "life of the reply tokens issued through the admin API")
	fs.DurationVar(&cfg.NarrowcastDuration, "narrowcast-duration", 0, "how long a narrowcast reports phase \"sending\" before \"succeeded\" (default 0s)")
	fs.IntVar(&cfg.MaxTracked, "max-tracked", linesim.DefaultMaxTracked, "bound of each memory (retry keys, deliveries, recipients, reply tokens)")
	fs.Func("fault", "faults: `endpoint:key=value,...`, e.g. push:error=0.1,accept_then_fail=0.2,accept_then_fail_mode=drop,latency=5ms+-2ms (repeatable; keys: error, latency, latency_dist, hang, hang_for, reset, accept_then_fail, accept_then_fail_mode, outage; default: none)", func(s string) error {
		ep, f, err := linesim.ParseFaultSpec(s)
		if err != nil {
			return err
		}
		faults[ep] = f
		return nil
	})
	fs.BoolVar(&cfg.Outage, "outage", false, "start with the outage switch on: every request 500 (default false)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log `level`: debug (one line per request), info, warn, error, disabled")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if configPath != "" {
		fc, err := linesim.LoadConfigFile(configPath)
		if err != nil {
			return nil, err
		}
		base := fc.Config()
		if !set["addr"] && fc.Addr != "" {
			o.addr = fc.Addr
		}
		if !set["admin-addr"] && fc.AdminAddr != "" {
			o.adminAddr = fc.AdminAddr
		}
		if !set["log-level"] && fc.LogLevel != "" {
			o.logLevel = fc.LogLevel
		}
		override := func(name string, apply func()) {
			if set[name] {
				apply()
			}
		}
		override("bot-header", func() { base.BotHeader = cfg.BotHeader })
		override("period-scale", func() { base.PeriodScale = cfg.PeriodScale })
		override("unit-cap", func() { base.UnitCap = cfg.UnitCap })
		override("monthly-quota", func() { base.MonthlyQuota = cfg.MonthlyQuota })
		override("reply-token-ttl", func() { base.ReplyTokenTTL = cfg.ReplyTokenTTL })
		override("narrowcast-duration", func() { base.NarrowcastDuration = cfg.NarrowcastDuration })
		override("max-tracked", func() { base.MaxTracked = cfg.MaxTracked })
		override("outage", func() { base.Outage = cfg.Outage })
		cfg = base
	}
	cfg.Channels = append(cfg.Channels, channels...)
	if len(limits) > 0 && cfg.Limits == nil {
		cfg.Limits = map[string]linesim.Limit{}
	}
	for k, v := range limits {
		cfg.Limits[k] = v
	}
	if len(faults) > 0 && cfg.Faults == nil {
		cfg.Faults = map[string]linesim.Faults{}
	}
	for k, v := range faults {
		cfg.Faults[k] = v
	}
	for _, st := range staticTokens {
		if err := addStaticToken(&cfg, st); err != nil {
			return nil, fmt.Errorf("--static-token: %w", err)
		}
	}
	if len(cfg.Channels) == 0 {
		return nil, errors.New("no channel: give --channel id:secret:bots or --config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o.cfg = cfg
	return o, nil
}

func addStaticToken(cfg *linesim.Config, s string) error {
	if m := reStaticToken.FindStringSubmatch(s); m != nil {
		for i := range cfg.Channels {
			if cfg.Channels[i].ID == m[1] {
				cfg.Channels[i].StaticTokens = append(cfg.Channels[i].StaticTokens, m[2])
				return nil
			}
		}
		return fmt.Errorf("unknown channel %s", m[1])
	}
	if len(cfg.Channels) != 1 {
		return errors.New("name the channel (channel:token) when there is not exactly one channel")
	}
	cfg.Channels[0].StaticTokens = append(cfg.Channels[0].StaticTokens, s)
	return nil
}
