package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/deadletter"
	"github.com/linedispatch/linedispatch/internal/lineapi"
	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/sender"
)

// The order of effects is the heart of "nothing lost, never twice": an
// outcome (and a dead letter) is published and its PubAck awaited before the
// intent is acked. A crash in between redelivers the intent; the retry key
// makes LINE answer 409 instead of delivering again, and Nats-Msg-Id makes
// JetStream drop the second outcome.

func (e *Engine) recordSent(j *job, resp *sender.Response) {
	o := e.outcomeOf(j)
	o.Result = outcome.Sent
	o.Status = resp.Status
	o.Conflict = resp.Conflict
	o.RequestID = resp.RequestID
	o.AcceptedRequestID = resp.AcceptedRequestID
	if resp.Conflict {
		// LINE had already accepted this retry key: a retry after a lost
		// answer, or a second copy of the intent. Either costs a token;
		// the fields say which copy this was.
		from, delivered := deliveryOf(j.msg)
		e.log.Info().Str("intent", j.in.ID).Int("partition", j.partition).Str("from", from).
			Uint64("delivered", delivered).Int("attempts", j.attempts).Msg("sent, confirmed by 409")
	}
	e.finish(j, o)
}

func (e *Engine) recordDead(j *job, reason string, cause error) {
	o := e.outcomeOf(j)
	o.Result = outcome.Dead
	o.Reason = reason
	if cause != nil {
		o.Detail = cause.Error()
	}
	var le *lineapi.Error
	if errors.As(cause, &le) {
		o.LineError = lineErrorOf(le)
		o.RequestID = le.RequestID
	}
	e.finish(j, o)
}

// deliveryOf names where a held intent came from (intents or backlog) and
// how often JetStream has delivered its message.
func deliveryOf(d delivery) (string, uint64) {
	msg, from := d, "intents"
	switch m := d.(type) {
	case *batchMember:
		msg, from = m.b.msg, "backlog"
	case *aheadMsg:
		return "lookahead", 0
	}
	if jm, ok := msg.(jetstream.Msg); ok {
		if md, err := jm.Metadata(); err == nil {
			return from, md.NumDelivered
		}
	}
	return from, 0
}

func (e *Engine) outcomeOf(j *job) *outcome.Outcome {
	return &outcome.Outcome{
		IntentID:   j.in.ID,
		Channel:    j.in.Channel,
		Bot:        j.in.Bot,
		Endpoint:   string(j.in.Endpoint),
		Unit:       j.in.Unit,
		UnitAction: j.unitAction,
		Recipients: j.in.Recipients(),
		Status:     j.status,
		Attempts:   j.attempts,
		Throttled:  j.throttled,
		CreatedAt:  j.in.CreatedAt,
		At:         time.Now().UTC(),
		Labels:     j.in.Labels,
		Pod:        e.cfg.Pod,
	}
}

// finish hands j and its outcome to a recorder (recorder.go), which
// records o and acks j's message; the worker goes on with its next request.
func (e *Engine) finish(j *job, o *outcome.Outcome) {
	e.records <- recording{j: j, o: o}
}

// finishNow records o for j and acks j's message.
func (e *Engine) finishNow(ctx context.Context, j *job, o *outcome.Outcome) {
	if err := e.record(ctx, j.msg, o, deadletter.RedriveMsgID(o.IntentID, j.redrives)); err != nil {
		// Not recorded: leave the intent unacked. It is redelivered after
		// AckWait and retried under the same retry key.
		e.log.Error().Err(err).Str("intent", o.IntentID).Msg("outcome not recorded; intent left for redelivery")
		leaveForRedelivery(j.msg)
		e.forget(j)
		return
	}
	if err := j.msg.Ack(); err != nil {
		e.log.Warn().Err(err).Str("intent", o.IntentID).Msg("ack failed; the intent will be redelivered and answered by its recorded outcome")
	}
	e.finished.add(j.seq, time.Now())
	e.metrics.outcomes.WithLabelValues(o.Endpoint, string(o.Result), o.Reason).Inc()
	if o.Result == outcome.Sent && !o.CreatedAt.IsZero() {
		e.metrics.latency.WithLabelValues(o.Endpoint).Observe(o.At.Sub(o.CreatedAt).Seconds())
	}
	e.forget(j)
}

// record publishes the dead letter (for dead outcomes) and the outcome,
// both with Nats-Msg-Id id, retrying while JetStream is unavailable, until
// ctx ends.
func (e *Engine) record(ctx context.Context, msg delivery, o *outcome.Outcome, id string) error {
	ob, err := o.JSON()
	if err != nil {
		return fmt.Errorf("encode outcome: %w", err)
	}
	if o.Result == outcome.Dead {
		dl := nats.NewMsg(o.DeadSubject())
		dl.Data = msg.Data()
		dl.Header.Set(outcome.HeaderOutcome, string(ob))
		dl.Header.Set(outcome.HeaderReason, o.Reason)
		dl.Header.Set(outcome.HeaderIntentSubject, msg.Subject())
		if h := msg.Headers(); h != nil && h.Get(deadletter.HeaderRedrive) != "" {
			dl.Header.Set(deadletter.HeaderRedrive, h.Get(deadletter.HeaderRedrive))
		}
		dl.Header.Set(jetstream.MsgIDHeader, id)
		if err := e.publish(ctx, dl); err != nil {
			return fmt.Errorf("dead letter: %w", err)
		}
	}
	om := nats.NewMsg(o.Subject())
	om.Data = ob
	om.Header.Set(jetstream.MsgIDHeader, id)
	if err := e.publish(ctx, om); err != nil {
		return fmt.Errorf("outcome: %w", err)
	}
	return nil
}

// publish stores m and waits for its PubAck, retrying while JetStream is
// unavailable. It publishes asynchronously and waits on the future: with
// many workers recording at once, nats.go then coalesces their writes into
// few syscalls instead of flushing every outcome on its own.
func (e *Engine) publish(ctx context.Context, m *nats.Msg) error {
	delay := 100 * time.Millisecond
	for {
		err := e.publishOnce(ctx, m)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		e.log.Warn().Err(err).Str("subject", m.Subject).Msg("publish failed, retrying")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

func (e *Engine) publishOnce(ctx context.Context, m *nats.Msg) error {
	f, err := e.js.PublishMsgAsync(m)
	if err != nil {
		return err
	}
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return err
	case <-t.C:
		return errors.New("no PubAck within 5s")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deadLetterInvalid records an intent that failed validation under
// Nats-Msg-Id id (see invalidID).
func (e *Engine) deadLetterInvalid(ctx context.Context, msg delivery, id string, cause error) {
	channel, bot, endpoint := subjectKey(msg.Subject())
	o := &outcome.Outcome{
		Channel:  channel,
		Bot:      bot,
		Endpoint: endpoint,
		Result:   outcome.Dead,
		Reason:   reasonOf(cause),
		Detail:   cause.Error(),
		At:       time.Now().UTC(),
		Pod:      e.cfg.Pod,
	}
	var in intent.Intent
	if json.Unmarshal(msg.Data(), &in) == nil {
		o.IntentID, o.CreatedAt, o.Labels, o.Unit = in.ID, in.CreatedAt, in.Labels, in.Unit
		if len(o.IntentID) > 64 {
			o.IntentID = ""
		}
	}
	if err := e.record(ctx, msg, o, id); err != nil {
		e.log.Error().Err(err).Msg("dead letter not recorded; intent left for redelivery")
		leaveForRedelivery(msg)
		return
	}
	if err := msg.Ack(); err != nil {
		e.log.Warn().Err(err).Msg("ack of dead-lettered intent failed")
	}
	e.metrics.outcomes.WithLabelValues(o.Endpoint, string(o.Result), o.Reason).Inc()
	e.log.Info().Str("reason", o.Reason).Str("detail", o.Detail).Str("subject", msg.Subject()).Msg("invalid intent dead-lettered")
}

// invalidID is the Nats-Msg-Id of an invalid intent's outcome and dead
// letter. Its own ID cannot be trusted (it may be missing, malformed or
// another intent's): its LINE_INTENTS sequence identifies it, and stays the
// same if it is redelivered or passes through the backlog. A spill without
// one (spilled on its own) is named by its LINE_BACKLOG sequence.
func invalidID(seq storedSeq) string {
	if seq.stream == "" {
		return "invalid-"
	}
	if seq.stream == queue.BacklogStream {
		return "invalid-backlog-" + strconv.FormatUint(seq.seq, 10)
	}
	return "invalid-" + strconv.FormatUint(seq.seq, 10)
}

// leaveForRedelivery gives up on a held message without answering it: a
// message of its own is redelivered after AckWait; a batch member is handed
// back, and its batch is redelivered once every member is settled.
func leaveForRedelivery(d delivery) {
	if m, ok := d.(*batchMember); ok {
		_ = m.Nak()
	}
}

// handBack returns j to JetStream for immediate redelivery.
func (e *Engine) handBack(j *job) {
	if err := j.msg.Nak(); err != nil {
		e.log.Debug().Err(err).Msg("nak failed; the intent is redelivered after AckWait")
	}
	e.forget(j)
}

// forget ends the pod's hold on j.
func (e *Engine) forget(j *job) {
	if j.done.Swap(true) {
		return
	}
	e.held.remove(j, j.seq)
	e.returnCredit(j)
}

// returnCredit gives j's credit back to the pod, once.
func (e *Engine) returnCredit(j *job) {
	if j.credit.Swap(false) {
		e.release(1)
	}
}

func lineErrorOf(le *lineapi.Error) *outcome.LineError {
	out := &outcome.LineError{Status: le.Status, Message: le.Message}
	for _, d := range le.Details {
		out.Details = append(out.Details, outcome.LineDetail{Message: d.Message, Property: d.Property})
	}
	return out
}

// reasonOf is the dead-letter reason of a validation failure.
func reasonOf(err error) string {
	var ve *intent.ValidationError
	if errors.As(err, &ve) {
		return ve.Reason()
	}
	return outcome.ReasonInvalidIntent
}
