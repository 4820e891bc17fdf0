package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/linedispatch/linedispatch/intent"
)

type sendFlags struct {
	nats       natsFlags
	channel    string
	bot        string
	endpoint   string
	to         listFlag
	texts      repeatFlag
	bodyFile   string
	replyToken string
	unit       string
	labels     labelsFlag
	notAfter   time.Duration
	id         string
	retryKey   string
	timeout    time.Duration
	dryRun     bool
}

func runSend(ctx context.Context, args []string, std stdio) int {
	f := sendFlags{labels: labelsFlag{}}
	fs := newFlagSet("send", "send --channel ID --bot U… [--endpoint push] (--to ID --text TEXT | --body-file FILE) [flags]",
		"Builds one intent, validates it, publishes it to line.intents.<channel>.<bot>.<endpoint> with\n"+
			"Nats-Msg-Id = its ID, waits for JetStream's ack and prints: id=<id> stream=<stream> seq=<n>\n"+
			"(plus duplicate=true when the ID was already stored). Publishing again with the same --id is safe.\n\n"+
			"Body from flags: push takes one --to and --text; multicast 1-500 --to and --text; broadcast and\n"+
			"narrowcast --text only; reply --reply-token and --text; markasread one --to. Each --text is one\n"+
			"text message (1-5). Anything richer: --body-file with the LINE request body.",
		std.stderr)
	f.nats.register(fs, std.getenv)
	fs.StringVar(&f.channel, "channel", std.getenv("LINEDISPATCH_CHANNEL"), "module channel `ID` (digits); env LINEDISPATCH_CHANNEL")
	fs.StringVar(&f.bot, "bot", "", "bot user `ID` (U + 32 hex digits) (required)")
	fs.StringVar(&f.endpoint, "endpoint", string(intent.Push), "endpoint: push, multicast, narrowcast, broadcast, reply or markasread")
	fs.Var(&f.to, "to", "recipient `ID`; repeatable or comma-separated (push, multicast, markasread)")
	fs.Var(&f.texts, "text", "a text message (`TEXT`); repeatable, one message each (1-5)")
	fs.StringVar(&f.bodyFile, "body-file", "", "`file` holding the LINE request body (JSON object), '-' for stdin; excludes --to, --text, --reply-token")
	fs.StringVar(&f.replyToken, "reply-token", "", "reply token from a webhook event (reply)")
	fs.StringVar(&f.unit, "unit", "", "unit name for statistics, ^[a-zA-Z0-9_]{1,30}$ (push, multicast)")
	fs.Var(f.labels, "label", "label `key=value`; repeatable")
	fs.DurationVar(&f.notAfter, "not-after", 0, fmt.Sprintf("deadline relative to now, e.g. 2h; 0 means the default (%s), at most %s", intent.DefaultMaxAge, intent.MaxAge))
	fs.StringVar(&f.id, "id", "", "intent ID (UUID); default a fresh v4. Reuse one to make a re-run idempotent")
	fs.StringVar(&f.retryKey, "retry-key", "", "X-Line-Retry-Key override (UUID); default the intent ID")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to wait for NATS and the ack")
	fs.BoolVar(&f.dryRun, "dry-run", false, "validate and print the intent JSON instead of publishing")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(std.stderr, "producer send: unexpected arguments %q\n", pos)
		return exitUsage
	}

	in, err := f.build(time.Now())
	if err != nil {
		fmt.Fprintln(std.stderr, "producer send:", err)
		var ve *intent.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				fmt.Fprintf(std.stderr, "  %s\n", p)
			}
		}
		return exitUsage
	}
	if f.dryRun {
		enc := json.NewEncoder(std.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(in); err != nil {
			fmt.Fprintln(std.stderr, "producer send:", err)
			return exitFail
		}
		return exitOK
	}

	log, _ := newLogger(std, "warn")
	nc, js, err := f.nats.connect("send", log)
	if err != nil {
		fmt.Fprintln(std.stderr, "producer send:", err)
		return exitFail
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	ack, err := intent.Publish(ctx, js, in)
	if err != nil {
		fmt.Fprintf(std.stderr, "producer send: %v\n  the intent may or may not be stored: run again with --id %s to retry safely\n", err, in.ID)
		return exitFail
	}
	fmt.Fprintf(std.stdout, "id=%s stream=%s seq=%d", in.ID, ack.Stream, ack.Sequence)
	if ack.Duplicate {
		fmt.Fprint(std.stdout, " duplicate=true")
	}
	fmt.Fprintln(std.stdout)
	return exitOK
}

// build turns the flags into a validated intent.
func (f *sendFlags) build(now time.Time) (*intent.Intent, error) {
	body, err := f.body()
	if err != nil {
		return nil, err
	}
	in := &intent.Intent{
		ID:        f.id,
		Channel:   f.channel,
		Bot:       f.bot,
		Endpoint:  intent.Endpoint(f.endpoint),
		Body:      body,
		RetryKey:  f.retryKey,
		Unit:      f.unit,
		CreatedAt: now.UTC().Truncate(time.Millisecond),
	}
	in.FillDefaults(now)
	if f.notAfter != 0 {
		in.NotAfter = in.CreatedAt.Add(f.notAfter)
	}
	if len(f.labels) > 0 {
		in.Labels = f.labels
	}
	return in, in.Validate(now)
}

// body reads --body-file or assembles the body from --to, --text and
// --reply-token; the intent's validation reports what is missing.
func (f *sendFlags) body() (json.RawMessage, error) {
	if f.bodyFile != "" {
		if len(f.to) > 0 || len(f.texts) > 0 || f.replyToken != "" {
			return nil, errors.New("--body-file excludes --to, --text and --reply-token")
		}
		var data []byte
		var err error
		if f.bodyFile == "-" {
			data, err = readAllLimited(os.Stdin, intent.MaxBodySize+1)
		} else {
			data, err = os.ReadFile(f.bodyFile)
		}
		if err != nil {
			return nil, fmt.Errorf("--body-file: %w", err)
		}
		return data, nil
	}
	msgs := make([]map[string]string, 0, len(f.texts))
	for _, t := range f.texts {
		msgs = append(msgs, map[string]string{"type": "text", "text": t})
	}
	b := map[string]any{}
	switch intent.Endpoint(f.endpoint) {
	case intent.Push:
		if len(f.to) == 1 {
			b["to"] = f.to[0]
		} else if len(f.to) > 1 {
			return nil, fmt.Errorf("push takes one --to, got %d (use --endpoint multicast)", len(f.to))
		}
		b["messages"] = msgs
	case intent.Multicast:
		b["to"] = []string(f.to)
		b["messages"] = msgs
	case intent.Reply:
		b["replyToken"] = f.replyToken
		b["messages"] = msgs
	case intent.MarkAsRead:
		if len(f.to) != 1 {
			return nil, fmt.Errorf("markasread takes one --to (the user whose messages are read), got %d", len(f.to))
		}
		b["chat"] = map[string]string{"userId": f.to[0]}
	default: // broadcast, narrowcast, and unknown endpoints (validation names them)
		b["messages"] = msgs
	}
	if len(msgs) == 0 && intent.Endpoint(f.endpoint) != intent.MarkAsRead {
		return nil, errors.New("no message: give --text (or --body-file)")
	}
	return json.Marshal(b)
}
