package statscli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/linedispatch/linedispatch/internal/stats"
	"github.com/linedispatch/linedispatch/internal/unit"
)

const statsUsage = `
Usage: dispatcher stats --channel C --bot U… [--month YYYY-MM] [--unit NAME] [--json]

Prints a bot's unit-name statistics for one Tokyo month: per unit the
requests (outcomes), recipients (of sent requests), sent, failed (by reason),
stripped / over-cap sends, and the first and last send time (JST). --json
prints the stored document (or, with --unit, that unit's counters).
`

// RunStats implements "dispatcher stats".
func RunStats(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("stats", statsUsage, stdout)
	var nf natsFlags
	nf.register(fs)
	channel := fs.String("channel", "", "module channel ID (required)")
	bot := fs.String("bot", "", "bot user ID, U + 32 hex digits (required)")
	month := fs.String("month", "", "Tokyo month YYYY-MM (default: the current one)")
	unitName := fs.String("unit", "", `show one unit only ("-" for sends without a unit)`)
	bucket := fs.String("bucket", stats.DefaultBucket, "KV bucket of the statistics")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "channel", *channel, "bot", *bot); err != nil {
		return err
	}
	if !unit.ValidChannel(*channel) || !unit.ValidBot(*bot) {
		return fmt.Errorf("stats: --channel must be 1 to 20 digits and --bot U + 32 lowercase hex digits")
	}
	if *month == "" {
		*month = unit.Month(time.Now())
	} else if _, err := unit.ParseMonth(*month); err != nil {
		return fmt.Errorf("stats: --month: %w", err)
	}
	unitSet := false
	fs.Visit(func(f *flag.Flag) { unitSet = unitSet || f.Name == "unit" })
	if *unitName == stats.NoUnitPath {
		*unitName = stats.NoUnit
	} else if *unitName != "" && !unit.ValidName(*unitName) {
		return fmt.Errorf("stats: --unit must match ^[a-zA-Z0-9_]{1,30}$ or be \"-\", got %q", *unitName)
	}

	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := withTimeout(ctx, 30*time.Second)
	defer cancel()
	store := stats.NewStore(js, *bucket)
	d, err := store.Get(ctx, *channel, *bot, *month)
	if errors.Is(err, stats.ErrNotFound) {
		return fmt.Errorf("stats: no statistics for bot %s of channel %s in %s", *bot, *channel, *month)
	}
	if err != nil {
		return err
	}
	if unitSet {
		c, ok := d.Units[*unitName]
		if !ok {
			return fmt.Errorf("stats: no statistics for unit %q of bot %s in %s", *unitName, *bot, *month)
		}
		if *asJSON {
			return printJSON(stdout, stats.UnitDetail{Channel: d.Channel, Bot: d.Bot, Month: d.Month, Unit: *unitName, Counts: *c, LastSeq: d.LastSeq})
		}
		d = &stats.Doc{Channel: d.Channel, Bot: d.Bot, Month: d.Month, LastSeq: d.LastSeq,
			Units: map[string]*stats.Counts{*unitName: c}, Totals: *c}
	} else if *asJSON {
		return printJSON(stdout, d)
	}
	return printTable(stdout, d, !unitSet)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printTable writes one row per unit: named units sorted, then sends
// without a unit, then the special buckets, then the totals.
func printTable(w io.Writer, d *stats.Doc, totals bool) error {
	fmt.Fprintf(w, "channel %s  bot %s  month %s (Asia/Tokyo)  through outcome #%d\n\n", d.Channel, d.Bot, d.Month, d.LastSeq)
	// Numbers align right; the unit column is padded by hand to stay left.
	names := unitOrder(d.Units)
	width := len("TOTAL")
	for _, n := range names {
		width = max(width, len(label(n)))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tREQUESTS\tRECIPIENTS\tSENT\tFAILED\tSTRIPPED\tOVER CAP\tFIRST SENT (JST)\tLAST SENT (JST)\t\n", width, "UNIT")
	for _, name := range names {
		row(tw, fmt.Sprintf("%-*s", width, label(name)), d.Units[name])
	}
	if totals {
		row(tw, fmt.Sprintf("%-*s", width, "TOTAL"), &d.Totals)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if reasons := failedReasons(&d.Totals); reasons != "" {
		fmt.Fprintf(w, "\nfailed by reason: %s\n", reasons)
	}
	return nil
}

func row(w io.Writer, name string, c *stats.Counts) {
	fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t\n", name, c.Requests, c.Recipients, c.Sent,
		c.FailedTotal, c.Stripped, c.OverCap, jst(c.FirstSentAt), jst(c.LastSentAt))
}

func label(name string) string {
	if name == stats.NoUnit {
		return "(no unit)"
	}
	return name
}

func unitOrder(units map[string]*stats.Counts) []string {
	rank := func(n string) int {
		switch {
		case n == stats.NoUnit:
			return 1
		case strings.HasPrefix(n, "#"):
			return 2
		}
		return 0
	}
	names := slices.Collect(maps.Keys(units))
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return names
}

func failedReasons(c *stats.Counts) string {
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(c.Failed)) {
		parts = append(parts, fmt.Sprintf("%s %d", r, c.Failed[r]))
	}
	return strings.Join(parts, ", ")
}

func jst(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(unit.Tokyo()).Format("2006-01-02 15:04:05")
}
