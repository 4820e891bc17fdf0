package stats

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/queue"
)

// DefaultRebuildBucket is where Rebuild replays to unless told otherwise.
const DefaultRebuildBucket = "LINE_STATS_REBUILD"

// RebuildConfig says what to replay and compare.
type RebuildConfig struct {
	// Live is the bucket the projector maintains. Default DefaultBucket.
	Live string
	// Target receives the replay; it is emptied first. It may not be Live.
	// Default DefaultRebuildBucket.
	Target string
	// Stream is the outcome stream. Default queue.OutcomesStream.
	Stream string
	// Replicas of the target bucket. Default 1.
	Replicas int
	// Keep leaves the target bucket in place after the comparison (to
	// inspect it, or to promote it by hand); by default it is deleted.
	Keep bool
}

// RebuildReport is the result of a replay and its comparison with the live
// documents.
type RebuildReport struct {
	Target string `json:"target"`
	// FirstSeq and Through are the stream sequences replayed. A FirstSeq
	// above 1 means older outcomes have aged out of the stream: documents
	// of those months can no longer be rebuilt exactly.
	FirstSeq uint64 `json:"firstSeq"`
	Through  uint64 `json:"through"`
	// Docs is how many documents the replay produced; Identical how many
	// equal their live counterpart.
	Docs      int `json:"docs"`
	Identical int `json:"identical"`
	// Different lists documents whose contents differ although both
	// folded the same outcomes (same LastSeq): a bug, or a live document
	// edited by hand.
	Different []string `json:"different,omitempty"`
	// Missing lists documents the replay produced but the live bucket lacks;
	// Extra the live documents the replay did not produce.
	Missing []string `json:"missing,omitempty"`
	Extra   []string `json:"extra,omitempty"`
	// Lagging lists live documents that have not yet folded outcomes the
	// replay did (the projector is behind); Ahead the live documents that
	// already folded outcomes appended after the replay started. Neither is
	// compared.
	Lagging []string `json:"lagging,omitempty"`
	Ahead   []string `json:"ahead,omitempty"`
}

// OK reports whether every compared document is identical and none is
// missing or extra.
func (r *RebuildReport) OK() bool {
	return len(r.Different) == 0 && len(r.Missing) == 0 && len(r.Extra) == 0
}

// Rebuild replays the outcome stream from its first message into an emptied
// target bucket, with the same fold as the projector, and compares the
// result with the live documents. The live bucket is only read. To replace
// the live documents instead, stop the projectors, delete the live bucket
// and start them again: with no checkpoint they replay from the start.
func Rebuild(ctx context.Context, js jetstream.JetStream, cfg RebuildConfig, log zerolog.Logger) (RebuildReport, error) {
	if cfg.Live == "" {
		cfg.Live = DefaultBucket
	}
	if cfg.Target == "" {
		cfg.Target = DefaultRebuildBucket
	}
	if cfg.Stream == "" {
		cfg.Stream = queue.OutcomesStream
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	rep := RebuildReport{Target: cfg.Target}
	if cfg.Target == cfg.Live {
		return rep, fmt.Errorf("stats rebuild: target bucket %s is the live bucket", cfg.Target)
	}
	s, err := js.Stream(ctx, cfg.Stream)
	if err != nil {
		return rep, fmt.Errorf("stats rebuild: stream %s: %w", cfg.Stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return rep, err
	}
	rep.FirstSeq, rep.Through = info.State.FirstSeq, info.State.LastSeq
	if err := js.DeleteKeyValue(ctx, cfg.Target); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return rep, fmt.Errorf("stats rebuild: empty %s: %w", cfg.Target, err)
	}
	target, err := openBucket(ctx, js, cfg.Target, cfg.Replicas)
	if err != nil {
		return rep, err
	}
	if !cfg.Keep {
		defer func() { _ = js.DeleteKeyValue(context.WithoutCancel(ctx), cfg.Target) }()
	}
	if rep.Through > 0 && info.State.Msgs > 0 {
		f := newFolder(target, 8, 1<<16, log)
		if err := f.run(ctx, js, runOpts{stream: cfg.Stream, maxBatch: 5000, linger: 10 * time.Millisecond, until: rep.Through}); err != nil {
			return rep, fmt.Errorf("stats rebuild: replay: %w", err)
		}
	}
	rebuilt, err := readAll(ctx, target)
	if err != nil {
		return rep, err
	}
	var live map[string][]byte
	if kv, err := js.KeyValue(ctx, cfg.Live); err == nil {
		if live, err = readAll(ctx, kv); err != nil {
			return rep, err
		}
	} else if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return rep, err
	}
	compare(&rep, rebuilt, live)
	return rep, nil
}

// compare fills the report. Documents are compared by their canonical
// encoding (decoded and re-encoded: JSON objects come out in key order).
func compare(rep *RebuildReport, rebuilt, live map[string][]byte) {
	rep.Docs = len(rebuilt)
	for _, key := range sortedKeys(rebuilt) {
		lb, ok := live[key]
		if !ok {
			rep.Missing = append(rep.Missing, key)
			continue
		}
		a, errA := canonical(rebuilt[key])
		b, errB := canonical(lb)
		switch {
		case errA != nil || errB != nil:
			rep.Different = append(rep.Different, key)
		case a.LastSeq > b.LastSeq:
			rep.Lagging = append(rep.Lagging, key)
		case a.LastSeq < b.LastSeq:
			rep.Ahead = append(rep.Ahead, key)
		case !bytes.Equal(a.enc, b.enc):
			rep.Different = append(rep.Different, key)
		default:
			rep.Identical++
		}
	}
	for _, key := range sortedKeys(live) {
		if _, ok := rebuilt[key]; !ok {
			rep.Extra = append(rep.Extra, key)
		}
	}
}

type canon struct {
	LastSeq uint64
	enc     []byte
}

func canonical(b []byte) (canon, error) {
	d, err := decodeDoc(b)
	if err != nil {
		return canon{}, err
	}
	enc, err := json.Marshal(d)
	return canon{LastSeq: d.LastSeq, enc: enc}, err
}

// readAll returns every document of a bucket by key.
func readAll(ctx context.Context, kv jetstream.KeyValue) (map[string][]byte, error) {
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for key := range lister.Keys() {
		if !isDocKey(key) {
			continue
		}
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			_ = lister.Stop()
			return nil, err
		}
		out[key] = e.Value()
	}
	return out, nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
