package dispatch

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/internal/backlog"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// Spilling keeps a hot lane from blocking its partition. A lane whose queue
// is full moves further intents (and every later one of its key, to keep
// FIFO) to LINE_BACKLOG and acks them on LINE_INTENTS, so the partition's
// other bots keep flowing; the lane refills from its own backlog consumer as
// it drains. Memory stays bounded by the lane capacities, whatever the
// backlog.

// spillPipeline bounds the spilled intents awaiting their PubAck.
const spillPipeline = 2048

// spillBatchMax bounds the intents of one LINE_BACKLOG message. A batch costs
// one publish instead of one per intent, the largest part of passing a deep
// partition through; a batch handed back partly finished sends its finished
// members again (409), so it stays small.
const spillBatchMax = 32

// spillBatchBytes bounds a batch's body, well under JetStream's default
// max_payload of 1 MiB (and at most half the server's, see spiller.run). An
// intent too big to share a batch is spilled on its own.
const spillBatchBytes = 256 << 10

// spiller publishes spilled intents to LINE_BACKLOG in arrival order, several
// of a key per message (internal/backlog), and acks the originals once
// stored. One goroutine: the publish order is the backlog's order. It never
// waits to fill a batch: a batch is published once it is full or once no
// more intents are waiting, so batches are large exactly when a deep
// partition passes through and a lone spill leaves at once.
type spiller struct {
	e    *Engine
	in   chan *job
	done chan<- spillReport // to the scheduler: finished spills
}

// spillReport tells the scheduler that n of key's spills finished (stored
// or handed back).
type spillReport struct {
	key laneKey
	n   int
}

// openSpill is a key's batch being filled.
type openSpill struct {
	jobs []*job
	size int
}

type pendingSpill struct {
	jobs []*job
	ack  jetstream.PubAckFuture
}

func (sp *spiller) run(ctx context.Context) {
	maxBytes := spillBatchBytes
	if mp := int(sp.e.js.Conn().MaxPayload()); mp > 0 {
		maxBytes = min(maxBytes, mp/2)
	}
	var (
		pending    []pendingSpill // oldest first
		inPipeline int
		// open are the batches being filled, one per key: the backlog's
		// order is per key, so the order among keys does not matter.
		open = map[laneKey]*openSpill{}
	)
	flush := func(k laneKey) {
		b := open[k]
		delete(open, k)
		if f := sp.publish(ctx, b.jobs); f != nil {
			pending = append(pending, pendingSpill{jobs: b.jobs, ack: f})
			inPipeline += len(b.jobs)
		}
	}
	flushAll := func() {
		for k := range open {
			flush(k)
		}
	}
	settleOldest := func() {
		p := pending[0]
		pending = pending[1:]
		inPipeline -= len(p.jobs)
		sp.settle(ctx, p)
	}
	for {
		var j *job
		select {
		case j = <-sp.in:
		default:
			switch {
			case len(open) > 0:
				flushAll() // nothing more is waiting: do not hold a batch back
				continue
			case len(pending) > 0:
				settleOldest()
				continue
			}
			select {
			case j = <-sp.in:
			case <-ctx.Done():
				return
			}
		}
		size := len(j.msg.Data()) + len(j.spillID) + 32
		b := open[j.key]
		if b != nil && b.size+size > maxBytes {
			flush(j.key)
			b = nil
		}
		if b == nil {
			b = &openSpill{}
			open[j.key] = b
		}
		b.jobs = append(b.jobs, j)
		b.size += size
		if len(b.jobs) >= spillBatchMax {
			flush(j.key)
		}
		for inPipeline >= spillPipeline {
			settleOldest()
		}
	}
}

// publish sends one key's batch asynchronously; on failure it hands the
// jobs back and returns nil.
func (sp *spiller) publish(ctx context.Context, jobs []*job) jetstream.PubAckFuture {
	j0 := jobs[0]
	recs := make([]backlog.Record, len(jobs))
	for i, j := range jobs {
		recs[i] = backlog.Record{MsgID: j.spillID, Redrives: j.redrives, Data: j.msg.Data()}
		if j.seq.stream == queue.IntentsStream {
			recs[i].Seq = j.seq.seq
		}
	}
	m, err := backlog.Encode(queue.BacklogSubject(j0.partition, j0.key.channel, j0.key.bot, string(j0.key.endpoint)), recs)
	var f jetstream.PubAckFuture
	if err == nil {
		f, err = sp.e.js.PublishMsgAsync(m)
	}
	if err != nil {
		sp.e.log.Warn().Err(err).Int("intents", len(jobs)).Msg("spill publish failed; intents handed back")
		for _, j := range jobs {
			sp.e.handBack(j)
		}
		sp.report(ctx, j0.key, len(jobs))
		return nil
	}
	return f
}

// settle waits for a batch's PubAck, then acks its intents on LINE_INTENTS;
// a batch that was not stored is handed back.
func (sp *spiller) settle(ctx context.Context, p pendingSpill) {
	select {
	case <-p.ack.Ok():
		for _, j := range p.jobs {
			if err := j.msg.Ack(); err != nil {
				sp.e.log.Warn().Err(err).Str("intent", j.in.ID).Msg("ack of spilled intent failed; it will be spilled again")
			}
			sp.e.forget(j)
		}
		sp.e.metrics.spills.Add(float64(len(p.jobs)))
		sp.e.metrics.spillBatches.Inc()
	case err := <-p.ack.Err():
		sp.e.log.Warn().Err(err).Int("intents", len(p.jobs)).Msg("spill failed; intents handed back")
		for _, j := range p.jobs {
			sp.e.handBack(j)
		}
	case <-ctx.Done():
		for _, j := range p.jobs {
			sp.e.handBack(j)
		}
	}
	sp.report(ctx, p.jobs[0].key, len(p.jobs))
}

func (sp *spiller) report(ctx context.Context, k laneKey, n int) {
	select {
	case sp.done <- spillReport{key: k, n: n}:
	case <-ctx.Done():
	}
}
