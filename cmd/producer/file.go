package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
)

type fileFlags struct {
	nats        natsFlags
	fill        bool
	printIDs    bool
	maxInFlight int
	batch       int
	showErrors  int
	progress    string
	logEvery    time.Duration
	logLevel    string
}

func runFile(ctx context.Context, args []string, std stdio) int {
	var f fileFlags
	fs := newFlagSet("file", "file [flags] FILE.jsonl   (FILE '-' reads stdin)",
		"Publishes a file of intents, one JSON object per line (blank lines are skipped). Every line is\n"+
			"validated; valid lines are published pipelined and acknowledged by JetStream, invalid ones are\n"+
			"reported with their line number and reason. Lines without id or createdAt get a fresh v4 ID and\n"+
			"the current time (--fill), so files can be hand-written; a file that carries its IDs can be\n"+
			"re-run safely (JetStream de-duplicates within its window), one with minted IDs cannot.\n"+
			"The summary goes to stderr; exit status 1 if any line was rejected or not published.",
		std.stderr)
	f.nats.register(fs, std.getenv)
	fs.BoolVar(&f.fill, "fill", true, "mint a v4 id and set createdAt=now on lines missing them (false: such lines are rejected)")
	fs.BoolVar(&f.printIDs, "print-ids", false, "print '<line>\\t<id>' on stdout for every published line whose id was minted")
	fs.IntVar(&f.maxInFlight, "max-in-flight", intent.DefaultMaxInFlight, "publishes awaiting a JetStream ack at once")
	fs.IntVar(&f.batch, "batch", 1000, "lines validated and published per round")
	fs.IntVar(&f.showErrors, "show-errors", 20, "rejected or failed lines listed in the summary (the rest are counted)")
	fs.StringVar(&f.progress, "progress", "auto", "progress report: auto (bar on a terminal, else log lines), bar, log or none")
	fs.DurationVar(&f.logEvery, "log-every", 5*time.Second, "interval of progress log lines")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(std.stderr, "producer file: want exactly one FILE argument ('-' for stdin)")
		fs.Usage()
		return exitUsage
	}
	switch f.progress {
	case "auto":
		f.progress = "log"
		if std.stderrTTY {
			f.progress = "bar"
		}
	case "bar", "log", "none":
	default:
		fmt.Fprintf(std.stderr, "producer file: --progress must be auto, bar, log or none, got %q\n", f.progress)
		return exitUsage
	}
	if f.batch < 1 || f.maxInFlight < 1 {
		fmt.Fprintln(std.stderr, "producer file: --batch and --max-in-flight must be at least 1")
		return exitUsage
	}
	log, err := newLogger(std, f.logLevel)
	if err != nil {
		fmt.Fprintln(std.stderr, "producer file:", err)
		return exitUsage
	}

	name := pos[0]
	var r io.Reader = os.Stdin
	var size int64
	if name != "-" {
		file, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(std.stderr, "producer file:", err)
			return exitFail
		}
		defer file.Close()
		if st, err := file.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		r = file
	}

	nc, js, err := f.nats.connect("file", log)
	if err != nil {
		fmt.Fprintln(std.stderr, "producer file:", err)
		return exitFail
	}
	defer nc.Close()

	fp := &filePublisher{js: js, flags: f, stdout: std.stdout}
	prog := startProgress(f.progress, std.stderr, log, f.logEvery, &fp.counts, size)
	start := time.Now()
	runErr := fp.run(ctx, newLineReader(r, intent.MaxSize))
	prog.finish()
	fp.summary(std.stderr, name, time.Since(start), runErr)
	if runErr != nil || fp.counts.rejected.Load() > 0 || fp.counts.failed.Load() > 0 {
		return exitFail
	}
	return exitOK
}

// filePublisher validates lines and publishes them in rounds of --batch.
type filePublisher struct {
	js     jetstream.JetStream
	flags  fileFlags
	stdout io.Writer
	counts fileCounts

	// the current round
	ins    []*intent.Intent
	nums   []int  // line number of each intent
	minted []bool // whether its id was minted

	rejected, failed []lineIssue // the first --show-errors of each
}

type lineIssue struct {
	line int
	msg  string
}

func (p *filePublisher) run(ctx context.Context, lr *lineReader) error {
	for {
		if ctx.Err() != nil {
			p.publishRound(ctx)
			return fmt.Errorf("interrupted after line %d", lr.num)
		}
		line, err := lr.next()
		p.counts.bytes.Store(lr.bytes)
		switch {
		case err == io.EOF:
			p.publishRound(ctx)
			return nil
		case errors.Is(err, errLineTooLong):
			p.counts.lines.Add(1)
			p.reject(lr.num, intent.ReasonInvalidJSON+": "+err.Error())
			continue
		case err != nil:
			p.publishRound(ctx)
			return fmt.Errorf("read line %d: %w", lr.num+1, err)
		}
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		p.counts.lines.Add(1)
		p.add(lr.num, line)
		if len(p.ins) >= p.flags.batch {
			p.publishRound(ctx)
		}
	}
}

// add validates one line and queues it for the round, or rejects it.
func (p *filePublisher) add(num int, line []byte) {
	now := time.Now()
	in, err := intent.Parse(line)
	if in == nil {
		p.reject(num, describe(err))
		return
	}
	minted := false
	if p.flags.fill {
		minted, _ = in.FillDefaults(now)
	}
	if err := in.Validate(now); err != nil {
		p.reject(num, describe(err))
		return
	}
	p.ins = append(p.ins, in)
	p.nums = append(p.nums, num)
	p.minted = append(p.minted, minted)
}

// publishRound publishes the queued intents and records each result. An
// interrupt (ctx) does not abandon a round in flight: its acks are awaited
// for a short grace period so the summary says what was stored.
func (p *filePublisher) publishRound(ctx context.Context) {
	if len(p.ins) == 0 {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	res, _ := intent.PublishBatch(pctx, p.js, p.ins, intent.MaxInFlight(p.flags.maxInFlight),
		intent.OnResult(func(_ int, r intent.Result) {
			switch {
			case r.Err != nil: // counted below, with the line number
			case r.Ack.Duplicate:
				p.counts.duplicate.Add(1)
			default:
				p.counts.accepted.Add(1)
			}
		}))
	for i, r := range res {
		var ve *intent.ValidationError
		switch {
		case errors.As(r.Err, &ve): // e.g. expired between validation and publishing
			p.reject(p.nums[i], describe(r.Err))
		case r.Err != nil:
			p.fail(p.nums[i], r.Err.Error()+" (may or may not be stored)")
		case p.flags.printIDs && p.minted[i]:
			fmt.Fprintf(p.stdout, "%d\t%s\n", p.nums[i], r.ID)
		}
	}
	p.ins, p.nums, p.minted = p.ins[:0], p.nums[:0], p.minted[:0]
}

func (p *filePublisher) reject(line int, msg string) {
	p.counts.rejected.Add(1)
	if len(p.rejected) < p.flags.showErrors {
		p.rejected = append(p.rejected, lineIssue{line, msg})
	}
}

func (p *filePublisher) fail(line int, msg string) {
	p.counts.failed.Add(1)
	if len(p.failed) < p.flags.showErrors {
		p.failed = append(p.failed, lineIssue{line, msg})
	}
}

// describe renders a rejection as "<reason>: field: problem; ...".
func describe(err error) string {
	var ve *intent.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	parts := make([]string, 0, len(ve.Problems))
	for i, pr := range ve.Problems {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(ve.Problems)-i))
			break
		}
		parts = append(parts, pr.String())
	}
	return ve.Reason() + ": " + strings.Join(parts, "; ")
}

func (p *filePublisher) summary(w io.Writer, name string, took time.Duration, runErr error) {
	c := &p.counts
	fmt.Fprintf(w, "%s: %d lines: %d accepted, %d duplicate, %d rejected, %d failed (%s)\n",
		name, c.lines.Load(), c.accepted.Load(), c.duplicate.Load(), c.rejected.Load(), c.failed.Load(), took.Round(time.Millisecond))
	list := func(title string, issues []lineIssue, total int64) {
		if total == 0 {
			return
		}
		fmt.Fprintf(w, "%s:\n", title)
		// Rounds can reject late (expired by publish time): list by line.
		slices.SortStableFunc(issues, func(a, b lineIssue) int { return a.line - b.line })
		for _, is := range issues {
			fmt.Fprintf(w, "  line %d: %s\n", is.line, is.msg)
		}
		if rest := total - int64(len(issues)); rest > 0 {
			fmt.Fprintf(w, "  … and %d more\n", rest)
		}
	}
	list("rejected lines", p.rejected, c.rejected.Load())
	list("failed lines (publish again: lines with an id are de-duplicated)", p.failed, c.failed.Load())
	if runErr != nil {
		fmt.Fprintf(w, "stopped: %v\n", runErr)
	}
}
