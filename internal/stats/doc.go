// Package stats folds the outcome log (LINE_OUTCOMES) into per (channel, bot,
// Tokyo month) documents of unit-name counters in the KV bucket LINE_STATS,
// serves them over HTTP, rebuilds them from scratch, and reconciles the unit
// registry with LINE's own read-back endpoints. See docs/stats.md.
package stats

import (
	"time"

	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/unit"
)

// DefaultBucket is the KV bucket of the documents.
const DefaultBucket = "LINE_STATS"

// Special keys of Doc.Units. They cannot collide with unit names, which are
// [a-zA-Z0-9_]{1,30}.
const (
	// NoUnit collects outcomes of intents without a unit name (all endpoints
	// other than push and multicast, and push/multicast without a name).
	NoUnit = ""
	// InvalidUnit collects outcomes whose unit name LINE would refuse (only
	// dead letters of invalid intents can carry one).
	InvalidUnit = "#invalid"
	// OverflowUnit collects outcomes of names beyond MaxUnitsPerDoc, which
	// only a producer spraying names under PolicyAllow can reach; it keeps a
	// document far below NATS's 1 MB message limit.
	OverflowUnit = "#overflow"
)

// MaxUnitsPerDoc bounds the distinct keys of Doc.Units.
const MaxUnitsPerDoc = 2 * unit.DefaultCap

// Doc is the statistics of one bot in one Tokyo month.
type Doc struct {
	Channel string `json:"channel"`
	Bot     string `json:"bot"`
	Month   string `json:"month"`
	// Units maps unit names (NoUnit, InvalidUnit, OverflowUnit included) to
	// their counters.
	Units map[string]*Counts `json:"units"`
	// Totals is the sum over Units.
	Totals Counts `json:"totals"`
	// LastSeq is the LINE_OUTCOMES sequence of the last outcome folded into
	// this document. An outcome with a sequence ≤ LastSeq is already in it.
	LastSeq uint64 `json:"lastSeq"`
}

// Counts are the counters of one unit (or the totals). Every field is a pure
// function of the outcomes folded in, whatever their batching, so a rebuild
// produces byte-identical documents.
type Counts struct {
	// Requests counts outcomes: one per intent, sent or dead.
	Requests int64 `json:"requests"`
	// Recipients sums Outcome.Recipients of sent outcomes (1 for push,
	// len(to) for multicast).
	Recipients int64 `json:"recipients"`
	// Sent counts outcomes whose result is sent (LINE accepted them).
	Sent int64 `json:"sent"`
	// Failed counts dead outcomes by reason; FailedTotal is their sum.
	Failed      map[string]int64 `json:"failed,omitempty"`
	FailedTotal int64            `json:"failedTotal"`
	// Attached and AttachedRecipients count the sent outcomes whose name
	// LINE kept (UnitAction attached): the figures LINE's own per-unit
	// aggregation (and linesim's) can be compared with. Zero for NoUnit.
	Attached           int64 `json:"attached"`
	AttachedRecipients int64 `json:"attachedRecipients"`
	// Stripped counts sent outcomes that went without their name (cap
	// reached under PolicyStrip): LINE's own statistics miss them.
	Stripped int64 `json:"stripped,omitempty"`
	// OverCap counts sent outcomes whose name LINE dropped (cap reached
	// under PolicyAllow).
	OverCap int64 `json:"overCap,omitempty"`
	// FirstSentAt and LastSentAt are the earliest and latest Outcome.At of
	// sent outcomes (min/max, not arrival order, so they do not depend on
	// how outcomes interleave).
	FirstSentAt time.Time `json:"firstSentAt,omitzero"`
	LastSentAt  time.Time `json:"lastSentAt,omitzero"`
}

// event is the part of an outcome.Outcome the projection reads; decoding
// only these fields keeps the fold cheap.
type event struct {
	Channel    string         `json:"channel"`
	Bot        string         `json:"bot"`
	Result     outcome.Result `json:"result"`
	Reason     string         `json:"reason"`
	Unit       string         `json:"unit"`
	UnitAction string         `json:"unitAction"`
	Recipients int            `json:"recipients"`
	At         time.Time      `json:"at"`
}

// docKey returns the KV key of the document an event belongs to, or "" when
// the event cannot be attributed to a (channel, bot): dead letters of intents
// too broken to name them. Month is the Tokyo month of At (when the outcome
// was decided, close to when LINE accepted the request, which is what LINE's
// own per-day aggregation uses).
func (e *event) docKey() (key, month string) {
	if !unit.ValidChannel(e.Channel) || !unit.ValidBot(e.Bot) || e.At.IsZero() {
		return "", ""
	}
	month = unit.Month(e.At)
	return Key(e.Channel, e.Bot, month), month
}

// Key returns the KV key of a document: "<channel>.<bot>.<YYYY-MM>".
func Key(channel, bot, month string) string { return channel + "." + bot + "." + month }

// unitKey is the key of Doc.Units an event counts under.
func (e *event) unitKey() string {
	switch {
	case e.Unit == "":
		return NoUnit
	case !unit.ValidName(e.Unit):
		return InvalidUnit
	}
	return e.Unit
}

// apply folds one event with stream sequence seq into d. The caller has
// checked seq > d.LastSeq.
func (d *Doc) apply(e *event, seq uint64) {
	k := e.unitKey()
	c, ok := d.Units[k]
	if !ok {
		if len(d.Units) >= MaxUnitsPerDoc {
			k = OverflowUnit
			c = d.Units[k]
		}
		if c == nil {
			c = &Counts{}
			d.Units[k] = c
		}
	}
	c.add(e)
	d.Totals.add(e)
	d.LastSeq = seq
}

func (c *Counts) add(e *event) {
	c.Requests++
	switch e.Result {
	case outcome.Sent:
		c.Sent++
		c.Recipients += int64(e.Recipients)
		switch {
		case e.UnitAction == outcome.UnitStripped:
			c.Stripped++
		case e.UnitAction == outcome.UnitOverCap:
			c.OverCap++
		case e.Unit != "":
			c.Attached++
			c.AttachedRecipients += int64(e.Recipients)
		}
		at := e.At.UTC()
		if c.FirstSentAt.IsZero() || at.Before(c.FirstSentAt) {
			c.FirstSentAt = at
		}
		if at.After(c.LastSentAt) {
			c.LastSentAt = at
		}
	default:
		reason := e.Reason
		if reason == "" {
			reason = "unknown"
		}
		if c.Failed == nil {
			c.Failed = map[string]int64{}
		}
		c.Failed[reason]++
		c.FailedTotal++
	}
}

func newDoc(channel, bot, month string) *Doc {
	return &Doc{Channel: channel, Bot: bot, Month: month, Units: map[string]*Counts{}}
}
