// Command dispatcher is the linedispatch worker: it pulls send intents from
// NATS JetStream and sends them to the LINE Messaging API within every rate
// limit, exactly once, recording an outcome for each.
//
// Usage:
//
//	dispatcher [run] [--config FILE]   run a pod (the default command)
//	dispatcher demo                    embedded NATS + linesim + a pod, a few hundred intents, a summary
//	dispatcher stats ...               unit-name statistics of a bot
//	dispatcher stats-rebuild ...       rebuild statistics from the outcome stream
//	dispatcher reconcile ...           compare unit names with LINE's
//	dispatcher dlq list|redrive ...    dead letters
//	dispatcher check-config FILE       validate a configuration file
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
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "run a dispatcher pod (default)", runPod},
		{"demo", "start embedded NATS, linesim and a pod, send a few hundred intents, print a summary", runDemo},
		{"stats", "show unit-name statistics for a bot", runStats},
		{"stats-rebuild", "rebuild statistics from LINE_OUTCOMES and compare", runStatsRebuild},
		{"reconcile", "compare the unit-name registry with LINE's aggregation endpoints", runReconcile},
		{"dlq", "list dead letters, or redrive them to LINE_INTENTS", runDLQ},
		{"check-config", "validate a configuration file and print the effective configuration", runCheckConfig},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dispatcher:", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	name := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if name == "help" || name == "-h" || name == "--help" {
		usage(stderr)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args, stdout)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", name)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: dispatcher <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'dispatcher <command> --help' for a command's flags.")
}
