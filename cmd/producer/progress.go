package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// fileCounts are the file command's running totals, written by the publishing
// goroutine and read by the progress reporter.
type fileCounts struct {
	lines, accepted, duplicate, rejected, failed atomic.Int64
	bytes                                        atomic.Int64
}

// progress reports fileCounts periodically: a redrawn bar when stderr is a
// terminal, log lines otherwise (a bar would fill CI logs with carriage
// returns).
type progress struct {
	counts *fileCounts
	total  int64 // file size in bytes, 0 when unknown (stdin)
	start  time.Time
	stop   chan struct{}
	wg     sync.WaitGroup
}

func startProgress(mode string, w io.Writer, log zerolog.Logger, every time.Duration, counts *fileCounts, total int64) *progress {
	p := &progress{counts: counts, total: total, start: time.Now(), stop: make(chan struct{})}
	var tick time.Duration
	var report func(final bool)
	switch mode {
	case "bar":
		tick = 200 * time.Millisecond
		report = func(final bool) {
			if final {
				fmt.Fprint(w, "\r\033[K") // the summary follows; leave no half bar
				return
			}
			fmt.Fprint(w, "\r"+p.bar()+"\033[K")
		}
	case "log":
		tick = every
		report = func(bool) { p.log(log) }
	default:
		return p
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				report(false)
			case <-p.stop:
				report(true)
				return
			}
		}
	}()
	return p
}

// finish stops reporting; it is safe to call for a "none" progress.
func (p *progress) finish() {
	close(p.stop)
	p.wg.Wait()
}

func (p *progress) rate() float64 {
	secs := time.Since(p.start).Seconds()
	if secs <= 0 {
		return 0
	}
	return float64(p.counts.accepted.Load()+p.counts.duplicate.Load()) / secs
}

func (p *progress) bar() string {
	c := p.counts
	const width = 24
	var b strings.Builder
	if p.total > 0 {
		frac := min(float64(c.bytes.Load())/float64(p.total), 1)
		filled := int(frac * width)
		fmt.Fprintf(&b, "[%s%s] %3.0f%% ", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), frac*100)
	}
	fmt.Fprintf(&b, "%d lines  %d accepted  %d duplicate  %d rejected", c.lines.Load(), c.accepted.Load(), c.duplicate.Load(), c.rejected.Load())
	if f := c.failed.Load(); f > 0 {
		fmt.Fprintf(&b, "  %d failed", f)
	}
	fmt.Fprintf(&b, "  %.0f/s", p.rate())
	return b.String()
}

func (p *progress) log(log zerolog.Logger) {
	c := p.counts
	ev := log.Info().
		Int64("lines", c.lines.Load()).
		Int64("accepted", c.accepted.Load()).
		Int64("duplicate", c.duplicate.Load()).
		Int64("rejected", c.rejected.Load()).
		Int64("failed", c.failed.Load()).
		Float64("perSecond", p.rate())
	if p.total > 0 {
		ev = ev.Float64("percent", float64(c.bytes.Load())*100/float64(p.total))
	}
	ev.Msg("progress")
}
