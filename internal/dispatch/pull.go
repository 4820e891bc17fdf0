package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/deadletter"
	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// fetchWait is how long one pull request waits for intents; it also bounds
// how long a stopping puller takes to notice.
const fetchWait = time.Second

// ConsumerName is the durable consumer of partition p.
func ConsumerName(p int) string { return fmt.Sprintf("intents-p%d", p) }

// ConsumerConfig is partition p's consumer: one puller at a time (pinned
// priority group), explicit acks, and no delivery limit: JetStream must never
// drop an intent on its own.
func (e *Engine) consumerConfig(p int) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:        ConsumerName(p),
		Description:    fmt.Sprintf("linedispatch partition %d", p),
		FilterSubject:  queue.PartitionFilter(p),
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        e.cfg.AckWait,
		MaxDeliver:     -1,
		MaxAckPending:  e.cfg.MaxHeld,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{PriorityGroup},
		PinnedTTL:      e.cfg.AckWait,
		MemoryStorage:  e.cfg.ConsumerStorage == ConsumerStorageMemory,
	}
}

// pull feeds partition p's intents to the scheduler while the pod has room.
// A pull request holds the credits it asks for until it returns, so an idle
// partition asks for one intent at a time: 64 idle pullers parking a full
// batch each would hold most of the pod's budget away from the hot one. The
// batch doubles while pulls come back full.
//
// One request at a time: with a second one waiting (to overlap round trips
// in a deep partition) the server put a quiet neighbour's intents into the
// second while the puller still waited on the first, for up to its expiry
// (measured: the short neighbour's B p90 3 ms -> 815 ms), and the
// pass-through got no faster.
func (e *Engine) pull(ctx context.Context, p int, c jetstream.Consumer) {
	failures, want := 0, 1
	for ctx.Err() == nil {
		n := e.acquire(ctx, want)
		if n == 0 {
			return
		}
		got, err := e.fetch(ctx, p, c, n)
		switch {
		case got == n:
			want = min(2*n, e.cfg.FetchBatch)
		default:
			want = max(1, min(2*got, e.cfg.FetchBatch))
		}
		if err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			failures++
			e.log.Warn().Err(err).Int("partition", p).Msg("pull failed")
			if nc := e.recreateIfGone(ctx, p, c); nc != nil {
				c = nc
				continue
			}
			select {
			case <-ctx.Done():
			case <-time.After(min(time.Duration(failures)*250*time.Millisecond, 5*time.Second)):
			}
			continue
		}
		failures = 0
	}
}

// fetch pulls up to n of partition p's intents, holding n credits, accepts
// what arrives and returns the credits it did not use. The server expires
// the pull (FetchMaxWait): a client-side context that ends while the server
// is still delivering would drop those messages until their AckWait.
// Shutdown waits for it instead; what arrives then is handed back.
func (e *Engine) fetch(ctx context.Context, p int, c jetstream.Consumer, n int) (int, error) {
	e.metrics.held.Add(float64(n))
	e.metrics.pulls.Inc()
	got := 0
	batch, err := c.Fetch(n, jetstream.FetchPriorityGroup(PriorityGroup), jetstream.FetchMaxWait(fetchWait))
	if err == nil {
		var last jetstream.Msg
		for msg := range batch.Messages() {
			got++
			last = msg
			e.accept(ctx, p, msg)
		}
		err = batch.Error()
		if last != nil {
			if md, merr := last.Metadata(); merr == nil {
				e.noteDepth(ctx, p, md.NumPending)
			}
		}
	}
	e.release(n - got)
	return got, err
}

// accept validates one pulled intent and queues it, or dead-letters it.
// The queue is never trusted: whatever a producer wrote, the pod records an
// outcome and moves on. It runs under p's order lock, like the lookahead.
func (e *Engine) accept(ctx context.Context, p int, msg jetstream.Msg) {
	a := &e.ahead[p]
	a.order.Lock()
	defer a.order.Unlock()
	seq, dup := e.heldCopy(msg)
	if dup {
		return
	}
	j := e.passThrough(p, msg, seq)
	if j == nil {
		var err error
		if j, err = e.decodeJob(p, msg, seq); err != nil {
			e.deadLetterInvalid(ctx, msg, invalidID(seq), err)
			e.release(1)
			return
		}
	}
	select {
	case e.sched.in <- j:
	case <-ctx.Done():
		e.handBack(j)
	}
}

// decodeJob turns a message (stored at seq, see heldCopy) into a held job.
func (e *Engine) decodeJob(p int, msg jetstream.Msg, seq storedSeq) (*job, error) {
	j, err := newJob(msg, redrivesOf(msg.Headers()))
	if err != nil {
		return nil, err
	}
	e.hold(j, p, seq, time.Now())
	return j, nil
}

// newJob decodes and checks the intent d holds.
func newJob(d delivery, redrives int) (*job, error) {
	in, err := intent.Decode(d.Data())
	if err == nil {
		err = matchesSubject(in, d.Subject())
	}
	if err != nil {
		return nil, err
	}
	j := &job{msg: d, in: in, deadline: in.Deadline(), redrives: redrives}
	j.spillID = deadletter.RedriveMsgID(in.ID, redrives)
	return j, nil
}

// passThrough returns a job for an intent of a key whose lane is spilling,
// without decoding it: it goes straight to LINE_BACKLOG, and is decoded and
// validated when the lane refills it. Passing a deep partition through is
// most of a hot key's cost, and the decode was most of that. It returns nil
// (decode as usual) when the lane is not spilling, or when the message has
// no Nats-Msg-Id to de-duplicate its spill by.
func (e *Engine) passThrough(p int, msg jetstream.Msg, seq storedSeq) *job {
	ch, bot, ep, ok := subjectKeyOf(msg.Subject())
	if !ok {
		return nil
	}
	k := laneKey{channel: ch, bot: bot, endpoint: intent.Endpoint(ep)}
	if _, spilling := e.spillingKeys.Load(k); !spilling {
		return nil
	}
	h := msg.Headers()
	id := h.Get(jetstream.MsgIDHeader)
	if id == "" {
		return nil
	}
	j := &job{msg: msg, raw: true, spillID: id,
		in: &intent.Intent{ID: id, Channel: ch, Bot: bot, Endpoint: k.endpoint}}
	j.redrives = redrivesOf(h)
	e.hold(j, p, seq, time.Now())
	return j
}

// hold registers a pulled job: it holds a credit and is kept alive until it
// is acked, nacked or spilled.
func (e *Engine) hold(j *job, p int, seq storedSeq, now time.Time) {
	j.key = laneKey{channel: j.in.Channel, bot: j.in.Bot, endpoint: j.in.Endpoint}
	j.partition, j.received, j.seq = p, now, seq
	j.lastProgress.Store(now.UnixNano())
	j.credit.Store(true)
	e.held.add(j, seq)
}

// storedSeq names a stored message: a redelivery has the same one.
type storedSeq struct {
	stream string
	seq    uint64
}

// redundantCopy reads where msg is stored (zero if its metadata is
// unreadable) and reports whether it is a copy the pod must not act on: a
// redelivery of a message it still holds (its ack deadline passed while it
// waited, e.g. keep-alive ran late on a starved machine; the held copy will
// be acked or handed back), or of one it finished moments ago (the copy
// crossed the ack, see finishedSeqs; it is acked again). Sending it would
// only spend a token on a 409. Once the pod has looked ahead (lookahead.go)
// or a partition consumer was created again (consumer.go), a first delivery
// can be such a copy too.
func (e *Engine) redundantCopy(msg jetstream.Msg) (storedSeq, bool) {
	m, err := msg.Metadata()
	if err != nil {
		return storedSeq{}, false
	}
	seq := storedSeq{stream: m.Stream, seq: m.Sequence.Stream}
	if m.NumDelivered < 2 && !e.checkFirstDeliveries.Load() {
		return seq, false
	}
	held, finished := e.heldOrFinished(seq)
	if held {
		if m.NumDelivered > 1 {
			e.metrics.redelivered.Inc()
		}
		return seq, true
	}
	if finished {
		_ = msg.Ack()
		e.metrics.redelivered.Inc()
		return seq, true
	}
	return seq, false
}

// heldOrFinished reports whether the pod holds the message stored at seq,
// or finished it moments ago (finishedSeqs).
func (e *Engine) heldOrFinished(seq storedSeq) (held, finished bool) {
	if e.held.holds(seq) {
		return true, false
	}
	return false, e.finished.has(seq, time.Now())
}

// redrivesOf reads how often an operator redrove an intent from its
// message's headers (0 when none).
func redrivesOf(h nats.Header) int {
	n, _ := strconv.Atoi(h.Get(deadletter.HeaderRedrive))
	return n
}

// heldCopy is redundantCopy for a pulled intent: a redundant copy's credit
// is released, and the caller drops it.
func (e *Engine) heldCopy(msg jetstream.Msg) (storedSeq, bool) {
	seq, dup := e.redundantCopy(msg)
	if dup {
		e.release(1)
	}
	return seq, dup
}

// subjectKeyOf splits a stored subject line.q.<p>.<channel>.<bot>.<endpoint>
// (or line.backlog.<p>.…) without allocating; ok is false for any other
// shape.
func subjectKeyOf(subject string) (ch, bot, ep string, ok bool) {
	rest := subject
	var tok [6]string
	for i := range tok {
		if i == len(tok)-1 {
			tok[i] = rest
			break
		}
		if tok[i], rest, ok = strings.Cut(rest, "."); !ok {
			return "", "", "", false
		}
	}
	if strings.Contains(tok[5], ".") || tok[3] == "" || tok[4] == "" || tok[5] == "" {
		return "", "", "", false
	}
	return tok[3], tok[4], tok[5], true
}

// matchesSubject checks that the stored subject
// line.q.<p>.<channel>.<bot>.<endpoint> (or line.backlog.<p>.…) names the
// intent's own key: a mismatch would put it in another bot's lane.
func matchesSubject(in *intent.Intent, subject string) error {
	ch, bot, ep, ok := subjectKeyOf(subject)
	if !ok {
		return nil // not published through the intents subjects; the body decides
	}
	if ch != in.Channel || bot != in.Bot || ep != string(in.Endpoint) {
		return &intent.ValidationError{Problems: []intent.Problem{{
			Field:  "subject",
			Reason: fmt.Sprintf("published on %s.%s.%s but the intent is for %s.%s.%s", ch, bot, ep, in.Channel, in.Bot, in.Endpoint),
			Code:   outcome.ReasonInvalidIntent,
		}}}
	}
	return nil
}

// subjectKey returns (channel, bot, endpoint) from a stored intent subject,
// for dead letters of intents whose body could not be read.
func subjectKey(subject string) (string, string, string) {
	if ch, bot, ep, ok := subjectKeyOf(subject); ok {
		return ch, bot, ep
	}
	return "_", "_", "_"
}
