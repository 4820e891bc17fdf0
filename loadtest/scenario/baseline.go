package scenario

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/devstack"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// baselineBot is the bot of the baseline's intents; they never reach a pod.
var baselineBot = fmt.Sprintf("U%032x", 0xba5e0000)

// MeasureBaseline measures the physical baseline of the machine, each stage
// alone, before any pod runs:
//
//	(a) JetStream publish: n intents pipelined with intent.PublishBatch into
//	    LINE_INTENTS (the stream, partitioning and de-duplication the
//	    dispatcher's producers use);
//	(b) JetStream consume+ack: a pull consumer over all partitions fetches and
//	    acks those n intents (the stream is empty afterwards, and the consumer
//	    is deleted so the pods' partition consumers may be created);
//	(c) HTTP: n push requests to a separate linesim whose limits do not bind,
//	    each with a unique retry key and text, with as many requests in
//	    flight as the pods have senders.
//
// The combined rate is 1 / (1/a + 1/b + 1/c): the three stages in series.
// MeasureBaselineAgain adds a second sample once the pods have stopped.
func (h *Harness) MeasureBaseline(ctx context.Context, n int, concurrency int) error {
	if h.Pods.Len() > 0 {
		return errors.New("baseline: measure it before starting pods")
	}
	b := &Baseline{Messages: n, HTTPConcurrency: concurrency}
	h.Report.Baseline = b
	return h.baselineSample(ctx, b, BaselineBeforePods)
}

// MeasureBaselineAgain measures the baseline a second time, after the run
// (Collect stopped the pods), and makes the report's baseline the mean of
// the two samples. The machine's speed drifts on a shared host; a ratio of
// a drain to a baseline measured only before it carries all of the drift,
// one to the mean of a sample on each side carries much less of it. The
// pods' partition consumers are deleted first: on a work queue the
// baseline's consumer over every partition may not overlap them.
func (h *Harness) MeasureBaselineAgain(ctx context.Context) error {
	b := h.Report.Baseline
	if b == nil {
		return nil
	}
	for _, p := range h.Pods.All() {
		if p.Running() {
			return fmt.Errorf("baseline: pod %s still runs", p.Name)
		}
	}
	s, err := h.JS.Stream(ctx, queue.IntentsStream)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	names := s.ConsumerNames(ctx)
	for name := range names.Name() {
		if err := s.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("baseline: delete consumer %s: %w", name, err)
		}
	}
	if err := names.Err(); err != nil {
		return fmt.Errorf("baseline: list consumers: %w", err)
	}
	if err := h.baselineSample(ctx, b, BaselineAfterPods); err != nil {
		return err
	}
	if c := h.Report.CPU; c != nil {
		c.setEfficiency(b)
	}
	return nil
}

// baselineSample measures one sample of b's stages and folds it into b.
func (h *Harness) baselineSample(ctx context.Context, b *Baseline, when string) error {
	n := b.Messages
	h.Logf("baseline (%s): %d messages per stage, HTTP concurrency %d", when, n, b.HTTPConcurrency)
	smp := BaselineSample{When: when}
	perMsg := func(d time.Duration) float64 { return round2(float64(d.Microseconds()) / float64(n)) }
	gen := newGen(h.Channel, "baseline")
	cpu := h.stageCPU()
	st, err := publishN(ctx, func(ctx context.Context, ins []*intent.Intent) error {
		_, err := intent.PublishBatch(ctx, h.JS, ins)
		return err
	}, n, func(int) (*intent.Intent, error) { return gen.Push(baselineBot, "b") }, nil)
	if err != nil {
		return fmt.Errorf("baseline publish: %w", err)
	}
	smp.PublishPerSec = round2(st.PerSec)
	smp.PublishCPUMicros = perMsg(h.stageCPU() - cpu)

	cpu = h.stageCPU()
	rate, err := h.consumeAll(ctx, n)
	if err != nil {
		return fmt.Errorf("baseline consume: %w", err)
	}
	smp.ConsumeAckPerSec = round2(rate)
	smp.ConsumeAckCPUMicros = perMsg(h.stageCPU() - cpu)

	cpu = h.stageCPU()
	rate, errs, err := httpBaseline(ctx, h.Channel, n, b.HTTPConcurrency)
	if err != nil {
		return fmt.Errorf("baseline http: %w", err)
	}
	smp.HTTPPerSec, smp.HTTPErrors = round2(rate), errs
	smp.HTTPCPUMicros = perMsg(h.stageCPU() - cpu)
	smp.CombinedCPUMicros = round2(smp.PublishCPUMicros + smp.ConsumeAckCPUMicros + smp.HTTPCPUMicros)
	smp.CombinedPerSec = round2(Combined(smp.PublishPerSec, smp.ConsumeAckPerSec, smp.HTTPPerSec))
	b.add(smp)
	h.Logf("baseline (%s): publish %.0f/s, consume+ack %.0f/s, http %.0f/s, combined %.0f/s", when,
		smp.PublishPerSec, smp.ConsumeAckPerSec, smp.HTTPPerSec, smp.CombinedPerSec)
	return nil
}

// add appends a sample and sets b's figures to the mean of its samples:
// rates by their per-message times (the harmonic mean, so the combined rate
// is still the stages in series), CPU per message arithmetically.
func (b *Baseline) add(s BaselineSample) {
	b.Samples = append(b.Samples, s)
	var pub, cons, web, pubCPU, consCPU, webCPU float64
	errs := 0
	for _, s := range b.Samples {
		pub += 1 / s.PublishPerSec
		cons += 1 / s.ConsumeAckPerSec
		web += 1 / s.HTTPPerSec
		pubCPU += s.PublishCPUMicros
		consCPU += s.ConsumeAckCPUMicros
		webCPU += s.HTTPCPUMicros
		errs += s.HTTPErrors
	}
	k := float64(len(b.Samples))
	b.PublishPerSec, b.ConsumeAckPerSec, b.HTTPPerSec = round2(k/pub), round2(k/cons), round2(k/web)
	b.HTTPErrors = errs
	b.CombinedPerSec = round2(Combined(b.PublishPerSec, b.ConsumeAckPerSec, b.HTTPPerSec))
	b.PublishCPUMicros, b.ConsumeAckCPUMicros, b.HTTPCPUMicros = round2(pubCPU/k), round2(consCPU/k), round2(webCPU/k)
	b.CombinedCPUMicros = round2(b.PublishCPUMicros + b.ConsumeAckCPUMicros + b.HTTPCPUMicros)
}

// consumeAll pulls and acks n messages from LINE_INTENTS and returns the rate.
func (h *Harness) consumeAll(ctx context.Context, n int) (float64, error) {
	const name = "loadtest-baseline"
	c, err := h.JS.CreateOrUpdateConsumer(ctx, queue.IntentsStream, jetstream.ConsumerConfig{
		Durable:       name,
		FilterSubject: queue.QueuePrefix + ".>",
		AckPolicy:     jetstream.AckExplicitPolicy,
		MaxAckPending: 20000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return 0, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = h.JS.DeleteConsumer(dctx, queue.IntentsStream, name)
	}()
	start := time.Now()
	var got atomic.Int64
	done := make(chan struct{})
	cc, err := c.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		if got.Add(1) == int64(n) {
			close(done)
		}
	}, jetstream.PullMaxMessages(1000))
	if err != nil {
		return 0, err
	}
	select {
	case <-done:
	case <-ctx.Done():
		cc.Stop()
		return 0, ctx.Err()
	case <-time.After(5 * time.Minute):
		cc.Stop()
		return 0, fmt.Errorf("consumed %d of %d", got.Load(), n)
	}
	cc.Stop()
	if err := h.Conn.NC.Flush(); err != nil {
		return 0, err
	}
	el := time.Since(start)
	// Acked messages leave the work queue; the pods must find it empty.
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := h.JS.Stream(ctx, queue.IntentsStream)
		if err == nil && s.CachedInfo().State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			return 0, errors.New("LINE_INTENTS still holds baseline messages 30s after their acks")
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return float64(n) / el.Seconds(), nil
}

// httpBaseline sends n push requests to a fresh linesim whose push limit does
// not bind, concurrency at a time, and returns requests/s and the number of
// non-200 answers.
func httpBaseline(ctx context.Context, channel string, n, concurrency int) (float64, int, error) {
	bots := []string{devstack.BotID(0)}
	sim, err := linesim.Start(linesim.Config{
		Channels:  []linesim.Channel{{ID: channel, Secret: "baseline-secret", Bots: bots, StaticTokens: []string{devstack.DefaultToken}}},
		BotHeader: linesim.DefaultBotHeader,
		Limits:    map[string]linesim.Limit{"push": {Count: 100_000_000, Period: time.Second}},
	}, "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer sim.Close()
	// The transport mirrors internal/sender's: keep-alive, every connection
	// idle-pooled.
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxConnsPerHost:     max(concurrency, 256),
		MaxIdleConns:        max(concurrency, 256),
		MaxIdleConnsPerHost: max(concurrency, 256),
		IdleConnTimeout:     90 * time.Second,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	url := sim.URL() + "/v2/bot/message/push"
	run := uuid.NewString()[:8]

	var next atomic.Int64
	var errs atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				body := fmt.Appendf(nil, `{"to":%q,"messages":[{"type":"text","text":"baseline %s #%d"}]}`, recipient(int(i)), run, i)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+devstack.DefaultToken)
				req.Header.Set(linesim.DefaultBotHeader, bots[0])
				req.Header.Set("X-Line-Retry-Key", uuid.NewString())
				resp, err := hc.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				var buf [512]byte
				for {
					if _, err := resp.Body.Read(buf[:]); err != nil {
						break
					}
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if firstErr != nil {
		return 0, 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	return float64(n) / el.Seconds(), int(errs.Load()), nil
}
