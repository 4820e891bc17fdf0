package stats

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/linedispatch/linedispatch/internal/unit"
)

// ReconcileOptions says what to reconcile.
type ReconcileOptions struct {
	Channel, Bot string
	// Import registers the names LINE counts but the registry lacks (they
	// use up cap slots whether or not we know them).
	Import bool
	// Insight fetches LINE's per-unit statistics for InsightUnits (default:
	// every name either side knows). Slow: one request per unit, at most 60
	// an hour.
	Insight      bool
	InsightUnits []string
	// Progress, if set, is called before each insight request.
	Progress func(done, total int, unit string)
	// Now is the reconcile time (default time.Now): LINE's endpoints report
	// the current Tokyo month.
	Now time.Time
}

// ReconcileReport compares LINE's view of a bot's unit names this month with
// the registry's.
type ReconcileReport struct {
	Channel string `json:"channel"`
	Bot     string `json:"bot"`
	Month   string `json:"month"`
	// LineCount is aggregation/info; LineNames aggregation/list.
	LineCount int64    `json:"lineCount"`
	LineNames []string `json:"lineNames"`
	// OurNames are the registry's names.
	OurNames []string `json:"ourNames"`
	// OnlyLine are names LINE counts that the registry lacks: sent by
	// another tool, or before linedispatch. They use up the cap.
	OnlyLine []string `json:"onlyLine"`
	// OnlyOurs are registered names LINE does not list: usually sends that
	// were registered and then failed. They make our cap stricter, never
	// looser.
	OnlyOurs []string `json:"onlyOurs"`
	// Imported are the OnlyLine names added to the registry.
	Imported []string `json:"imported,omitempty"`
	// Insight holds LINE's per-unit statistics beside our counts.
	Insight []UnitInsight `json:"insight,omitempty"`
}

// UnitInsight sets LINE's interaction figures beside our send counts.
type UnitInsight struct {
	Unit       string `json:"unit"`
	Sent       int64  `json:"sent"`
	Recipients int64  `json:"recipients"`
	InsightOverview
	Error string `json:"error,omitempty"`
}

// Reconcile reads LINE's unit count and names for the bot, compares them with
// the registry, optionally imports LINE's extra names and fetches insight.
// store may be nil (no send counts beside the insight).
func Reconcile(ctx context.Context, line *LineClient, reg *unit.Registry, store *Store, o ReconcileOptions) (*ReconcileReport, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	rep := &ReconcileReport{Channel: o.Channel, Bot: o.Bot, Month: unit.Month(o.Now)}
	var err error
	if rep.LineCount, err = line.UnitCount(ctx, o.Bot); err != nil {
		return nil, err
	}
	lineNames, err := line.UnitNames(ctx, o.Bot)
	if err != nil {
		return nil, err
	}
	ours, err := reg.Names(ctx, o.Channel, o.Bot, rep.Month)
	if err != nil {
		return nil, err
	}
	rep.LineNames, rep.OurNames = sortedSet(lineNames), append([]string{}, ours...)
	rep.OnlyLine = minus(rep.LineNames, rep.OurNames)
	rep.OnlyOurs = minus(rep.OurNames, rep.LineNames)
	if o.Import && len(rep.OnlyLine) > 0 {
		// Only valid names can be keys; LINE never lists others.
		var valid []string
		for _, n := range rep.OnlyLine {
			if unit.ValidName(n) {
				valid = append(valid, n)
			}
		}
		if rep.Imported, err = reg.Import(ctx, o.Channel, o.Bot, rep.Month, valid, o.Now); err != nil {
			return rep, err
		}
	}
	if o.Insight {
		if err := insight(ctx, line, store, rep, o); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func insight(ctx context.Context, line *LineClient, store *Store, rep *ReconcileReport, o ReconcileOptions) error {
	units := o.InsightUnits
	if len(units) == 0 {
		units = sortedSet(append(slices.Clone(rep.LineNames), rep.OurNames...))
	}
	var doc *Doc
	if store != nil {
		d, err := store.Get(ctx, o.Channel, o.Bot, rep.Month)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		doc = d
	}
	from, _, err := unit.MonthRange(rep.Month)
	if err != nil {
		return err
	}
	for i, name := range units {
		if o.Progress != nil {
			o.Progress(i, len(units), name)
		}
		ui := UnitInsight{Unit: name}
		if doc != nil {
			if c, ok := doc.Units[name]; ok {
				ui.Sent, ui.Recipients = c.Sent, c.Recipients
			}
		}
		ov, err := line.Insight(ctx, o.Bot, name, from, o.Now)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			ui.Error = err.Error() // one unit's failure should not lose the others
		} else {
			ui.InsightOverview = *ov
		}
		rep.Insight = append(rep.Insight, ui)
	}
	return nil
}

func sortedSet(s []string) []string {
	set := map[string]struct{}{}
	for _, v := range s {
		set[v] = struct{}{}
	}
	return append([]string{}, slices.Sorted(maps.Keys(set))...)
}

// minus returns the elements of sorted a not in b.
func minus(a, b []string) []string {
	out := []string{}
	for _, v := range a {
		if _, found := slices.BinarySearch(b, v); !found {
			out = append(out, v)
		}
	}
	return out
}
