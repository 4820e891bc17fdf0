package dispatch

import (
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/limiter"
)

// laneKey identifies a lane: LINE's rate-limit bucket.
type laneKey struct {
	channel  string
	bot      string
	endpoint intent.Endpoint
}

// job is one held intent: the JetStream message it came in (or its share of
// a spilled batch), the decoded intent, and its attempt state. The scheduler goroutine owns the attempt
// state; a worker owns it while the job is in flight.
type job struct {
	msg       delivery
	in        *intent.Intent
	key       laneKey
	partition int
	received  time.Time
	deadline  time.Time
	// redrives counts how often an operator redrove the intent from LINE_DEAD;
	// its outcome's Nats-Msg-Id depends on it.
	redrives int
	// raw jobs were not decoded (see passThrough): in holds only the ID and
	// the key, and the job may only be spilled or handed back.
	raw bool
	// seq is the message's place in its stream (a redelivery has the same).
	seq storedSeq
	// spillID is the Nats-Msg-Id of the job's copy in LINE_BACKLOG, so a
	// spill repeated after a failed ack is stored once.
	spillID string

	// body is what is sent: the intent's body with its unit name (or
	// without it, when the cap policy strips it). Prepared on first attempt.
	body       []byte
	unitAction string
	unitDone   bool

	// reservedAt is when the lane's limiter admitted this attempt, and
	// staleAfter how late the request may leave after it (see attempt).
	reservedAt time.Time
	staleAfter time.Duration
	limiter    *limiter.Limiter // the lane's, for Restamp

	// sendLog, when set, is the lane's send log including this send: it is
	// persisted before the request goes out (hour-scale lanes only).
	sendLog []time.Time

	attempts  int
	throttled int
	notBefore time.Time
	backoff   backoff.BackOff
	lastErr   error
	status    int

	// done is set once the job is acked, nacked or spilled: keep-alive must
	// leave it alone from then on.
	done atomic.Bool
	// credit is true while the job holds one of the pod's MaxHeld credits.
	credit atomic.Bool
	// lastProgress is when the server last heard from us about this message
	// (unix nanoseconds), for keep-alive.
	lastProgress atomic.Int64
}

// result is what a worker reports back to the scheduler.
type result struct {
	j    *job
	kind resultKind
}

type resultKind int

const (
	resultFinished  resultKind = iota // done: its outcome goes to the recorders, which ack the intent
	resultRetry                       // failed retryably: try again after backoff
	resultThrottled                   // LINE said 429 (rate): slow the lane, retry
	resultReleased                    // shutdown: the intent was handed back (nak)
	resultStale                       // not sent: it would have left too long after its token
)
