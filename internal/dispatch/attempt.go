package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linedispatch/linedispatch/internal/lineapi"
	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/sender"
)

// attempt sends j once and decides what follows. It runs on a worker.
func (e *Engine) attempt(ctx context.Context, j *job) result {
	if time.Now().After(j.deadline) {
		return e.expire(j)
	}
	if !j.unitDone {
		if r, stop := e.prepare(ctx, j); stop {
			return r
		}
	}
	if j.sendLog != nil {
		// Write ahead: a pod that dies after this send must leave it on
		// record for the lane's next owner.
		if err := e.lanes.save(ctx, j.key, j.sendLog); err != nil {
			j.sendLog = nil
			j.lastErr = fmt.Errorf("lane send log: %w", err)
			return result{j: j, kind: resultRetry}
		}
		j.sendLog = nil
	}
	// LINE counts a request when it arrives. The limiter's guard absorbs
	// delays between admission and arrival that vary by up to Guard; a
	// request that would leave later than a tenth of that after its token (a
	// worker starved of CPU, a slow unit-registry call) has its admission
	// moved to now, which the window log always accepts while the old one is
	// still in it. Otherwise it goes back to its lane for a new token. Either
	// way the log holds departure times, so a saturated machine costs
	// throughput instead of a window violation.
	if j.staleAfter > 0 {
		if now := time.Now(); now.Sub(j.reservedAt) > j.staleAfter {
			if !j.limiter.Restamp(j.reservedAt, now) {
				e.metrics.stale.WithLabelValues("requeued").Inc()
				return result{j: j, kind: resultStale}
			}
			e.metrics.stale.WithLabelValues("restamped").Inc()
			j.reservedAt = now
		}
	}
	req := sender.Request{
		Channel:  j.in.Channel,
		Bot:      j.in.Bot,
		Endpoint: j.in.Endpoint,
		Body:     j.body,
		RetryKey: j.in.EffectiveRetryKey(),
	}
	var f *flight
	if j.limiter != nil {
		f = e.newFlight(j)
		req.Wrote, req.Answered = f.wroteAt, f.answeredAt
	}
	resp, err := e.sender.Send(ctx, req)
	if f != nil {
		f.settle(time.Now())
	}
	class := sender.Classify(resp, err)
	if class != sender.ClassCanceled {
		j.attempts++
	}
	if resp != nil {
		j.status = resp.Status
	}
	var le *lineapi.Error
	if errors.As(err, &le) {
		j.status = le.Status
	}
	e.metrics.attempts.WithLabelValues(string(j.in.Endpoint), class.String()).Inc()
	switch class {
	case sender.ClassSent:
		j.lastErr = nil
		e.recordSent(j, resp)
		return result{j: j, kind: resultFinished}
	case sender.ClassThrottle:
		j.throttled++
		j.lastErr = err
		return result{j: j, kind: resultThrottled}
	case sender.ClassRetry:
		j.lastErr = err
		e.log.Debug().Err(err).Str("intent", j.in.ID).Int("attempt", j.attempts).Msg("attempt failed, will retry")
		return result{j: j, kind: resultRetry}
	case sender.ClassQuota:
		j.lastErr = err
		e.recordDead(j, outcome.ReasonQuota, err)
		return result{j: j, kind: resultFinished}
	case sender.ClassCanceled:
		e.handBack(j)
		return result{j: j, kind: resultReleased}
	default: // ClassReject
		j.lastErr = err
		reason := outcome.ReasonRejected
		if le != nil && le.Status == 401 {
			reason = outcome.ReasonUnauthorized
		}
		e.recordDead(j, reason, err)
		return result{j: j, kind: resultFinished}
	}
}

// expire dead-letters an intent whose deadline passed. When it was tried
// before, LINE may or may not have accepted it: the detail says so, and the
// retry key in the dead letter lets an operator check.
func (e *Engine) expire(j *job) result {
	err := fmt.Errorf("deadline %s passed before LINE accepted the request", j.deadline.UTC().Format(time.RFC3339))
	if j.lastErr != nil {
		err = fmt.Errorf("%w after %d attempt(s); last error: %w", err, j.attempts, j.lastErr)
	}
	j.lastErr = err
	e.recordDead(j, outcome.ReasonExpired, err)
	return result{j: j, kind: resultFinished}
}

// prepare builds the body once: it admits the unit name against the bot's
// monthly cap and puts it into customAggregationUnits, or strips it, or
// dead-letters the intent, per policy.
func (e *Engine) prepare(ctx context.Context, j *job) (result, bool) {
	j.body = j.in.Body
	if j.in.Unit != "" {
		action := outcome.UnitAttached
		if e.units != nil {
			d, err := e.units.Admit(ctx, j.in.Channel, j.in.Bot, j.in.Unit, time.Now())
			if err != nil {
				// The registry lives in JetStream; without it the cap cannot be
				// kept. Retry like any transient failure.
				j.lastErr = fmt.Errorf("unit registry: %w", err)
				return result{j: j, kind: resultRetry}, true
			}
			if !d.Send {
				j.unitAction = d.Action
				j.lastErr = fmt.Errorf("unit %q: the bot's unit-name cap for this month is reached (%d names)", j.in.Unit, d.Count)
				e.recordDead(j, outcome.ReasonUnitCap, j.lastErr)
				return result{j: j, kind: resultFinished}, true
			}
			action = d.Action
			if d.Strip {
				action = outcome.UnitStripped
			}
		}
		if action != outcome.UnitStripped {
			j.body = withUnit(j.in.Body, j.in.Unit)
		}
		j.unitAction = action
	}
	j.unitDone = true
	return result{}, false
}

// withUnit inserts "customAggregationUnits":["<unit>"] into a JSON object.
// Validation guarantees body is an object without that field and unit is
// [a-zA-Z0-9_]{1,30}, so no escaping is needed.
func withUnit(body []byte, unit string) []byte {
	i := 0
	for i < len(body) && body[i] != '{' {
		i++
	}
	rest := body[i+1:]
	empty := true
	for _, c := range rest {
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		empty = c == '}'
		break
	}
	out := make([]byte, 0, len(body)+len(unit)+32)
	out = append(out, body[:i+1]...)
	out = append(out, `"customAggregationUnits":["`...)
	out = append(out, unit...)
	out = append(out, `"]`...)
	if !empty {
		out = append(out, ',')
	}
	return append(out, rest...)
}
