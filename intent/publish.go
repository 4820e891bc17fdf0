package intent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publishing notes:
//   - Nats-Msg-Id is the intent ID, so JetStream drops a re-publish inside the
//     stream's duplicate window: a producer that is unsure whether a publish
//     went through simply publishes the same intent again.
//   - No per-message TTL is set even though the stream allows one: JetStream
//     would delete an overdue intent silently, while the promise is that every
//     accepted intent ends in a recorded outcome (an expired one becomes a
//     dead letter).

// Publish validates in, publishes it to in.Subject() with Nats-Msg-Id = in.ID
// and waits for JetStream's acknowledgement. Only then is the intent the
// dispatcher's responsibility. A duplicate (the same ID was accepted before,
// within the duplicate window) is not an error: the returned ack has
// Duplicate set. Validation errors are *ValidationErrors and nothing is sent.
func Publish(ctx context.Context, js jetstream.JetStream, in *Intent) (*jetstream.PubAck, error) {
	msg, err := message(in, time.Now())
	if err != nil {
		return nil, err
	}
	ack, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(in.ID))
	if err != nil {
		return nil, fmt.Errorf("intent %s: publish: %w", in.ID, err)
	}
	return ack, nil
}

// message validates and encodes in.
func message(in *Intent, now time.Time) (*nats.Msg, error) {
	if err := in.Validate(now); err != nil {
		return nil, err
	}
	data, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("intent %s: encode: %w", in.ID, err)
	}
	return &nats.Msg{Subject: in.Subject(), Data: data, Header: nats.Header{}}, nil
}

// Result is the outcome of one intent of a batch.
type Result struct {
	// ID is the intent's ID.
	ID string
	// Ack is JetStream's acknowledgement (Ack.Duplicate for a re-publish), or
	// nil when Err is set.
	Ack *jetstream.PubAck
	// Err is a *ValidationError (the intent was not sent), a publish error,
	// or the context's error when the batch was abandoned before this
	// intent's ack arrived (it may or may not have been stored: publish it
	// again, the ID de-duplicates).
	Err error
}

// DefaultMaxInFlight is PublishBatch's default window of unacknowledged
// publishes: enough to hide the round trip, well under nats.go's own limit
// of 4,000 pending async publishes per JetStream context.
const DefaultMaxInFlight = 256

// BatchOption tunes PublishBatch.
type BatchOption func(*batchConfig)

type batchConfig struct {
	maxInFlight int
	onResult    func(i int, r Result)
}

// MaxInFlight bounds the publishes awaiting an ack (default DefaultMaxInFlight).
func MaxInFlight(n int) BatchOption {
	return func(c *batchConfig) {
		if n > 0 {
			c.maxInFlight = n
		}
	}
}

// OnResult calls f with each result as soon as it is known, for progress
// reporting. Calls come from PublishBatch's goroutine, in no particular order.
func OnResult(f func(i int, r Result)) BatchOption {
	return func(c *batchConfig) { c.onResult = f }
}

// PublishBatch publishes many intents pipelined: up to MaxInFlight publishes
// are outstanding at once instead of one round trip each. Every intent is
// validated first and invalid ones are skipped (their Result.Err is a
// *ValidationError); callers wanting all-or-nothing validate beforehand, as
// the producer gateway does.
//
// The results are in the order of ins. The error is nil when every intent was
// acknowledged (duplicates included); otherwise it counts the failures and
// wraps the first one. When ctx ends, intents without an ack get ctx.Err().
func PublishBatch(ctx context.Context, js jetstream.JetStream, ins []*Intent, opts ...BatchOption) ([]Result, error) {
	cfg := batchConfig{maxInFlight: DefaultMaxInFlight}
	for _, o := range opts {
		o(&cfg)
	}
	b := &batch{ctx: ctx, js: js, cfg: cfg, results: make([]Result, len(ins))}
	now := time.Now()
	for i, in := range ins {
		b.results[i].ID = in.ID
		msg, err := message(in, now)
		if err != nil {
			b.finish(i, nil, err)
			continue
		}
		if err := b.publish(i, msg, in.ID); err != nil {
			b.finish(i, nil, err)
		}
	}
	for len(b.pending) > 0 {
		b.awaitOldest()
	}
	return b.results, b.summary()
}

type pendingAck struct {
	index  int
	future jetstream.PubAckFuture
}

type batch struct {
	ctx     context.Context
	js      jetstream.JetStream
	cfg     batchConfig
	results []Result
	pending []pendingAck // oldest first; acks mostly arrive in publish order
}

// publish sends one message once the window has room. If nats.go's shared
// pending limit is hit (other goroutines publish on the same JetStream), it
// waits for one of ours and tries again rather than failing the intent.
func (b *batch) publish(i int, msg *nats.Msg, id string) error {
	for {
		for len(b.pending) >= b.cfg.maxInFlight {
			b.awaitOldest()
		}
		if err := b.ctx.Err(); err != nil {
			return err
		}
		f, err := b.js.PublishMsgAsync(msg, jetstream.WithMsgID(id))
		if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			if len(b.pending) > 0 {
				b.awaitOldest()
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("intent %s: publish: %w", id, err)
		}
		b.pending = append(b.pending, pendingAck{index: i, future: f})
		return nil
	}
}

func (b *batch) awaitOldest() {
	p := b.pending[0]
	b.pending = b.pending[1:]
	select {
	case ack := <-p.future.Ok():
		b.finish(p.index, ack, nil)
	case err := <-p.future.Err():
		b.finish(p.index, nil, fmt.Errorf("intent %s: publish: %w", b.results[p.index].ID, err))
	case <-b.ctx.Done():
		b.finish(p.index, nil, b.ctx.Err())
	}
}

func (b *batch) finish(i int, ack *jetstream.PubAck, err error) {
	b.results[i].Ack, b.results[i].Err = ack, err
	if b.cfg.onResult != nil {
		b.cfg.onResult(i, b.results[i])
	}
}

func (b *batch) summary() error {
	var first error
	failed := 0
	for _, r := range b.results {
		if r.Err != nil {
			failed++
			if first == nil {
				first = r.Err
			}
		}
	}
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d intents not published; first: %w", failed, len(b.results), first)
}
