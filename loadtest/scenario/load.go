package scenario

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/linedispatch/linedispatch/intent"
)

// loadTick is how often a Load publishes what is due.
const loadTick = 50 * time.Millisecond

// Load publishes push intents at a steady rate while pods run, round-robin
// over its bots, so every bot gets one intent every len(bots)/rate seconds.
// A publish without a PubAck (NATS failing over) is retried with the same
// intent (its ID de-duplicates) until acknowledged, as a producer must; an
// intent counts as published once, when its first PubAck arrives.
type Load struct {
	h    *Harness
	bots []string
	rate float64
	tag  string

	stop chan struct{}
	done chan struct{}

	mu        sync.Mutex
	err       error
	started   time.Time
	ended     time.Time
	generated int
	acked     int
	failed    int           // publish attempts without a PubAck
	maxWait   time.Duration // longest time from an intent's creation to its PubAck
	stalls    int           // ticks whose publish took longer than 1 s
}

// LoadStats summarise a Load.
type LoadStats struct {
	Bots       int     `json:"bots"`
	RatePerSec float64 `json:"ratePerSec"`
	// PerBotIntervalMs is how often each bot gets an intent.
	PerBotIntervalMs float64 `json:"perBotIntervalMs"`
	Seconds          float64 `json:"seconds"`
	Generated        int     `json:"generated"`
	Acked            int     `json:"acked"`
	// FailedPublishes counts attempts without a PubAck (each retried).
	FailedPublishes int `json:"failedPublishes"`
	// MaxAckWaitMs is the longest time an intent waited for its PubAck,
	// retries included.
	MaxAckWaitMs float64 `json:"maxAckWaitMs"`
	SlowTicks    int     `json:"slowTicks"`
}

// StartLoad starts publishing rate push intents per second over bots until
// Stop. The harness's generator must not be used elsewhere meanwhile.
func (h *Harness) StartLoad(ctx context.Context, bots []string, rate float64, tag string) *Load {
	l := &Load{h: h, bots: bots, rate: rate, tag: tag, stop: make(chan struct{}), done: make(chan struct{}), started: time.Now()}
	h.Logf("load: %.0f intents/s over %d bots (one per bot every %s)", rate, len(bots),
		(time.Duration(float64(len(bots)) / rate * float64(time.Second))).Round(time.Millisecond))
	go l.run(ctx)
	return l
}

func (l *Load) run(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(loadTick)
	defer t.Stop()
	var pending []*intent.Intent
	stopping := false
	var stopDeadline time.Time
	for {
		if !stopping {
			select {
			case <-ctx.Done():
				l.fail(ctx.Err())
				return
			case <-l.stop:
				stopping = true
				stopDeadline = time.Now().Add(60 * time.Second)
				l.mu.Lock()
				l.ended = time.Now()
				l.mu.Unlock()
			case <-t.C:
			}
		}
		batch := pending
		pending = nil
		if !stopping {
			l.mu.Lock()
			due := int(l.rate*time.Since(l.started).Seconds()) - l.generated
			l.mu.Unlock()
			for i := 0; i < due; i++ {
				l.mu.Lock()
				bot := l.bots[l.generated%len(l.bots)]
				l.generated++
				l.mu.Unlock()
				in, err := l.h.Gen.Push(bot, l.tag)
				if err != nil {
					l.fail(err)
					return
				}
				batch = append(batch, in)
			}
		}
		if len(batch) == 0 {
			if stopping {
				return
			}
			continue
		}
		start := time.Now()
		bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		res, _ := intent.PublishBatch(bctx, l.h.JS, batch)
		cancel()
		now := time.Now()
		l.mu.Lock()
		if now.Sub(start) > time.Second {
			l.stalls++
		}
		for i, r := range res {
			if r.Err == nil {
				l.acked++
				l.h.published.Add(1)
				if w := now.Sub(batch[i].CreatedAt); w > l.maxWait {
					l.maxWait = w
				}
				continue
			}
			var ve *intent.ValidationError
			if errors.As(r.Err, &ve) {
				l.mu.Unlock()
				l.fail(fmt.Errorf("load: invalid intent: %w", r.Err))
				return
			}
			l.failed++
			pending = append(pending, batch[i])
		}
		l.mu.Unlock()
		if stopping && len(pending) > 0 {
			if time.Now().After(stopDeadline) {
				l.fail(fmt.Errorf("load: %d intents still without a PubAck 60 s after the load stopped", len(pending)))
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		if ctx.Err() != nil {
			l.fail(ctx.Err())
			return
		}
	}
}

func (l *Load) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
	}
	if l.ended.IsZero() {
		l.ended = time.Now()
	}
}

// Err is the load's error so far (nil while it goes well).
func (l *Load) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Stop stops generating, waits until every generated intent has its PubAck
// and returns the load's error.
func (l *Load) Stop() error {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
	st := l.Stats()
	l.h.Logf("load stopped after %.1fs: %d intents, %d failed publishes (retried)", st.Seconds, st.Generated, st.FailedPublishes)
	return l.Err()
}

// Started is when the load began; Ended when it stopped generating (zero
// while running).
func (l *Load) Started() time.Time { return l.started }

// Ended is when the load stopped generating (zero while running).
func (l *Load) Ended() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ended
}

// Stats summarises the load.
func (l *Load) Stats() *LoadStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	end := l.ended
	if end.IsZero() {
		end = time.Now()
	}
	return &LoadStats{
		Bots: len(l.bots), RatePerSec: l.rate, PerBotIntervalMs: round2(float64(len(l.bots)) / l.rate * 1000),
		Seconds: round2(end.Sub(l.started).Seconds()), Generated: l.generated, Acked: l.acked,
		FailedPublishes: l.failed, MaxAckWaitMs: round2(float64(l.maxWait) / 1e6), SlowTicks: l.stalls,
	}
}
