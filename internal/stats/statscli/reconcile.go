package statscli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/internal/stats"
	"github.com/linedispatch/linedispatch/internal/unit"
)

const reconcileUsage = `
Usage: dispatcher reconcile --channel C --bot U… --bot-header NAME
                            (--token T | --channel-secret S) [--import]
                            [--insight [--insight-units a,b]] [--json]

Compares the unit names LINE counts for a bot this month (Tokyo) —
GET /v2/bot/message/aggregation/info and the paged aggregation/list — with
the dispatcher's registry (KV LINE_UNITS), and reports names only LINE has
(sent by another tool: they use up the 1,000-name cap) and names only the
registry has (registered, then the send failed). --import adds LINE's extra
names to the registry, even past the cap, so the dispatcher's count matches
LINE's.

--insight also fetches LINE's per-unit statistics (impressions, clicks,
media plays) from /v2/bot/insight/message/event/aggregation and shows them
beside our sent and recipient counts. LINE allows 60 such requests an hour:
this takes about a minute per unit (over 16 hours for 1,000 units); narrow
it with --insight-units.

Secrets are best passed in the environment (` + EnvLineToken + `,
` + EnvChannelSecret + `) rather than on the command line.
`

// RunReconcile implements "dispatcher reconcile".
func RunReconcile(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("reconcile", reconcileUsage, stdout)
	var nf natsFlags
	nf.register(fs)
	base := fs.String("line-base-url", envOr(EnvLineBaseURL, "https://api.line.me"), "LINE API base URL, or linesim's (env "+EnvLineBaseURL+")")
	channel := fs.String("channel", "", "module channel ID (required)")
	bot := fs.String("bot", "", "bot user ID, U + 32 hex digits (required)")
	botHeader := fs.String("bot-header", envOr(EnvBotHeader, ""), "name of the header carrying the bot ID (required; env "+EnvBotHeader+")")
	token := fs.String("token", "", "channel access token (env "+EnvLineToken+")")
	secret := fs.String("channel-secret", "", "channel secret, to issue a stateless token (env "+EnvChannelSecret+")")
	unitsBucket := fs.String("units-bucket", unit.DefaultBucket, "KV bucket of the unit registry")
	statsBucket := fs.String("stats-bucket", stats.DefaultBucket, "KV bucket of the statistics")
	replicas := fs.Int("replicas", 1, "replicas of the registry bucket if --import has to create it")
	doImport := fs.Bool("import", false, "register LINE's extra names in the registry")
	doInsight := fs.Bool("insight", false, "fetch LINE's per-unit insight (slow: about one unit per minute)")
	insightUnits := fs.String("insight-units", "", "comma-separated units for --insight (default: every known name)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *token == "" {
		*token = os.Getenv(EnvLineToken)
	}
	if *secret == "" {
		*secret = os.Getenv(EnvChannelSecret)
	}
	if err := required(fs, "channel", *channel, "bot", *bot, "bot-header", *botHeader); err != nil {
		return err
	}
	if !unit.ValidChannel(*channel) || !unit.ValidBot(*bot) {
		return errors.New("reconcile: --channel must be 1 to 20 digits and --bot U + 32 lowercase hex digits")
	}
	base2 := strings.TrimRight(*base, "/")
	var tokenFn func(context.Context) (string, error)
	switch {
	case *token != "":
		tokenFn = staticToken(*token)
	case *secret != "":
		tokenFn = (&statelessToken{base: base2, channel: *channel, secret: *secret, client: &http.Client{Timeout: 15 * time.Second}}).Token
	default:
		return errors.New("reconcile: --token or --channel-secret is required (or " + EnvLineToken + " / " + EnvChannelSecret + ")")
	}
	var units []string
	if *insightUnits != "" {
		for _, u := range strings.Split(*insightUnits, ",") {
			if u = strings.TrimSpace(u); !unit.ValidName(u) {
				return fmt.Errorf("reconcile: --insight-units: %q is not a unit name", u)
			}
			units = append(units, u)
		}
	}

	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	// Without --import the command only reads: do not create the registry
	// bucket (with possibly the wrong replica count) as a side effect.
	if _, err := js.KeyValue(ctx, *unitsBucket); errors.Is(err, jetstream.ErrBucketNotFound) && !*doImport {
		return fmt.Errorf("reconcile: registry bucket %s does not exist (no dispatcher has registered a unit name yet)", *unitsBucket)
	}
	reg, err := unit.NewRegistry(ctx, js, unit.Config{Bucket: *unitsBucket, Replicas: *replicas}, logger())
	if err != nil {
		return err
	}
	opts := stats.ReconcileOptions{Channel: *channel, Bot: *bot, Import: *doImport, Insight: *doInsight, InsightUnits: units}
	if *doInsight && !*asJSON {
		opts.Progress = func(done, total int, u string) {
			fmt.Fprintf(stdout, "insight %d/%d: %s (LINE allows 60 an hour; about %s left)\n", done+1, total, u,
				(time.Duration(total-done-1) * stats.InsightInterval).Round(time.Minute))
		}
	}
	rep, err := stats.Reconcile(ctx, stats.NewLineClient(base2, *botHeader, tokenFn), reg, stats.NewStore(js, *statsBucket), opts)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, rep)
	}
	return printReconcile(stdout, rep)
}

func printReconcile(w io.Writer, r *stats.ReconcileReport) error {
	fmt.Fprintf(w, "bot %s of channel %s, %s (Asia/Tokyo)\n", r.Bot, r.Channel, r.Month)
	fmt.Fprintf(w, "LINE counts %d names (aggregation/info), lists %d; the registry has %d\n", r.LineCount, len(r.LineNames), len(r.OurNames))
	if r.LineCount != int64(len(r.LineNames)) {
		fmt.Fprintln(w, "note: LINE's count and list disagree (names sent during the reconcile?)")
	}
	fmt.Fprintf(w, "only at LINE (%d): %s\n", len(r.OnlyLine), list(r.OnlyLine))
	fmt.Fprintf(w, "only in the registry (%d): %s\n", len(r.OnlyOurs), list(r.OnlyOurs))
	if len(r.Imported) > 0 {
		fmt.Fprintf(w, "imported into the registry (%d): %s\n", len(r.Imported), list(r.Imported))
	} else if len(r.OnlyLine) > 0 {
		fmt.Fprintln(w, "run again with --import to count LINE's extra names against the cap")
	}
	if len(r.Insight) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "UNIT\tSENT\tRECIPIENTS\tUNIQUE IMPRESSIONS\tUNIQUE CLICKS\tUNIQUE MEDIA PLAYED\t")
	for _, u := range r.Insight {
		if u.Error != "" {
			fmt.Fprintf(tw, "%s\t%d\t%d\terror: %s\t\t\t\n", u.Unit, u.Sent, u.Recipients, u.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t\n", u.Unit, u.Sent, u.Recipients, num(u.UniqueImpression), num(u.UniqueClick), num(u.UniqueMediaPlayed))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "(LINE reports values under 20 as \"<20\")")
	return nil
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func num(v *int64) string {
	if v == nil {
		return "<20"
	}
	return fmt.Sprint(*v)
}
