package main

import (
	"context"
	"io"

	"github.com/linedispatch/linedispatch/internal/stats/statscli"
)

// The statistics subcommands live in internal/stats/statscli, where they are
// tested against an embedded JetStream; these wrappers only route to them.
// Each connects to --nats-url (default $LINEDISPATCH_NATS_URL, else
// nats://127.0.0.1:4222) and never starts a server. --help prints the flags
// and returns flag.ErrHelp.

// runStats implements "dispatcher stats --channel C --bot U… [--month
// YYYY-MM] [--unit NAME] [--json]". "dispatcher stats rebuild …" is accepted
// as a synonym of stats-rebuild.
func runStats(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "rebuild" {
		return statscli.RunRebuild(ctx, args[1:], stdout)
	}
	return statscli.RunStats(ctx, args, stdout)
}

// runStatsRebuild implements "dispatcher stats-rebuild [--target BUCKET]
// [--keep] [--json]": replay LINE_OUTCOMES and compare with LINE_STATS.
func runStatsRebuild(ctx context.Context, args []string, stdout io.Writer) error {
	return statscli.RunRebuild(ctx, args, stdout)
}

// runReconcile implements "dispatcher reconcile --channel C --bot U…
// --bot-header NAME (--token T | --channel-secret S) [--import] [--insight]".
func runReconcile(ctx context.Context, args []string, stdout io.Writer) error {
	return statscli.RunReconcile(ctx, args, stdout)
}
