package dispatch

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/internal/backlog"
	"github.com/linedispatch/linedispatch/internal/deadletter"
	"github.com/linedispatch/linedispatch/internal/queue"
)

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

// refill fetches one lane's spilled intents, oldest first. A backlog
// message holds up to spillBatchMax intents: it asks for as many messages as
// its credits cover at that size, and again while they come back full and
// credits remain, so it takes at most its credits' worth (more only when the
// credits cover less than one batch: the members beyond them hold none).
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
	credits := e.acquire(ctx, r.n)
	if credits == 0 {
		rep.err = ctx.Err()
		return rep
	}
	e.metrics.held.Add(float64(credits))
	rep.n = credits
	defer func() { e.release(credits) }()
	fetched := 0
	for first := true; credits >= spillBatchMax || (first && credits > 0); first = false {
		want := max(1, credits/spillBatchMax)
		// FetchNoWait: take what is there now; waiting for a full batch
		// would stall the lane.
		batch, err := c.FetchNoWait(want)
		if err != nil {
			if fetched == 0 {
				rep.err = err
			}
			break
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			credits = e.unbatch(ctx, r.partition, msg, credits, &rep)
		}
		fetched += got
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && fetched == 0 {
			rep.err = err
		}
		if got < want {
			break
		}
	}
	if fetched == 0 && rep.err == nil && c.CachedInfo().NumPending > 0 {
		// Stored but not delivered (e.g. still being written): the backlog
		// is not empty; the lane asks again shortly.
		rep.more = true
	}
	return rep
}

// unbatch turns one backlog message into held jobs appended to rep, giving
// them credits while they last, and returns the credits left. Intents that
// fail validation now (a pass-through spilled them undecoded) are
// dead-lettered; a message that cannot be read at all is dead-lettered
// whole.
func (e *Engine) unbatch(ctx context.Context, p int, msg jetstream.Msg, credits int, rep *refillReport) int {
	seq, dup := e.redundantCopy(msg)
	if dup {
		return credits
	}
	recs, err := backlog.Decode(msg.Data(), msg.Headers())
	if err != nil {
		e.deadLetterInvalid(ctx, msg, invalidID(seq), err)
		return credits
	}
	b := e.newSpillBatch(msg, seq, len(recs))
	now := time.Now()
	for i, rec := range recs {
		m := &batchMember{b: b, data: rec.Data}
		if rec.Redrives > 0 {
			m.headers = nats.Header{deadletter.HeaderRedrive: []string{strconv.Itoa(rec.Redrives)}}
		}
		j, err := newJob(m, rec.Redrives)
		if err != nil {
			e.deadLetterInvalid(ctx, m, memberInvalidID(seq, rec, i, len(recs)), err)
			continue
		}
		e.hold(j, p, storedSeq{}, now)
		if credits > 0 {
			credits--
		} else {
			j.credit.Store(false)
		}
		rep.jobs = append(rep.jobs, j)
	}
	return credits
}

// memberInvalidID is invalidID for a batch member: its LINE_INTENTS
// sequence when the batch recorded it.
func memberInvalidID(batch storedSeq, rec backlog.Record, i, n int) string {
	if rec.Seq != 0 {
		return invalidID(storedSeq{stream: queue.IntentsStream, seq: rec.Seq})
	}
	id := invalidID(batch)
	if n > 1 {
		id += "." + strconv.Itoa(i)
	}
	return id
}
