// Command scenario runs linedispatch's load scenarios: it starts NATS
// JetStream (a nats-server process, or embedded with -nats embedded), the
// LINE simulator and N dispatcher processes on this machine, runs a named scenario, prints one JSON report on stdout and a
// human summary on stderr, and exits non-zero when a check fails.
//
//	go run ./loadtest/cmd/scenario -scenario backlog [-short] [-pods N] [-json out.json]
//	go run ./loadtest/cmd/scenario -scenario all -short
//
// See docs/scenarios.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/linedispatch/linedispatch/loadtest/scenario"
)

// Exit codes.
const (
	exitPass  = 0
	exitFail  = 1 // a check failed or a run did not complete
	exitUsage = 2
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scenario", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("scenario", "", "scenario to run: "+strings.Join(scenario.Names(), ", ")+", or all (in sequence)")
	short := fs.Bool("short", false, "run the short (CI) variant: smaller backlogs, faster scaled hour")
	pods := fs.Int("pods", 1, "number of dispatcher processes")
	jsonOut := fs.String("json", "", "also write the JSON report to this file")
	bin := fs.String("dispatcher", "", "dispatcher binary to run (default: build ./cmd/dispatcher into a temporary directory)")
	natsBin := fs.String("nats-server", "", "nats-server binary of the process and cluster deployments (default: build github.com/nats-io/nats-server/v2 at go.mod's version into a temporary directory, unless -nats embedded and no cluster scenario runs)")
	natsMode := fs.String("nats", "process", "single-node NATS: process (a nats-server process at the pods' niceness) or embedded (in the runner process, sharing its CPU with linesim)")
	workDir := fs.String("workdir", "", "parent directory of each run's temporary directory (default: the system temp dir)")
	keep := fs.Bool("keep", false, "keep each run's directory: JetStream store, pod configs and pod logs")
	podLog := fs.String("pod-log-level", "warn", "log level of the dispatcher pods (logs go to pods/<pod>/pod.log in the run directory, see -keep; warnings and errors are counted in the report)")
	partitions := fs.Int("partitions", scenario.DefaultPartitions, "LINE_INTENTS partitions")
	timeout := fs.Duration("timeout", 0, "bound each scenario's run (default: the scenario's own)")
	baseline := fs.String("baseline", "auto", "measure the physical baseline: auto (steady always, others in the long variant), on, off")
	cpuProfile := fs.String("cpuprofile", "", "write the runner's own CPU profile (NATS when embedded, linesim, the runner) to this file; pods serve theirs with -set http.pprof=true")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr (the summary is still printed)")
	var sets multiFlag
	fs.Var(&sets, "set", "override a pod configuration field for every pod, path=value (repeatable), e.g. -set dispatch.senders=64")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: scenario -scenario NAME|all [flags]\n\n")
		fmt.Fprintf(stderr, "Runs a load scenario against NATS, linesim and dispatcher processes,\n")
		fmt.Fprintf(stderr, "prints one JSON report on stdout and a summary on stderr; exits 1 when a check fails.\n\nscenarios:\n")
		for _, s := range scenario.All() {
			fmt.Fprintf(stderr, "  %-11s %s\n", s.Name, s.Summary)
		}
		fmt.Fprintf(stderr, "\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scenario: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return exitUsage
	}
	var list []scenario.Scenario
	switch *name {
	case "":
		fmt.Fprintln(stderr, "scenario: -scenario is required")
		fs.Usage()
		return exitUsage
	case "all":
		list = scenario.All()
	default:
		s, ok := scenario.Lookup(*name)
		if !ok {
			fmt.Fprintf(stderr, "scenario: unknown scenario %q (have %s, all)\n", *name, strings.Join(scenario.Names(), ", "))
			return exitUsage
		}
		list = []scenario.Scenario{s}
	}
	opts := scenario.Options{
		Short: *short, Pods: *pods, Bin: *bin, WorkDir: *workDir, Keep: *keep,
		PodLogLevel: *podLog, PodSet: sets, Partitions: *partitions, Timeout: *timeout,
		NATSServer: *natsBin,
	}
	switch *baseline {
	case "auto":
	case "on", "off":
		on := *baseline == "on"
		opts.Baseline = &on
	default:
		fmt.Fprintf(stderr, "scenario: -baseline must be auto, on or off, got %q\n", *baseline)
		return exitUsage
	}
	switch *natsMode {
	case "process":
	case "embedded":
		opts.NATS = scenario.Embedded()
	default:
		fmt.Fprintf(stderr, "scenario: -nats must be process or embedded, got %q\n", *natsMode)
		return exitUsage
	}
	if *pods < 1 {
		fmt.Fprintln(stderr, "scenario: -pods must be at least 1")
		return exitUsage
	}
	if !*quiet {
		opts.Progress = stderr
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "scenario: -cpuprofile:", err)
			return exitUsage
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "scenario: -cpuprofile:", err)
			return exitFail
		}
		defer pprof.StopCPUProfile()
	}
	// The nats-server is built for the process deployment (the default) and
	// for the cluster scenarios: one go build, cached afterwards.
	needNATS := opts.NATS == nil
	for _, s := range list {
		needNATS = needNATS || s.Cluster
	}
	if opts.Bin == "" || (needNATS && opts.NATSServer == "") {
		dir, err := os.MkdirTemp(*workDir, "linedispatch-scenario-bin-")
		if err != nil {
			fmt.Fprintln(stderr, "scenario:", err)
			return exitFail
		}
		defer os.RemoveAll(dir)
		build := func(what string, f func(context.Context, string) (string, error), dst *string) bool {
			if *dst != "" {
				return true
			}
			start := time.Now()
			b, err := f(ctx, dir)
			if err != nil {
				fmt.Fprintln(stderr, "scenario:", err)
				return false
			}
			*dst = b
			if !*quiet {
				fmt.Fprintf(stderr, "built %s %s in %s\n", what, b, time.Since(start).Round(time.Millisecond))
			}
			return true
		}
		if !build("dispatcher", scenario.BuildDispatcher, &opts.Bin) {
			return exitFail
		}
		if needNATS && !build("nats-server", scenario.BuildNATSServer, &opts.NATSServer) {
			return exitFail
		}
	}

	var reports []*scenario.Report
	for _, s := range list {
		if ctx.Err() != nil {
			break
		}
		r := scenario.Run(ctx, s, opts)
		reports = append(reports, r)
		r.WriteSummary(stderr)
	}
	pass := len(reports) == len(list)
	for _, r := range reports {
		pass = pass && r.Pass
	}
	var doc any
	if *name == "all" {
		doc = struct {
			Pass    bool               `json:"pass"`
			Reports []*scenario.Report `json:"reports"`
		}{pass, reports}
	} else if len(reports) == 1 {
		doc = reports[0]
	}
	b, err := scenario.MarshalJSON(doc)
	if err != nil {
		fmt.Fprintln(stderr, "scenario:", err)
		return exitFail
	}
	if _, err := stdout.Write(b); err != nil {
		return exitFail
	}
	if *jsonOut != "" {
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			fmt.Fprintln(stderr, "scenario:", err)
			return exitFail
		}
	}
	if len(list) > 1 {
		fmt.Fprintln(stderr, "== all scenarios:")
		for _, r := range reports {
			v := "PASS"
			if !r.Pass {
				v = "FAIL"
			}
			fmt.Fprintf(stderr, "   %-11s %s  %d failed check(s)\n", r.Scenario, v, len(r.Failed))
		}
	}
	if !pass {
		return exitFail
	}
	return exitPass
}
