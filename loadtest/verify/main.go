// Command verify is the check after a k6 load test (loadtest/k6): it proves,
// per intent, that every intent the producer gateway accepted reached LINE
// (linesim) exactly once and within the rate limits.
//
// It reads the run's outcomes from LINE_OUTCOMES (the intents whose
// labels.k6run is the run ID; all outcomes with -run-id ""), waits until there
// is one per accepted intent or the deadline passes, then asks linesim how
// often each intent's recipients (labels.to, unique per intent) were
// delivered to and how many requests went over a window, and prints a short
// report:
//
//	lost        = accepted − intents with an outcome
//	duplicates  = outcomes recorded twice for one intent
//	            + extra deliveries to the run's recipients (GET /admin/deliveries/{to})
//	            + linesim's duplicate deliveries (all traffic since its start or reset; -global)
//	over-window = requests linesim answered 429 or counted over a window, on the run's keys
//
// Any of them above zero, a dead letter (unless -allow-dead), or an intent
// recorded as sent whose recipient linesim never saw, fails the run: exit 1.
//
// The number of accepted intents comes from k6's --summary-export JSON
// (counter intents_accepted), from -accepted, or from the gateway's
// /metrics (-gateway-url, counter linedispatch_gateway_intents_total{result="accepted"},
// only meaningful for a gateway started for this run).
//
//	go run ./loadtest/verify -run-id k6-123 -k6-summary summary.json \
//	  -nats-url nats://127.0.0.1:4222 -linesim-admin http://127.0.0.1:8082
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Exit codes.
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: verify -run-id ID (-k6-summary FILE | -accepted N | -gateway-url URL) [flags]")
		fmt.Fprintln(stderr, "\nChecks a k6 run: lost = 0, duplicates = 0, over-window = 0 (see the package documentation).\n\nFlags:")
		fs.PrintDefaults()
	}
	natsDefault := os.Getenv("LINEDISPATCH_NATS_URL")
	if natsDefault == "" {
		natsDefault = "nats://127.0.0.1:4222"
	}
	fs.StringVar(&o.NATSURL, "nats-url", natsDefault, "NATS `URL`(s), comma-separated; env LINEDISPATCH_NATS_URL")
	fs.StringVar(&o.NATSCreds, "nats-creds", os.Getenv("LINEDISPATCH_NATS_CREDS"), "NATS credentials `file`; env LINEDISPATCH_NATS_CREDS")
	fs.StringVar(&o.LinesimAdmin, "linesim-admin", "http://127.0.0.1:8082", "linesim admin API `URL`")
	fs.StringVar(&o.RunID, "run-id", "", "the run's marker (labels.k6run of its intents); empty: every outcome in the stream (a fresh stack)")
	fs.StringVar(&o.Channel, "channel", "", "only outcomes of this module channel (default: every channel)")
	fs.StringVar(&o.K6Summary, "k6-summary", "", "k6 --summary-export JSON `file`: accepted = its intents_accepted counter")
	fs.Int64Var(&o.Accepted, "accepted", -1, "accepted intents, when there is no k6 summary")
	fs.StringVar(&o.GatewayURL, "gateway-url", "", "producer gateway `URL`: report its accepted counter (and use it when no other count is given)")
	fs.DurationVar(&o.Since, "since", 0, "read only outcomes stored in the last `duration` (0: the whole stream)")
	fs.DurationVar(&o.Timeout, "timeout", 3*time.Minute, "wait at most this long for one outcome per accepted intent")
	fs.DurationVar(&o.Settle, "settle", 3*time.Second, "after the last expected outcome, keep reading this long for extra (duplicate) outcomes")
	fs.BoolVar(&o.CheckRecipients, "check-recipients", true, "ask linesim for the deliveries of every recipient of the run (labels.to)")
	fs.IntVar(&o.Concurrency, "concurrency", 16, "parallel linesim admin requests for -check-recipients")
	fs.BoolVar(&o.Global, "global", true, "count linesim's duplicate deliveries of all traffic since its start or reset (a dedicated stack); false: only the run's recipients")
	fs.BoolVar(&o.AllowDead, "allow-dead", false, "do not fail on dead letters (they are reported by reason either way)")
	fs.StringVar(&o.JSONOut, "json", "", "also write the report as JSON to this `file`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "verify: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if o.K6Summary == "" && o.Accepted < 0 && o.GatewayURL == "" {
		fmt.Fprintln(stderr, "verify: give -k6-summary, -accepted or -gateway-url (the number of accepted intents)")
		return exitUsage
	}
	rep, err := verify(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "verify:", err)
		if rep == nil {
			return exitFail
		}
	}
	rep.Print(stdout)
	if o.JSONOut != "" {
		if werr := rep.WriteJSON(o.JSONOut); werr != nil {
			fmt.Fprintln(stderr, "verify:", werr)
		}
	}
	if err != nil || !rep.Pass {
		return exitFail
	}
	return exitPass
}
