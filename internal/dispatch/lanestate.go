package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A pod that takes over a lane from another (a restart, a hand-over, a
// crash) must not spend what the previous owner already spent in the current
// window. Two mechanisms cover the two kinds of limit:
//
//   - Long periods (narrowcast and broadcast: 60 per hour) cannot wait the
//     window out, so their send log is written ahead to KV LINE_LANES before
//     every send, and a new lane restores it.
//   - Short periods (2,000/s) are cheaper to wait out: a pod that stops
//     owning a partition records when it sent its last request for it, and
//     the next owner's lanes of that partition stay paused until one period
//     after that. A pod that crashed recorded nothing, but its partitions
//     reach another pod only after its pin and its intents' AckWait expire,
//     both far longer than such a period.

// persistThreshold is the shortest period whose send log is persisted.
const persistThreshold = 10 * time.Second

// LanesBucket is the KV bucket of persisted send logs.
const LanesBucket = "LINE_LANES"

type laneStore struct {
	kv jetstream.KeyValue
}

func openLaneStore(ctx context.Context, js jetstream.JetStream, maxPeriod time.Duration, replicas int) (*laneStore, error) {
	cfg := jetstream.KeyValueConfig{
		Bucket:      LanesBucket,
		Description: "linedispatch send logs of hour-scale lanes (hand-over between pods)",
		TTL:         maxPeriod + 10*time.Minute,
		History:     1,
		Replicas:    max(replicas, 1),
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", LanesBucket, err)
	}
	return &laneStore{kv: kv}, nil
}

func laneStoreKey(k laneKey) string {
	return k.channel + "." + k.bot + "." + string(k.endpoint)
}

func (s *laneStore) load(ctx context.Context, k laneKey) ([]time.Time, error) {
	e, err := s.kv.Get(ctx, laneStoreKey(k))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sends []time.Time
	if err := json.Unmarshal(e.Value(), &sends); err != nil {
		return nil, fmt.Errorf("lane %s: %w", laneStoreKey(k), err)
	}
	return sends, nil
}

func (s *laneStore) save(ctx context.Context, k laneKey, sends []time.Time) error {
	b, err := json.Marshal(sends)
	if err != nil {
		return err
	}
	_, err = s.kv.Put(ctx, laneStoreKey(k), b)
	return err
}

func releasedKey(p int) string { return "released.p" + strconv.Itoa(p) }

// podReleasedKey is partition p's release record of one pod, for the fence
// of a pod taking p over from it (fence.go).
func podReleasedKey(p int, pod string) string {
	return releasedKey(p) + "." + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, pod)
}

// released records that this pod sent its last request for partition p at t.
func (s *laneStore) released(ctx context.Context, p int, t time.Time, pod string) error {
	if err := s.notHolding(ctx, p, t, pod); err != nil {
		return err
	}
	b, _ := t.UTC().MarshalText()
	_, err := s.kv.Put(ctx, releasedKey(p), b)
	return err
}

// notHolding records that pod holds nothing of p as of t (it does not own
// it), without touching p's last release by its owners.
func (s *laneStore) notHolding(ctx context.Context, p int, t time.Time, pod string) error {
	b, _ := t.UTC().MarshalText()
	_, err := s.kv.Put(ctx, podReleasedKey(p, pod), b)
	return err
}

// holding withdraws pod's release record of p: it owns p again, so a
// record of an earlier release no longer says it has stopped.
func (s *laneStore) holding(ctx context.Context, p int, pod string) error {
	return s.kv.Delete(ctx, podReleasedKey(p, pod))
}

// podRelease returns when pod last recorded releasing p (or holding nothing
// of it) without owning it again since, or zero.
func (s *laneStore) podRelease(ctx context.Context, p int, pod string) (time.Time, error) {
	return s.releaseAt(ctx, podReleasedKey(p, pod))
}

// lastRelease returns when partition p's previous owner stopped, or zero.
func (s *laneStore) lastRelease(ctx context.Context, p int) (time.Time, error) {
	return s.releaseAt(ctx, releasedKey(p))
}

func (s *laneStore) releaseAt(ctx context.Context, key string) (time.Time, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	var t time.Time
	err = t.UnmarshalText(e.Value())
	return t, err
}

// handovers remembers, per partition, when its previous owner stopped
// sending: lanes of short-period limits wait one period after it.
type handovers struct {
	mu sync.Mutex
	at map[int]time.Time
}

func (h *handovers) set(p int, t time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.at == nil {
		h.at = map[int]time.Time{}
	}
	h.at[p] = t
}

func (h *handovers) get(p int) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.at[p]
}
