package dispatch

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// Lookahead: a partition consumer delivers in stream order, so a quiet
// bot's intent published behind a hot bot's campaign in the same partition
// waits until the pod has passed the whole campaign through to LINE_BACKLOG
// (about 25,000-50,000 intents a second on two cores: seconds for a large
// campaign). While a partition is deep, its owner therefore also reads the
// intents of its other keys directly from the stream, ahead of the
// consumer, and sends them at once. A message read ahead is removed from
// LINE_INTENTS by deleting it once it is finished (JetStream treats the
// deletion of a message a consumer has delivered as its ack, and never
// delivers a deleted one), and stays there if the pod lets go of it, for
// the consumer to deliver in its turn.
//
// Order within a key is kept: the lookahead reads a key's messages oldest
// first, and claims each one (heldSeq) and queues it under the partition's
// order lock, as the puller does; whichever of them reaches a message first
// queues it, and the other drops its copy.

// Defaults of the lookahead (Config.LookaheadDepth, LookaheadInterval).
const (
	// DefaultLookaheadDepth: below ~2,000 undelivered intents the consumer
	// reaches a new intent within a few tens of milliseconds anyway. A deep
	// partition is read ahead only while one of its keys spills.
	DefaultLookaheadDepth    = 2000
	DefaultLookaheadInterval = 20 * time.Millisecond
)

const (
	// lookaheadPerKey bounds the intents taken from one key per round: a key
	// with more soon fills its lane and spills, and is then left to the
	// consumer's pass-through.
	lookaheadPerKey = 64
	// lookaheadPerRound bounds one round's direct reads (one request each).
	lookaheadPerRound = 256
)

// partitionAhead is one partition's lookahead state.
type partitionAhead struct {
	// order serialises claiming and queueing a message between the puller
	// and the lookahead, to keep each key's order.
	order sync.Mutex
	// depth is the consumer's undelivered intents after its last pull.
	depth atomic.Int64
	// running is set while a lookahead goroutine serves the partition.
	running atomic.Bool
	// spilling counts the partition's lanes that spill (the scheduler's).
	spilling atomic.Int32
}

// noteDepth records p's depth after a pull and starts a lookahead when p is
// deep and none runs.
func (e *Engine) noteDepth(ctx context.Context, p int, depth uint64) {
	a := &e.ahead[p]
	a.depth.Store(int64(depth))
	if e.cfg.LookaheadDepth < 0 || int(depth) < e.cfg.LookaheadDepth || !a.running.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer a.running.Store(false)
		e.lookahead(ctx, p)
	}()
}

// lookahead reads partition p's quiet keys ahead of its consumer, every
// LookaheadInterval, until p is shallow again or ctx (p's ownership) ends.
func (e *Engine) lookahead(ctx context.Context, p int) {
	s, err := e.intentsStream(ctx)
	if err != nil {
		e.log.Warn().Err(err).Int("partition", p).Msg("lookahead: stream not readable")
		return
	}
	e.log.Debug().Int("partition", p).Int64("depth", e.ahead[p].depth.Load()).Msg("lookahead started")
	cursors := map[string]uint64{}
	t := time.NewTicker(e.cfg.LookaheadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if e.ahead[p].depth.Load() < int64(e.cfg.LookaheadDepth) {
			e.log.Debug().Int("partition", p).Msg("lookahead stopped")
			return
		}
		if e.ahead[p].spilling.Load() <= 0 {
			// Deep, but with no hot key passing through: every key's intents
			// reach the pod at the consumer's pace, and reading them ahead
			// as well would only double the work (measured in scale3, where
			// every partition is deep at the start: thousands of requests
			// answered 409 on a starved machine).
			continue
		}
		if err := e.lookaheadRound(ctx, p, s, cursors); err != nil && ctx.Err() == nil {
			e.log.Debug().Err(err).Int("partition", p).Msg("lookahead round failed")
		}
	}
}

// lookaheadRound lists p's keys with what the stream holds of each and
// takes up to lookaheadPerKey intents of every key that does not spill.
// cursors holds, per subject, the sequence to read from next.
func (e *Engine) lookaheadRound(ctx context.Context, p int, s jetstream.Stream, cursors map[string]uint64) error {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(queue.PartitionFilter(p)))
	if err != nil {
		return err
	}
	for subj := range cursors {
		if _, ok := info.State.Subjects[subj]; !ok {
			delete(cursors, subj) // nothing of it left in the stream
		}
	}
	budget := lookaheadPerRound
	for subj := range info.State.Subjects {
		ch, bot, ep, ok := subjectKeyOf(subj)
		if !ok {
			continue
		}
		if _, spilling := e.spillingKeys.Load(laneKey{channel: ch, bot: bot, endpoint: intent.Endpoint(ep)}); spilling {
			continue // the consumer passes it through; it is not waiting behind anyone
		}
		n, err := e.lookaheadKey(ctx, p, s, subj, cursors, min(budget, lookaheadPerKey))
		budget -= n
		if err != nil || budget <= 0 {
			return err
		}
	}
	return nil
}

// lookaheadKey reads subj's messages from its cursor on and queues those
// nobody holds, up to max reads. It stops early when the pod has no credit
// left: the consumer's own pulls wait for credits too.
func (e *Engine) lookaheadKey(ctx context.Context, p int, s jetstream.Stream, subj string, cursors map[string]uint64, max int) (int, error) {
	reads := 0
	for reads < max {
		raw, err := s.GetMsg(ctx, cursors[subj], jetstream.WithGetMsgSubject(subj))
		reads++
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return reads, nil
		}
		if err != nil {
			return reads, err
		}
		if !e.takeAhead(ctx, p, s, raw) {
			return reads, nil // no credit
		}
		cursors[subj] = raw.Sequence + 1
	}
	return reads, nil
}

// takeAhead queues raw unless the pod holds or just finished it; it reports
// false when no credit was free (raw is then left for the next round).
func (e *Engine) takeAhead(ctx context.Context, p int, s jetstream.Stream, raw *jetstream.RawStreamMsg) bool {
	seq := storedSeq{stream: queue.IntentsStream, seq: raw.Sequence}
	a := &e.ahead[p]
	a.order.Lock()
	defer a.order.Unlock()
	if held, finished := e.heldOrFinished(seq); held || finished {
		return true
	}
	select {
	case <-e.credits:
	default:
		return false
	}
	// From now on the consumer may deliver for the first time a message the
	// pod holds or finished; the puller's accept takes the order lock held
	// here, so it sees this before it can see the copy.
	e.checkFirstDeliveries.Store(true)
	e.metrics.held.Inc()
	d := &aheadMsg{stream: s, raw: raw}
	j, err := newJob(d, redrivesOf(raw.Header))
	if err != nil {
		// Left for the consumer, which dead-letters it in its turn.
		e.release(1)
		return true
	}
	e.hold(j, p, seq, time.Now())
	e.metrics.lookahead.Inc()
	select {
	case e.sched.in <- j:
	case <-ctx.Done():
		e.handBack(j)
	}
	return true
}

// aheadMsg is an intent read from LINE_INTENTS ahead of its partition's
// consumer (see lookahead above).
type aheadMsg struct {
	stream jetstream.Stream
	raw    *jetstream.RawStreamMsg
}

// aheadTimeout bounds the deletion that stands for an ack.
const aheadTimeout = 10 * time.Second

func (m *aheadMsg) Data() []byte         { return m.raw.Data }
func (m *aheadMsg) Subject() string      { return m.raw.Subject }
func (m *aheadMsg) Headers() nats.Header { return m.raw.Header }

// Ack removes the message from the stream. If it is already gone, the
// consumer delivered it and it was acked: done as well.
func (m *aheadMsg) Ack() error {
	ctx, cancel := context.WithTimeout(context.Background(), aheadTimeout)
	defer cancel()
	err := m.stream.DeleteMsg(ctx, m.raw.Sequence)
	if goneAlready(err) {
		return nil
	}
	return err
}

// goneAlready reports whether a deletion failed because the message is not
// in the stream. nats.go keeps only the server's text: "sequence N not
// found" (error 10043), or "no message found" from the store.
func goneAlready(err error) bool {
	if err == nil || !errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "err_code=10043") || strings.Contains(msg, "no message found")
}

// Nak leaves the message where it is: the consumer delivers it in its turn.
func (m *aheadMsg) Nak() error { return nil }

// InProgress has nothing to refresh: the consumer has not delivered the
// message (or, if it has, the copy is dropped and the deletion acks it).
func (m *aheadMsg) InProgress() error { return nil }
