package dispatch

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/internal/deadletter"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// Spilling keeps a hot lane from blocking its partition. A lane whose queue
// is full moves further intents (and every later one of its key, to keep
// FIFO) to LINE_BACKLOG and acks them on LINE_INTENTS, so the partition's
// other bots keep flowing; the lane refills from its own backlog consumer as
// it drains. Memory stays bounded by the lane capacities, whatever the
// backlog.

// spillPipeline bounds spills awaiting their PubAck.
const spillPipeline = 512

// spiller publishes spilled intents to LINE_BACKLOG in arrival order and
// acks the originals once stored. One goroutine: the publish order is the
// backlog's order.
type spiller struct {
	e    *Engine
	in   chan *job
	done chan<- laneKey // to the scheduler: one per finished spill
}

type pendingSpill struct {
	j   *job
	ack jetstream.PubAckFuture
}

func (sp *spiller) run(ctx context.Context) {
	var pending []pendingSpill
	settle := func(p pendingSpill) {
		select {
		case <-p.ack.Ok():
			if err := p.j.msg.Ack(); err != nil {
				sp.e.log.Warn().Err(err).Str("intent", p.j.in.ID).Msg("ack of spilled intent failed; it will be spilled again and de-duplicated")
			}
			sp.e.metrics.spills.Inc()
			sp.e.forget(p.j)
		case err := <-p.ack.Err():
			sp.e.log.Warn().Err(err).Str("intent", p.j.in.ID).Msg("spill failed; intent handed back")
			sp.e.handBack(p.j)
		case <-ctx.Done():
			sp.e.handBack(p.j)
		}
		sp.report(ctx, p.j.key)
	}
	for {
		var j *job
		if len(pending) == 0 {
			select {
			case j = <-sp.in:
			case <-ctx.Done():
				return
			}
		} else {
			select {
			case j = <-sp.in:
			default:
				settle(pending[0])
				pending = pending[1:]
				continue
			}
		}
		m := nats.NewMsg(queue.BacklogSubject(j.partition, j.in.Channel, j.in.Bot, string(j.in.Endpoint)))
		m.Data = j.msg.Data()
		m.Header.Set(jetstream.MsgIDHeader, j.spillID)
		if j.redrives > 0 {
			m.Header.Set(deadletter.HeaderRedrive, strconv.Itoa(j.redrives))
		}
		f, err := sp.e.js.PublishMsgAsync(m)
		if err != nil {
			sp.e.log.Warn().Err(err).Msg("spill publish failed; intent handed back")
			sp.e.handBack(j)
			sp.report(ctx, j.key)
			continue
		}
		pending = append(pending, pendingSpill{j: j, ack: f})
		if len(pending) >= spillPipeline {
			settle(pending[0])
			pending = pending[1:]
		}
	}
}

func (sp *spiller) report(ctx context.Context, k laneKey) {
	select {
	case sp.done <- k:
	case <-ctx.Done():
	}
}

// backlogConsumerName is the durable consumer of one key's backlog.
func backlogConsumerName(k laneKey) string {
	return "bl_" + k.channel + "_" + k.bot + "_" + string(k.endpoint)
}

// refillRetry is how soon a lane asks again after a refill that came back
// empty although its backlog holds intents.
const refillRetry = 20 * time.Millisecond

// refillRequest asks a refiller for up to n of a lane's spilled intents.
type refillRequest struct {
	key       laneKey
	partition int
	n         int
}

// refillReport hands the scheduler a lane's refilled jobs, oldest first.
type refillReport struct {
	key  laneKey
	jobs []*job
	n    int // asked for
	err  error
	// more is set when nothing came back although the backlog holds
	// intents: the lane must not conclude that its backlog is empty.
	more bool
}

// backlogMaxAckPending bounds a backlog consumer's unacknowledged intents:
// what one lane can hold from it (its queue, in flight, retries) with room.
func backlogMaxAckPending(c Config) int {
	return 2*c.LaneCapacity + c.MaxInflightPerLane + maxRefill
}

// refill fetches one lane's spilled intents, oldest first.
func (e *Engine) refill(ctx context.Context, r refillRequest) refillReport {
	rep := refillReport{key: r.key, n: r.n}
	c, err := e.js.CreateOrUpdateConsumer(ctx, queue.BacklogStream, jetstream.ConsumerConfig{
		Durable:       backlogConsumerName(r.key),
		FilterSubject: queue.BacklogSubject(r.partition, r.key.channel, r.key.bot, string(r.key.endpoint)),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       e.cfg.AckWait,
		MaxDeliver:    -1,
		// The lane acks what it refilled as it sends; JetStream's default
		// of 1,000 unacknowledged messages would starve a lane that holds
		// more, and its refills would come back empty.
		MaxAckPending:     backlogMaxAckPending(e.cfg),
		InactiveThreshold: 10 * time.Minute, // the server removes it once the key cools down
	})
	if err != nil {
		rep.err = err
		return rep
	}
	n := e.acquire(ctx, r.n)
	if n == 0 {
		rep.err = ctx.Err()
		return rep
	}
	e.metrics.held.Add(float64(n))
	rep.n = n
	got := 0
	defer func() { e.release(n - got) }()
	// FetchNoWait: take what is there now; waiting for a full batch would
	// stall the lane.
	batch, err := c.FetchNoWait(n)
	if err != nil {
		rep.err = err
		return rep
	}
	defer func() {
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && got == 0 {
			rep.err = err
		}
		if got == 0 && rep.err == nil && c.CachedInfo().NumPending > 0 {
			// Stored but not delivered (e.g. still being written): the
			// backlog is not empty; the lane asks again shortly.
			rep.more = true
		}
	}()
	for msg := range batch.Messages() {
		got++
		seq, dup := e.heldCopy(msg)
		if dup {
			continue
		}
		j, err := e.decodeJob(r.partition, msg, seq)
		if err != nil {
			// It was valid when spilled; record it rather than lose it.
			// deadLetterInvalid releases its credit.
			e.deadLetterInvalid(ctx, msg, err)
			continue
		}
		rep.jobs = append(rep.jobs, j)
	}
	return rep
}
