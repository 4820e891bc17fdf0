package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/queue"
)

// wireOutcome is the part of an outcome the runner reads; decoding only
// these fields keeps reading a million outcomes cheap.
type wireOutcome struct {
	IntentID  string         `json:"intentId"`
	Bot       string         `json:"bot"`
	Endpoint  string         `json:"endpoint"`
	Result    outcome.Result `json:"result"`
	Reason    string         `json:"reason"`
	Conflict  bool           `json:"conflict"`
	Attempts  int            `json:"attempts"`
	Throttled int            `json:"throttled"`
	CreatedAt time.Time      `json:"createdAt"`
	At        time.Time      `json:"at"`
	Pod       string         `json:"pod"`
}

// KeyID names a (bot, endpoint) of the run's channel.
type KeyID struct{ Bot, Endpoint string }

// keyAgg is what the runner keeps per key: accept times and latencies of
// sent outcomes (16 bytes per outcome, not the outcome).
type keyAgg struct {
	at   []int64 // outcome.At, unix ns
	lat  []int64 // At - CreatedAt, ns
	dead int
}

// Collected aggregates the outcomes of a run while they stream by.
type Collected struct {
	ids idSpace
	// seen has one bit per generated intent.
	seen []uint64

	Total      int
	Unique     int
	Duplicate  int // outcomes for an intent that already had one
	Foreign    int // outcomes for intents the runner did not generate
	Sent       int
	SentVia409 int
	Retried    int // sent or dead after more than one attempt
	Throttled  int // attempts LINE answered with a rate-limit 429
	Dead       map[string]int
	ByPod      map[string]int

	keys   map[KeyID]*keyAgg
	allAt  []int64
	allLat []int64
	podAt  map[string][]int64 // accept times of sent outcomes per pod
	// trackPods are the keys whose accept times are also kept per pod
	// (the named keys); keyPodAt holds them.
	trackPods map[KeyID]bool
	keyPodAt  map[KeyID]map[string][]int64
	// Throttles are the outcomes that met a 429 (few; in arrival order).
	Throttles []ThrottleEvent
}

// ThrottleEvent is an outcome whose attempts met LINE's 429.
type ThrottleEvent struct {
	At        int64  // outcome.At, unix ns
	Pod       string // the pod that recorded the outcome
	Key       KeyID
	Throttled int // 429s among its attempts
}

func newCollected(ids idSpace, generated uint64) *Collected {
	return &Collected{ids: ids, seen: make([]uint64, (generated+63)/64), Dead: map[string]int{}, ByPod: map[string]int{}, keys: map[KeyID]*keyAgg{}, podAt: map[string][]int64{}}
}

func (c *Collected) add(o *wireOutcome) {
	c.Total++
	if seq, ok := c.ids.seq(o.IntentID); ok && seq/64 < uint64(len(c.seen)) {
		w, b := seq/64, uint64(1)<<(seq%64)
		if c.seen[w]&b != 0 {
			c.Duplicate++
		} else {
			c.seen[w] |= b
			c.Unique++
		}
	} else {
		c.Foreign++
	}
	if o.Attempts > 1 {
		c.Retried++
	}
	c.Throttled += o.Throttled
	c.ByPod[o.Pod]++
	if o.Throttled > 0 && len(c.Throttles) < 10_000 {
		c.Throttles = append(c.Throttles, ThrottleEvent{At: o.At.UnixNano(), Pod: o.Pod, Key: KeyID{o.Bot, o.Endpoint}, Throttled: o.Throttled})
	}
	k := KeyID{o.Bot, o.Endpoint}
	ka := c.keys[k]
	if ka == nil {
		ka = &keyAgg{}
		c.keys[k] = ka
	}
	switch o.Result {
	case outcome.Sent:
		c.Sent++
		if o.Conflict {
			c.SentVia409++
		}
		at := o.At.UnixNano()
		ka.at = append(ka.at, at)
		c.allAt = append(c.allAt, at)
		c.podAt[o.Pod] = append(c.podAt[o.Pod], at)
		if c.trackPods[k] {
			if c.keyPodAt == nil {
				c.keyPodAt = map[KeyID]map[string][]int64{}
			}
			if c.keyPodAt[k] == nil {
				c.keyPodAt[k] = map[string][]int64{}
			}
			c.keyPodAt[k][o.Pod] = append(c.keyPodAt[k][o.Pod], at)
		}
		if !o.CreatedAt.IsZero() {
			l := at - o.CreatedAt.UnixNano()
			ka.lat = append(ka.lat, l)
			c.allLat = append(c.allLat, l)
		}
	default:
		c.Dead[o.Reason]++
		ka.dead++
	}
}

// finish sorts the accept times.
func (c *Collected) finish() {
	slices.Sort(c.allAt)
	for _, ka := range c.keys {
		slices.Sort(ka.at)
	}
	for _, at := range c.podAt {
		slices.Sort(at)
	}
	for _, m := range c.keyPodAt {
		for _, at := range m {
			slices.Sort(at)
		}
	}
}

// KeyPodAccepts returns the sorted accept times of a named key's sent
// outcomes recorded by one pod (nil for keys that are not named).
func (c *Collected) KeyPodAccepts(k KeyID, pod string) []int64 { return c.keyPodAt[k][pod] }

// AllAccepts returns the sorted accept times of every sent outcome (unix ns).
func (c *Collected) AllAccepts() []int64 { return c.allAt }

// PodAccepts returns the sorted accept times of the sent outcomes a pod
// recorded (unix ns).
func (c *Collected) PodAccepts(pod string) []int64 { return c.podAt[pod] }

// Accepts returns the sorted accept times of a key (unix ns).
func (c *Collected) Accepts(k KeyID) []int64 {
	if ka := c.keys[k]; ka != nil {
		return ka.at
	}
	return nil
}

// Latencies returns the latencies of a key (ns, unsorted; MeasureLatency sorts).
func (c *Collected) Latencies(k KeyID) []int64 {
	if ka := c.keys[k]; ka != nil {
		return ka.lat
	}
	return nil
}

// Keys lists the keys that had outcomes.
func (c *Collected) Keys() []KeyID {
	out := make([]KeyID, 0, len(c.keys))
	for k := range c.keys {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b KeyID) int {
		if a.Bot != b.Bot {
			if a.Bot < b.Bot {
				return -1
			}
			return 1
		}
		if a.Endpoint < b.Endpoint {
			return -1
		} else if a.Endpoint > b.Endpoint {
			return 1
		}
		return 0
	})
	return out
}

// countOutcomes is the number of outcomes stored.
func countOutcomes(ctx context.Context, js jetstream.JetStream) (int, error) {
	s, err := js.Stream(ctx, queue.OutcomesStream)
	if err != nil {
		return 0, err
	}
	return int(s.CachedInfo().State.Msgs), nil
}

// readOutcomes streams every stored outcome through c.add.
func readOutcomes(ctx context.Context, js jetstream.JetStream, c *Collected) error {
	n, err := countOutcomes(ctx, js)
	if err != nil || n == 0 {
		return err
	}
	oc, err := js.OrderedConsumer(ctx, queue.OutcomesStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return err
	}
	read := 0
	var o wireOutcome
	for read < n {
		batch, err := oc.Fetch(min(n-read, 2000), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			o = wireOutcome{}
			if err := json.Unmarshal(m.Data(), &o); err != nil {
				return fmt.Errorf("outcome %s: %w", m.Subject(), err)
			}
			c.add(&o)
		}
		read += got
		if got == 0 {
			if err := batch.Error(); err != nil {
				return err
			}
			return fmt.Errorf("outcomes: read %d of %d", read, n)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	c.finish()
	return nil
}
