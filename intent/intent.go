// Package intent is linedispatch's wire format: a send intent is one LINE
// Messaging API request that a service asks the dispatcher to make on behalf of
// a module channel and one of its attached bots.
//
// Intents are JSON documents published to NATS JetStream on the subject
// Subject(channel, bot, endpoint). The dispatcher validates every intent again
// when it pulls it (it never trusts the queue) and turns an invalid one into a
// dead letter with a precise reason. See docs/intent.md for the field reference
// and the JSON Schema.
package intent

import (
	"encoding/json"
	"time"
)

// Version is the wire-format version this package reads and writes.
const Version = 1

// Endpoint names one LINE Messaging API endpoint the dispatcher can call. It is
// the last token of the intent's subject and selects the method, path, rate
// limit and retry-key rule.
type Endpoint string

// The endpoints the dispatcher supports.
const (
	Push       Endpoint = "push"       // POST /v2/bot/message/push
	Multicast  Endpoint = "multicast"  // POST /v2/bot/message/multicast
	Narrowcast Endpoint = "narrowcast" // POST /v2/bot/message/narrowcast
	Broadcast  Endpoint = "broadcast"  // POST /v2/bot/message/broadcast
	Reply      Endpoint = "reply"      // POST /v2/bot/message/reply
	MarkAsRead Endpoint = "markasread" // POST /v2/bot/message/markAsRead
)

// Endpoints lists every supported endpoint in a stable order.
var Endpoints = []Endpoint{Push, Multicast, Narrowcast, Broadcast, Reply, MarkAsRead}

// Valid reports whether e is a supported endpoint.
func (e Endpoint) Valid() bool {
	switch e {
	case Push, Multicast, Narrowcast, Broadcast, Reply, MarkAsRead:
		return true
	}
	return false
}

// TakesRetryKey reports whether LINE accepts X-Line-Retry-Key on e. Every other
// endpoint answers 400 when the header is present.
func (e Endpoint) TakesRetryKey() bool {
	switch e {
	case Push, Multicast, Narrowcast, Broadcast:
		return true
	}
	return false
}

// TakesUnit reports whether e's body accepts customAggregationUnits.
func (e Endpoint) TakesUnit() bool { return e == Push || e == Multicast }

// Intent is one request to send. Body is the LINE request body, verbatim,
// except that Unit (when set) is copied into customAggregationUnits by the
// dispatcher.
type Intent struct {
	// ID identifies the intent: a UUID in canonical hex notation (v4
	// recommended). It is the JetStream Nats-Msg-Id (de-duplication) and the
	// default retry key.
	ID string `json:"id"`
	// Channel is the module channel ID (digits).
	Channel string `json:"channel"`
	// Bot is the target bot's user ID, U followed by 32 hex digits.
	Bot string `json:"bot"`
	// Endpoint selects the LINE API to call.
	Endpoint Endpoint `json:"endpoint"`
	// Body is the LINE request body, sent verbatim.
	Body json.RawMessage `json:"body"`
	// RetryKey overrides ID as the X-Line-Retry-Key (UUID). Only for endpoints
	// that take one.
	RetryKey string `json:"retryKey,omitempty"`
	// Unit is the customAggregationUnits name ([a-zA-Z0-9_]{1,30}); push and
	// multicast only.
	Unit string `json:"unit,omitempty"`
	// CreatedAt is when the producer created the intent; the retry-key window
	// and the maximum age are counted from it.
	CreatedAt time.Time `json:"createdAt"`
	// NotAfter is the deadline: the dispatcher stops trying after it. Zero
	// means CreatedAt + DefaultMaxAge; it may not be later than CreatedAt +
	// MaxAge. (omitzero: omitempty never omits a struct, and a zero deadline
	// on the wire would read as year 1.)
	NotAfter time.Time `json:"notAfter,omitzero"`
	// Labels are free-form producer metadata (e.g. campaign), kept in outcomes.
	Labels map[string]string `json:"labels,omitempty"`

	// parseProblems are the rule problems Parse found in the document (unknown
	// fields, wrong types), reported again by Validate so that one error
	// lists everything wrong with the document.
	parseProblems []Problem
	// parsedBody is the Body Parse copied out of a document it found to be
	// valid UTF-8 JSON. While Body is still that copy, Validate and
	// Recipients need not scan it for validity again.
	parsedBody json.RawMessage
}

// bodyIsParsed reports whether Body is still the copy Parse made (same
// bytes in the same place), and so is known to be valid UTF-8 JSON.
func (in *Intent) bodyIsParsed() bool {
	b, p := in.Body, in.parsedBody
	return len(b) > 0 && len(b) == len(p) && &b[0] == &p[0]
}

// EffectiveRetryKey returns the X-Line-Retry-Key the dispatcher sends for the
// intent, or "" when the endpoint takes none.
func (in *Intent) EffectiveRetryKey() string {
	if !in.Endpoint.TakesRetryKey() {
		return ""
	}
	if in.RetryKey != "" {
		return in.RetryKey
	}
	return in.ID
}

// Deadline returns NotAfter, or CreatedAt + DefaultMaxAge when NotAfter is zero.
func (in *Intent) Deadline() time.Time {
	if !in.NotAfter.IsZero() {
		return in.NotAfter
	}
	return in.CreatedAt.Add(DefaultMaxAge)
}
