package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/internal/deadletter"
)

// runDLQ is `dispatcher dlq list|redrive`.
func runDLQ(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "redrive") {
		return errors.New("usage: dispatcher dlq list|redrive [flags] (--help for the flags)")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("dlq "+sub, flag.ContinueOnError)
	natsURL := fs.String("nats-url", envOr("LINEDISPATCH_NATS_URL", nats.DefaultURL), "NATS server URL; env LINEDISPATCH_NATS_URL")
	var f deadletter.Filter
	fs.StringVar(&f.Channel, "channel", "", "only this module channel (default all)")
	fs.StringVar(&f.Bot, "bot", "", "only this bot (default all)")
	fs.StringVar(&f.Endpoint, "endpoint", "", "only this endpoint (default all)")
	fs.StringVar(&f.Reason, "reason", "", "only this reason, e.g. line_rejected, expired, quota (default all)")
	limit := fs.Int("limit", 100, "at most this many dead letters (0: all)")
	asJSON := fs.Bool("json", false, "list: print JSON lines instead of a table")
	seq := fs.Uint64("seq", 0, "redrive: only the dead letter with this stream sequence")
	refresh := fs.Bool("refresh", false, "redrive: give the intent a new createdAt and default deadline (for expired intents; see docs/operations.md before using it)")
	keep := fs.Bool("keep", false, "redrive: keep the dead letter in LINE_DEAD")
	dry := fs.Bool("dry-run", false, "redrive: only say what would be redriven")
	if err := fs.Parse(args); err != nil {
		return err
	}
	nc, err := nats.Connect(*natsURL, nats.Name("linedispatch-dlq"))
	if err != nil {
		return fmt.Errorf("nats %s: %w", *natsURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	letters, err := deadletter.List(ctx, js, f, *limit)
	if err != nil {
		return err
	}
	if sub == "list" {
		return printLetters(stdout, letters, *asJSON)
	}
	redriven, failed := 0, 0
	for _, l := range letters {
		if *seq != 0 && l.Seq != *seq {
			continue
		}
		if *dry {
			fmt.Fprintf(stdout, "would redrive #%d %s (%s)\n", l.Seq, l.Outcome.IntentID, l.Outcome.Reason)
			continue
		}
		if err := deadletter.Redrive(ctx, js, l, deadletter.RedriveOptions{Refresh: *refresh, Keep: *keep}); err != nil {
			fmt.Fprintf(stdout, "#%d %s: %v\n", l.Seq, l.Outcome.IntentID, err)
			failed++
			continue
		}
		redriven++
	}
	fmt.Fprintf(stdout, "redriven %d, failed %d\n", redriven, failed)
	if failed > 0 {
		return fmt.Errorf("%d dead letter(s) not redriven", failed)
	}
	return nil
}

func printLetters(w io.Writer, letters []deadletter.Letter, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, l := range letters {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME (UTC)\tREASON\tBOT\tENDPOINT\tINTENT\tDETAIL")
	for _, l := range letters {
		detail := l.Outcome.Detail
		if len(detail) > 100 {
			detail = detail[:100] + "…"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", l.Seq, l.Time.UTC().Format(time.DateTime), l.Outcome.Reason,
			l.Outcome.Bot, l.Outcome.Endpoint, l.Outcome.IntentID, detail)
	}
	return tw.Flush()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
