package intent

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/linedispatch/linedispatch/internal/retrykey"
)

// Validate checks every rule of the wire format at time now and returns nil or
// a *ValidationError listing all problems. Producers call it before publishing
// (fail fast) and the dispatcher calls it again on every pulled intent (never
// trust the queue); an intent that fails becomes a dead letter whose reason is
// the error's Reason().
//
// now matters for two rules: CreatedAt may lie at most MaxClockSkew in the
// future, and an intent whose Deadline has passed is expired.
func (in *Intent) Validate(now time.Time) error {
	var ps problems
	in.validateEnvelope(&ps, now)
	validateBody(&ps, in.Endpoint, in.Body, in.bodyIsParsed())
	if len(in.parseProblems) > 0 {
		ps.list = mergeProblems(in.parseProblems, ps.list)
	}
	return ps.err(in.ID)
}

// mergeProblems puts Parse's problems first and drops rule problems about a
// top-level field Parse already complained of: "channel must be a string"
// makes "channel: required" noise.
func mergeProblems(parsed, rules []Problem) []Problem {
	out := append([]Problem(nil), parsed...)
	for _, r := range rules {
		top, _, _ := strings.Cut(r.Field, ".")
		top, _, _ = strings.Cut(top, "[")
		dup := false
		for _, p := range parsed {
			dup = dup || p.Field == top
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}

// FillDefaults sets what a hand-written or minimal intent may leave out: a
// fresh v4 ID when ID is empty and CreatedAt = now when it is zero. It reports
// which it set. Producers that fill an ID must remember it (and publish the
// same intent again on failure), or a retry becomes a second intent.
func (in *Intent) FillDefaults(now time.Time) (id, createdAt bool) {
	if in.ID == "" {
		in.ID, id = uuid.NewString(), true
	}
	if in.CreatedAt.IsZero() {
		in.CreatedAt, createdAt = now.UTC().Truncate(time.Millisecond), true
	}
	return id, createdAt
}

func (in *Intent) validateEnvelope(ps *problems, now time.Time) {
	switch {
	case in.ID == "":
		ps.invalid("id", "required: a UUID in hex notation (8-4-4-4-12), v4 recommended")
	case retrykey.Validate(in.ID) != nil:
		ps.invalid("id", fmt.Sprintf("must be a UUID in hex notation (8-4-4-4-12), got %q", clip(in.ID)))
	}

	switch {
	case in.Channel == "":
		ps.invalid("channel", "required: the module channel ID (1 to 20 digits)")
	case !IsChannelID(in.Channel):
		ps.invalid("channel", fmt.Sprintf("must be 1 to 20 digits, got %q", clip(in.Channel)))
	}

	switch {
	case in.Bot == "":
		ps.invalid("bot", `required: the bot's user ID ("U" and 32 lowercase hex digits)`)
	case !IsUserID(in.Bot):
		ps.invalid("bot", fmt.Sprintf(`must be "U" and 32 lowercase hex digits, got %q`, clip(in.Bot)))
	}

	switch {
	case in.Endpoint == "":
		ps.add("endpoint", ReasonUnknownEndpoint, "required: one of "+endpointList())
	case !in.Endpoint.Valid():
		ps.add("endpoint", ReasonUnknownEndpoint, fmt.Sprintf("unknown endpoint %q; supported: %s", clip(string(in.Endpoint)), endpointList()))
	}

	if in.RetryKey != "" {
		switch {
		case in.Endpoint.Valid() && !in.Endpoint.TakesRetryKey():
			ps.invalid("retryKey", fmt.Sprintf("not allowed on %s: LINE answers 400 when X-Line-Retry-Key is present (only push, multicast, narrowcast and broadcast take one)", in.Endpoint))
		case retrykey.Validate(in.RetryKey) != nil:
			ps.invalid("retryKey", fmt.Sprintf("must be a UUID in hex notation (8-4-4-4-12), got %q", clip(in.RetryKey)))
		}
	}

	if in.Unit != "" {
		switch {
		case in.Endpoint.Valid() && !in.Endpoint.TakesUnit():
			ps.invalid("unit", fmt.Sprintf("not allowed on %s: only push and multicast take customAggregationUnits", in.Endpoint))
		case !IsUnit(in.Unit):
			ps.invalid("unit", fmt.Sprintf("must match ^[a-zA-Z0-9_]{1,30}$, got %q", clip(in.Unit)))
		}
	}

	in.validateTimes(ps, now)
	validateLabels(ps, in.Labels)
}

func (in *Intent) validateTimes(ps *problems, now time.Time) {
	if in.CreatedAt.IsZero() {
		ps.invalid("createdAt", "required: when the producer created the intent (RFC 3339)")
		// Without CreatedAt neither the deadline nor its bounds mean anything.
		return
	}
	if latest := now.Add(MaxClockSkew); in.CreatedAt.After(latest) {
		ps.invalid("createdAt", fmt.Sprintf("lies %s in the future; at most %s of clock skew is tolerated",
			in.CreatedAt.Sub(now).Round(time.Second), MaxClockSkew))
	}
	if !in.NotAfter.IsZero() {
		switch {
		case !in.NotAfter.After(in.CreatedAt):
			ps.invalid("notAfter", "must be later than createdAt")
		case in.NotAfter.After(in.CreatedAt.Add(MaxAge)):
			ps.invalid("notAfter", fmt.Sprintf("must be at most %s after createdAt (LINE forgets a retry key after 24h), got %s",
				MaxAge, in.NotAfter.Sub(in.CreatedAt).Round(time.Second)))
		}
	}
	if d := in.Deadline(); now.After(d) {
		field := "notAfter"
		if in.NotAfter.IsZero() {
			field = "createdAt"
		}
		ps.add(field, ReasonExpired, fmt.Sprintf("deadline %s passed %s ago", d.UTC().Format(time.RFC3339), now.Sub(d).Round(time.Second)))
	}
}

func validateLabels(ps *problems, labels map[string]string) {
	if len(labels) > MaxLabels {
		ps.invalid("labels", fmt.Sprintf("at most %d labels, got %d", MaxLabels, len(labels)))
	}
	var bad []string
	for k, v := range labels {
		if !isLabelKey(k) || utf8.RuneCountInString(v) > MaxLabelValueLen {
			bad = append(bad, k)
		}
	}
	// Map order is random; sorted problems make errors reproducible.
	sort.Strings(bad)
	for _, k := range bad {
		field := member("labels", k)
		if !isLabelKey(k) {
			ps.invalid(field, `key must match ^[A-Za-z0-9_.\-/]{1,64}$`)
		}
		if n := utf8.RuneCountInString(labels[k]); n > MaxLabelValueLen {
			ps.invalid(field, fmt.Sprintf("value has %d characters; at most %d", n, MaxLabelValueLen))
		}
	}
}

func endpointList() string {
	s := ""
	for i, e := range Endpoints {
		if i > 0 {
			s += ", "
		}
		s += string(e)
	}
	return s
}

// clip shortens a quoted offending value so one bad field cannot make an
// error message (and a log line) arbitrarily long.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
