package statscli

import (
	"context"
	"fmt"
	"io"

	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/stats"
)

const rebuildUsage = `
Usage: dispatcher stats-rebuild [--target BUCKET] [--keep] [--json]

Replays the whole outcome stream (LINE_OUTCOMES) into an emptied target
bucket with the projector's own fold, and compares every document with the
live one. It only reads the live bucket. Exits non-zero when a document
differs, is missing or is extra. Documents whose live copy is behind (the
projector lags) or ahead (outcomes arrived during the replay) are listed,
not compared: run it again once the projector has caught up.

To replace the live documents instead: stop every dispatcher, delete the
live bucket (nats kv del LINE_STATS) and start them again — with no
checkpoint the projector replays the stream from the start.
`

// RunRebuild implements "dispatcher stats-rebuild" (also "dispatcher stats rebuild").
func RunRebuild(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("stats-rebuild", rebuildUsage, stdout)
	var nf natsFlags
	nf.register(fs)
	live := fs.String("bucket", stats.DefaultBucket, "live KV bucket to compare with")
	target := fs.String("target", stats.DefaultRebuildBucket, "KV bucket to replay into (emptied first)")
	stream := fs.String("stream", queue.OutcomesStream, "outcome stream")
	replicas := fs.Int("replicas", 1, "replicas of the target bucket")
	keep := fs.Bool("keep", false, "keep the target bucket afterwards (default: delete it)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	rep, err := stats.Rebuild(ctx, js, stats.RebuildConfig{Live: *live, Target: *target, Stream: *stream, Replicas: *replicas, Keep: *keep}, logger())
	if err != nil {
		return err
	}
	if *asJSON {
		if err := printJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "replayed outcomes #%d..#%d into %s: %d documents, %d identical\n", rep.FirstSeq, rep.Through, rep.Target, rep.Docs, rep.Identical)
		if rep.FirstSeq > 1 {
			fmt.Fprintf(stdout, "note: outcomes before #%d have aged out of the stream; months they belong to cannot be rebuilt exactly\n", rep.FirstSeq)
		}
		for _, l := range []struct {
			what string
			keys []string
		}{
			{"DIFFERENT", rep.Different}, {"MISSING from live", rep.Missing}, {"EXTRA in live", rep.Extra},
			{"live behind (not compared)", rep.Lagging}, {"live ahead (not compared)", rep.Ahead},
		} {
			for _, k := range l.keys {
				fmt.Fprintf(stdout, "%s: %s\n", l.what, k)
			}
		}
	}
	if !rep.OK() {
		return fmt.Errorf("stats rebuild: %d different, %d missing, %d extra documents", len(rep.Different), len(rep.Missing), len(rep.Extra))
	}
	return nil
}
