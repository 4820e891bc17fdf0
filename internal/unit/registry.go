package unit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Decision is the registry's answer for one send.
type Decision struct {
	// Send is false when the send must not happen (PolicyReject at the cap):
	// dead-letter it with outcome.ReasonUnitCap.
	Send bool
	// Strip is true when the message must go without its unit name.
	Strip bool
	// Action is ActionAttached, ActionStripped, ActionOverCap or
	// ActionRejected; record it as the outcome's UnitAction.
	Action string
	// Count is the number of distinct names registered for the bot-month
	// after the call (0 for a send without a name).
	Count int
}

// Registry registers unit names per (channel, bot, month) in a KV bucket and
// enforces the cap consistently across pods. It is safe for concurrent use.
type Registry struct {
	kv  jetstream.KeyValue
	cfg Config
	log zerolog.Logger
	now func() time.Time
	c   cache
}

// NewRegistry opens the registry bucket, creating it when absent.
func NewRegistry(ctx context.Context, js jetstream.JetStream, cfg Config, log zerolog.Logger) (*Registry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	kv, err := openBucket(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	r := &Registry{kv: kv, cfg: cfg, log: log.With().Str("component", "units").Logger(), now: time.Now}
	r.c.init(cfg.CacheSize)
	return r, nil
}

func openBucket(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("unit registry: open bucket %s: %w", cfg.Bucket, err)
	}
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "linedispatch unit names per (channel, bot, Tokyo month)",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		return js.KeyValue(ctx, cfg.Bucket) // another pod created it first
	}
	if err != nil {
		return nil, fmt.Errorf("unit registry: create bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// Config returns the configuration in use (defaults set).
func (r *Registry) Config() Config { return r.cfg }

// Admit decides whether a send of channel's bot with unit name unit may go
// at time at, registering the name when it is new for the bot's Tokyo month.
// A send without a name (unit == "") is always admitted without any I/O.
//
// A name already registered for the bot-month is admitted even when the cap
// is reached; a known name costs no NATS round trip. A new name costs one
// compare-and-set (plus one read when another pod wrote in between). Names
// are case-sensitive; the same name in another month is new.
//
// An error means the registry could not be read or written: the send's fate
// is undecided, so the caller should retry it later, not drop it.
func (r *Registry) Admit(ctx context.Context, channel, bot, unit string, at time.Time) (Decision, error) {
	if unit == "" {
		return Decision{Send: true, Action: ActionAttached}, nil
	}
	month := Month(at)
	bm := r.c.get(channel, bot, month)
	if bm == nil {
		if err := checkArgs(channel, bot, month); err != nil {
			return Decision{}, err
		}
		bm = r.c.add(channel, bot, month)
	}
	bm.mu.Lock()
	defer bm.mu.Unlock()
	if _, ok := bm.names[unit]; ok {
		return Decision{Send: true, Action: ActionAttached, Count: len(bm.names)}, nil
	}
	if err := checkName(unit); err != nil {
		return Decision{}, err
	}
	return r.register(ctx, bm, channel, bot, month, unit, at)
}

// register handles a name this pod has not seen for the bot-month. bm.mu is
// held, so one pod sends at most one registry request per bot-month at a time.
func (r *Registry) register(ctx context.Context, bm *botMonth, channel, bot, month, unit string, at time.Time) (Decision, error) {
	now := r.now()
	if bm.loaded && len(bm.names) >= r.cfg.Cap && now.Sub(bm.read) < r.cfg.FullReread {
		return r.overCap(len(bm.names)), nil
	}
	// Optimistic first attempt: this pod owns the bot's partition, so its
	// cached revision is usually current and the write needs no read first.
	fresh := bm.loaded && len(bm.names) < r.cfg.Cap
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if !fresh {
			names, rev, err := load(ctx, r.kv, Key(channel, bot, month))
			if err != nil {
				return Decision{}, err
			}
			bm.names, bm.rev, bm.loaded, bm.read = names, rev, true, now
			if _, ok := names[unit]; ok {
				return Decision{Send: true, Action: ActionAttached, Count: len(names)}, nil
			}
		}
		fresh = false
		if len(bm.names) >= r.cfg.Cap {
			if !bm.warned {
				bm.warned = true
				r.log.Warn().Str("channel", channel).Str("bot", bot).Str("month", month).
					Int("cap", r.cfg.Cap).Str("policy", string(r.cfg.Policy)).Msg("unit-name cap reached")
			}
			return r.overCap(len(bm.names)), nil
		}
		next := maps.Clone(bm.names)
		next[unit] = at.UTC().Truncate(time.Second)
		rev, err := store(ctx, r.kv, channel, bot, month, next, bm.rev)
		if errors.Is(err, errConflict) {
			continue
		}
		if err != nil {
			bm.loaded = false // the write may or may not have happened
			return Decision{}, err
		}
		bm.names, bm.rev, bm.read = next, rev, now
		return Decision{Send: true, Action: ActionAttached, Count: len(next)}, nil
	}
	return Decision{}, fmt.Errorf("unit registry: %s: %d concurrent updates in a row", Key(channel, bot, month), maxAttempts)
}

func (r *Registry) overCap(count int) Decision {
	switch r.cfg.Policy {
	case PolicyStrip:
		return Decision{Send: true, Strip: true, Action: ActionStripped, Count: count}
	case PolicyAllow:
		return Decision{Send: true, Action: ActionOverCap, Count: count}
	default:
		return Decision{Send: false, Action: ActionRejected, Count: count}
	}
}

// Names returns the names registered for a bot-month, sorted.
func (r *Registry) Names(ctx context.Context, channel, bot, month string) ([]string, error) {
	if err := checkArgs(channel, bot, month); err != nil {
		return nil, err
	}
	names, _, err := load(ctx, r.kv, Key(channel, bot, month))
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(names)), nil
}

// Import registers names that LINE already counts for the bot-month (found by
// a reconcile), ignoring the cap: LINE has them, so they use up slots whether
// or not the registry knows. It returns the names that were new, sorted.
func (r *Registry) Import(ctx context.Context, channel, bot, month string, names []string, at time.Time) ([]string, error) {
	if err := checkArgs(channel, bot, month); err != nil {
		return nil, err
	}
	for _, n := range names {
		if err := checkName(n); err != nil {
			return nil, err
		}
	}
	key := Key(channel, bot, month)
	defer r.c.forget(channel, bot, month) // make pods' next miss re-read it
	for attempt := 0; attempt < maxAttempts; attempt++ {
		have, rev, err := load(ctx, r.kv, key)
		if err != nil {
			return nil, err
		}
		var added []string
		for _, n := range names {
			if _, ok := have[n]; !ok {
				have[n] = at.UTC().Truncate(time.Second)
				added = append(added, n)
			}
		}
		if len(added) == 0 {
			return nil, nil
		}
		_, err = store(ctx, r.kv, channel, bot, month, have, rev)
		if errors.Is(err, errConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		slices.Sort(added)
		return slices.Compact(added), nil
	}
	return nil, fmt.Errorf("unit registry: %s: %d concurrent updates in a row", key, maxAttempts)
}

// botMonth is a pod's cached view of one bot-month.
type botMonth struct {
	mu     sync.Mutex
	loaded bool // names and rev reflect a read or write of the KV value
	names  map[string]time.Time
	rev    uint64
	read   time.Time // when names was last confirmed against KV
	warned bool
}
