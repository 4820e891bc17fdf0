package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/devstack"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/stats/statscli"
)

// runDemo is `dispatcher demo`: the whole path on embedded defaults.
func runDemo(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	n := fs.Int("intents", 300, "valid intents to publish (plus a handful of invalid ones)")
	bots := fs.Int("bots", 5, "bots attached to the demo channel")
	faults := fs.Float64("accept-then-fail", 0.05, "share of push requests linesim accepts and then answers 500 (retried; LINE answers the retry with 409)")
	dataDir := fs.String("data-dir", "", "JetStream store directory (default: a temporary directory, removed afterwards)")
	logLevel := fs.String("log-level", "warn", "log level of the components (logs go to stderr)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *bots < 1 {
		return fmt.Errorf("--intents and --bots must be positive")
	}
	dir := *dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "linedispatch-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	log := newLogger(os.Stderr, *logLevel)
	fmt.Fprintf(stdout, "linedispatch demo: embedded NATS JetStream, LINE simulator, one dispatcher pod\n")
	stack, err := devstack.Start(ctx, devstack.Options{
		DataDir: dir,
		Bots:    *bots,
		Sim: linesim.Config{
			Faults: map[string]linesim.Faults{"push": {AcceptThenFailRatio: *faults}},
			Logger: log,
		},
		Logger: log,
	})
	if err != nil {
		return err
	}
	defer stack.Close()
	js := stack.Pod.Conn().JS

	start := time.Now()
	valid, invalid, err := publishDemo(ctx, js, stack, *n)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "published %d valid and %d invalid intents for %d bots in %s\n", valid, invalid, *bots, time.Since(start).Round(time.Millisecond))
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := devstack.WaitOutcomes(wctx, js, valid+invalid); err != nil {
		return err
	}
	elapsed := time.Since(start)
	outs, err := devstack.ReadOutcomes(ctx, js)
	if err != nil {
		return err
	}
	sum := devstack.Summarize(outs)
	rep, err := stack.SimAPI.Report(ctx)
	if err != nil {
		return err
	}
	printDemoSummary(stdout, sum, rep, elapsed)

	// The statistics projection folds the same outcomes into per-bot,
	// per-unit documents: show one bot's, as `dispatcher stats` prints it.
	if err := stack.Pod.Projector().WaitCaughtUp(wctx); err != nil {
		return fmt.Errorf("statistics: %w", err)
	}
	fmt.Fprintf(stdout, "\n$ dispatcher stats --channel %s --bot %s\n", stack.Channel, stack.Bots[0])
	return statscli.RunStats(ctx, []string{"--nats-url", stack.Pod.Conn().URL(), "--channel", stack.Channel, "--bot", stack.Bots[0]}, stdout)
}

// publishDemo publishes n valid intents (push with unit names, multicast,
// broadcast) and one invalid intent of each kind.
func publishDemo(ctx context.Context, js jetstream.JetStream, s *devstack.Stack, n int) (int, int, error) {
	units := []string{"spring_sale", "reminder", "newsletter"}
	ins := make([]*intent.Intent, 0, n)
	for i := 0; i < n; i++ {
		bot := s.Bots[i%len(s.Bots)]
		var in *intent.Intent
		var err error
		text := map[string]any{"type": "text", "text": fmt.Sprintf("demo message %d", i)}
		switch {
		case i%10 == 9:
			to := []string{fmt.Sprintf("U%032x", 0xa000+i), fmt.Sprintf("U%032x", 0xb000+i)}
			in, err = intent.New(s.Channel, bot, intent.Multicast, map[string]any{"to": to, "messages": []any{text}})
		default:
			in, err = intent.New(s.Channel, bot, intent.Push, map[string]any{"to": fmt.Sprintf("U%032x", 0xc000+i), "messages": []any{text}})
		}
		if err != nil {
			return 0, 0, err
		}
		in.Unit = units[i%len(units)]
		in.Labels = map[string]string{"campaign": "demo"}
		ins = append(ins, in)
	}
	if _, err := intent.PublishBatch(ctx, js, ins); err != nil {
		return 0, 0, err
	}
	bot := s.Bots[0]
	good := func(mut func(m map[string]any)) []byte {
		m := map[string]any{
			"id": uuid.NewString(), "channel": s.Channel, "bot": bot, "endpoint": "push",
			"createdAt": time.Now().UTC().Format(time.RFC3339Nano),
			"body":      map[string]any{"to": "U" + strings.Repeat("a", 32), "messages": []any{map[string]any{"type": "text", "text": "x"}}},
		}
		mut(m)
		b, _ := json.Marshal(m)
		return b
	}
	six := make([]any, 6)
	for i := range six {
		six[i] = map[string]any{"type": "text", "text": "x"}
	}
	bad := []struct {
		endpoint string
		data     []byte
	}{
		{"push", []byte(`{"id": "not json`)},
		{"push", good(func(m map[string]any) { m["endpoint"] = "pigeon" })},
		{"push", good(func(m map[string]any) { m["body"].(map[string]any)["to"] = "U123" })},
		{"push", good(func(m map[string]any) { m["body"].(map[string]any)["messages"] = six })},
		{"push", good(func(m map[string]any) { m["unit"] = "spring-sale" })},
	}
	for i, b := range bad {
		subject := intent.Subject(s.Channel, bot, intent.Endpoint(b.endpoint))
		if _, err := js.Publish(ctx, subject, b.data, jetstream.WithMsgID(fmt.Sprintf("demo-invalid-%d-%d", time.Now().UnixNano(), i))); err != nil {
			return 0, 0, err
		}
	}
	return len(ins), len(bad), nil
}

func printDemoSummary(w io.Writer, s devstack.Summary, rep *linesim.Report, elapsed time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\noutcomes\t%d\t(%d distinct intents) in %s\n", s.Outcomes, s.UniqueIntents, elapsed.Round(time.Millisecond))
	fmt.Fprintf(tw, "sent\t%d\t(%d confirmed by 409 after an accept-then-fail, %d needed more than one attempt)\n", s.Sent, s.SentVia409, s.Retried)
	reasons := make([]string, 0, len(s.Dead))
	for r := range s.Dead {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	total := 0
	for _, r := range reasons {
		total += s.Dead[r]
	}
	fmt.Fprintf(tw, "dead letters\t%d\t", total)
	for i, r := range reasons {
		if i > 0 {
			fmt.Fprint(tw, ", ")
		}
		fmt.Fprintf(tw, "%s=%d", r, s.Dead[r])
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "latency (createdAt to LINE accept)\tp50 %s\tp90 %s, p99 %s, max %s\n",
		s.LatencyP50.Round(time.Millisecond), s.LatencyP90.Round(time.Millisecond), s.LatencyP99.Round(time.Millisecond), s.LatencyMax.Round(time.Millisecond))
	fmt.Fprintf(tw, "linesim deliveries\t%d\t(duplicates %d, 409s %d, 429s %d, window violations %d)\n",
		rep.Totals.Accepted, rep.DuplicateDeliveries, rep.Totals.Conflicts, rep.Totals.Throttled, rep.Totals.Violations)
	_ = tw.Flush()
}
