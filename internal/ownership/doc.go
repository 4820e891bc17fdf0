// Package ownership decides which dispatcher pod pulls which LINE_INTENTS
// partition.
//
// Pods register in the KV bucket LINE_MEMBERS under their pod ID and keep the
// key alive with heartbeats: each heartbeat is a compare-and-set write with a
// per-message TTL, so a pod that stops heartbeating (kill -9, a partition
// from NATS) disappears after the TTL and the server tells every watcher with
// a marker. Every pod watches the bucket and assigns the partitions over the
// live members by rendezvous hashing (Assign), a pure function, so all pods
// agree without talking to each other, and a join or leave moves only the
// partitions it must. Changes are debounced (Settle) so that pods starting or
// stopping together cause one reassignment.
//
// A Tracker publishes the pod's Assignment on Updates: the engine starts
// pulling the partitions in Gained and stops pulling (nak, unpin) the ones in
// Lost. The partition consumers' pinned priority group makes the server
// refuse a second puller, so a moment of disagreement between pods during a
// change cannot make two pods pull one partition. See docs/ownership.md for
// the protocol, the timings and the engine's side.
package ownership
