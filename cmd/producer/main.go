// Command producer publishes linedispatch send intents to NATS JetStream.
//
// Usage:
//
//	producer send  [flags]              build one intent from flags (or a body file) and publish it
//	producer file  [flags] FILE.jsonl   publish a file of intents, one JSON object per line
//	producer serve [flags]              HTTP gateway: POST /v1/intents for clients without NATS
//
// Every command validates intents before publishing (the dispatcher validates
// them again) and waits for JetStream's acknowledgement: when a command
// reports an intent as accepted, it is stored. Run 'producer <command> --help'
// for the flags; docs/intent.md describes the wire format and the gateway.
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

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // something was not published (rejected or failed)
	exitUsage = 2 // bad flags or arguments
)

// stdio is what a command may touch of the process, so tests can run
// commands in-process.
type stdio struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// stderrTTY says whether stderr is a terminal (progress bar vs log lines).
	stderrTTY bool
}

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, std stdio) int
}

func commands() []command {
	return []command{
		{"send", "build one intent from flags and publish it", runSend},
		{"file", "publish a JSONL file of intents (pipelined, with progress)", runFile},
		{"serve", "run the HTTP gateway (POST /v1/intents)", runServe},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], stdio{
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		getenv:    os.Getenv,
		stderrTTY: isTerminal(os.Stderr),
	})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, std stdio) int {
	if len(args) == 0 {
		usage(std.stderr)
		return exitUsage
	}
	name, args := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		usage(std.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, args, std)
		}
	}
	fmt.Fprintf(std.stderr, "producer: unknown command %q\n\n", name)
	usage(std.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, "usage: producer <command> [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-6s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'producer <command> --help' for a command's flags. The wire format is in docs/intent.md.\n")
}

// isTerminal reports whether f is a character device (a terminal), without
// a dependency: good enough to choose between a progress bar and log lines.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// parseFlags parses args, allowing flags after positional arguments
// ("producer file x.jsonl --print-ids"), which the flag package alone stops
// at. It returns the positional arguments and the exit code to use when
// parsing failed (ok false).
func parseFlags(fs *flag.FlagSet, args []string) (positional []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, 0, true
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), 0, true
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// newFlagSet returns a FlagSet whose --help prints summary, the usage line
// and every flag with its default.
func newFlagSet(name, usageLine, summary string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "usage: producer %s\n\n%s\n\nflags:\n", usageLine, summary)
		fs.PrintDefaults()
	}
	return fs
}
