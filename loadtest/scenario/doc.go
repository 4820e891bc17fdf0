// Package scenario is linedispatch's scenario runner: it starts a whole
// deployment on one machine — NATS JetStream (a nats-server process, embedded
// in the runner process, or a 3-node cluster), the LINE simulator (in
// process, real HTTP on loopback) and N dispatcher pods as separate
// processes built from ./cmd/dispatcher — runs a named scenario against it, and produces one Report: what was published, what came out,
// what linesim saw (deliveries, duplicates, 429s, the highest count in any
// sliding window per key), limit utilisation while a backlog drains, latency
// percentiles, pod memory, and the physical baseline of the same machine.
//
// Every scenario is a small function over a shared Harness:
//
//	h.Begin(ctx, Stack{...})        NATS, streams, linesim
//	h.MeasureBaseline(ctx)          JetStream publish, consume+ack, HTTP alone
//	h.Publish(ctx, n, makeIntent)   a pipelined backlog, before the pods start
//	h.StartPods(ctx, n)             dispatcher processes (PodSet: start, stop,
//	                                kill, restart by index, each with its config)
//	h.WaitOutcomes(ctx, n, ...)     poll with a deadline, fail fast on a dead pod
//	h.Collect(ctx)                  outcomes (streamed, aggregated), linesim, RSS
//	h.Report.Check(...)             thresholds; the report passes when all hold
//
//	h.StartLoad(ctx, bots, rate)    publish at a steady rate while pods run
//
// The NATS side is pluggable (Options.NATS): a single nats-server process
// (ProcessNATS, the default with Options.NATSServer), an embedded single
// node, or a ClusterNATS of three nats-server processes on loopback (R3
// streams) for scenarios registered with Cluster; the process deployments
// run at the pods' niceness, below the runner and its linesim. The multi-pod scenarios (scale3,
// podkill, podjoin, natsfail) read the pods' partition assignments from
// their logs and add a MultiPod section to the report. docs/scenarios.md
// documents the scenarios and definitions.
package scenario
