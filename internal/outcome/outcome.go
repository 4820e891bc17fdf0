// Package outcome is the event recorded for every intent the dispatcher
// finishes: exactly one Outcome per intent ID on LINE_OUTCOMES (the event log
// that statistics and audits are folded from), plus, for failures, a dead
// letter on LINE_DEAD that keeps the original intent for redrive.
package outcome

import (
	"strings"
	"time"
)

// Result is how an intent ended.
type Result string

const (
	// Sent means LINE accepted the request (2xx), or answered 409 for its
	// retry key, which means an earlier attempt was accepted.
	Sent Result = "sent"
	// Dead means the intent will not be sent; a dead letter holds it.
	Dead Result = "dead"
)

// Dead-letter reasons. They are subject tokens, so they stay lowercase words.
const (
	ReasonInvalidJSON     = "invalid_json"     // the message is not a JSON intent
	ReasonInvalidIntent   = "invalid_intent"   // the intent breaks a rule of wire format v1
	ReasonUnknownEndpoint = "unknown_endpoint" // the endpoint token is not supported
	ReasonExpired         = "expired"          // the deadline passed before LINE accepted it
	ReasonRejected        = "line_rejected"    // LINE answered a 4xx other than 409/429
	ReasonQuota           = "quota"            // LINE's monthly quota is used up (429)
	ReasonUnitCap         = "unit_cap"         // the bot's unit-name cap for the month is reached
	ReasonBotDetached     = "bot_detached"     // the module was detached from the bot
	ReasonUnauthorized    = "unauthorized"     // LINE refused the token even after a refresh
)

// Unit actions recorded when an intent names a unit.
const (
	UnitAttached = ""                 // the name was sent (the normal case)
	UnitStripped = "stripped"         // cap reached, policy strip: sent without the name
	UnitOverCap  = "allowed_over_cap" // cap reached, policy allow: sent with the name; LINE drops it
)

// Outcome is the record of one finished intent. It is published on
// Subject() with Nats-Msg-Id = IntentID, so a re-published outcome (after a
// crash between publish and ack) is de-duplicated by the stream.
type Outcome struct {
	IntentID string `json:"intentId"`
	Channel  string `json:"channel"`
	Bot      string `json:"bot"`
	Endpoint string `json:"endpoint"`
	Result   Result `json:"result"`
	// Reason is the dead-letter reason (empty when sent).
	Reason string `json:"reason,omitempty"`
	// Detail explains Reason in one line (validation errors, LINE's message).
	Detail string `json:"detail,omitempty"`
	// Unit is the intent's unit name; UnitAction says what was done with it.
	Unit       string `json:"unit,omitempty"`
	UnitAction string `json:"unitAction,omitempty"`
	// Recipients is 1 for push, len(to) for multicast, 0 when unknown.
	Recipients int `json:"recipients"`
	// Status is LINE's last HTTP status (0 when LINE was never asked).
	Status int `json:"status,omitempty"`
	// Conflict is true when LINE answered 409: an earlier attempt under the
	// same retry key had been accepted.
	Conflict          bool   `json:"conflict,omitempty"`
	RequestID         string `json:"requestId,omitempty"`
	AcceptedRequestID string `json:"acceptedRequestId,omitempty"`
	// Attempts counts requests sent to LINE for this intent; Throttled how
	// many of them LINE answered with a rate-limit 429.
	Attempts  int `json:"attempts"`
	Throttled int `json:"throttled,omitempty"`
	// LineError is LINE's error body for dead letters caused by LINE.
	LineError *LineError `json:"lineError,omitempty"`
	CreatedAt time.Time  `json:"createdAt,omitzero"`
	// At is when the outcome was decided.
	At     time.Time         `json:"at"`
	Labels map[string]string `json:"labels,omitempty"`
	// Pod names the dispatcher that decided the outcome.
	Pod string `json:"pod,omitempty"`
}

// LineError is LINE's error answer, as recorded in outcomes.
type LineError struct {
	Status  int          `json:"status"`
	Message string       `json:"message"`
	Details []LineDetail `json:"details,omitempty"`
}

// LineDetail is one entry of LINE's error details.
type LineDetail struct {
	Message  string `json:"message"`
	Property string `json:"property,omitempty"`
}

// Subject prefixes of the outcome and dead-letter streams.
const (
	OutcomePrefix = "line.outcomes"
	DeadPrefix    = "line.dead"
)

// Subject returns line.outcomes.<channel>.<bot>.<endpoint>.<result>.
func (o *Outcome) Subject() string {
	return join(OutcomePrefix, o.Channel, o.Bot, o.Endpoint, string(o.Result))
}

// DeadSubject returns line.dead.<channel>.<bot>.<endpoint>.<reason>.
func (o *Outcome) DeadSubject() string {
	return join(DeadPrefix, o.Channel, o.Bot, o.Endpoint, o.Reason)
}

// Token makes s safe as one subject token: empty becomes "_", and the
// characters NATS gives meaning to become "_".
func Token(s string) string {
	if s == "" {
		return "_"
	}
	if !strings.ContainsAny(s, ".*> \t\r\n") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, s)
}

func join(prefix string, tokens ...string) string {
	n := len(prefix) + len(tokens)
	for _, t := range tokens {
		n += max(len(t), 1)
	}
	var b strings.Builder
	b.Grow(n) // one allocation: Token keeps a token's length ("_" for "")
	b.WriteString(prefix)
	for _, t := range tokens {
		b.WriteByte('.')
		b.WriteString(Token(t))
	}
	return b.String()
}
