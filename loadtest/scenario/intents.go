package scenario

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/linedispatch/linedispatch/intent"
)

// idSpace mints intent IDs that carry their sequence number: bytes 0..9 are
// random per run (with the UUID v4 version and variant bits), bytes 10..15
// the sequence number. An outcome's intent ID then maps back to the intent
// without a map of every ID, so the runner tracks a million intents with a
// bitset.
type idSpace struct {
	prefix [10]byte
}

func newIDSpace() idSpace {
	var s idSpace
	_, _ = rand.Read(s.prefix[:])
	s.prefix[6] = s.prefix[6]&0x0f | 0x40 // version 4
	s.prefix[8] = s.prefix[8]&0x3f | 0x80 // RFC 4122 variant
	return s
}

// maxSeq bounds sequence numbers (48 bits).
const maxSeq = 1<<48 - 1

func (s idSpace) id(seq uint64) string {
	var u uuid.UUID
	copy(u[:10], s.prefix[:])
	for i := 0; i < 6; i++ {
		u[15-i] = byte(seq >> (8 * i))
	}
	return u.String()
}

// seq returns the sequence number of an ID minted by s.
func (s idSpace) seq(id string) (uint64, bool) {
	u, err := uuid.Parse(id)
	if err != nil || len(id) != 36 {
		return 0, false
	}
	if [10]byte(u[:10]) != s.prefix {
		return 0, false
	}
	var n uint64
	for i := 10; i < 16; i++ {
		n = n<<8 | uint64(u[i])
	}
	return n, true
}

// recipientPool is how many distinct recipients the generated intents use.
// Texts are unique per intent, so linesim's duplicate detection (recipient +
// messages) stays exact while its per-recipient memory stays small.
const recipientPool = 1000

func recipient(i int) string { return fmt.Sprintf("U%032x", 0xacce0000+i%recipientPool) }

// Gen builds the intents of a run: unique IDs (see idSpace), unique texts,
// and a label naming the scenario.
type Gen struct {
	mu       sync.Mutex // a Load generates while the scenario goroutine runs
	ids      idSpace
	run      string
	channel  string
	scenario string
	next     uint64
}

func newGen(channel, scenario string) *Gen {
	ids := newIDSpace()
	return &Gen{ids: ids, run: fmt.Sprintf("%x", ids.prefix[:4]), channel: channel, scenario: scenario}
}

func (g *Gen) make(bot string, ep intent.Endpoint, body []byte) (*intent.Intent, error) {
	if g.next > maxSeq {
		return nil, fmt.Errorf("scenario: out of intent IDs")
	}
	seq := g.next
	g.next++
	in := &intent.Intent{
		ID:        g.ids.id(seq),
		Channel:   g.channel,
		Bot:       bot,
		Endpoint:  ep,
		Body:      json.RawMessage(body),
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
		Labels:    map[string]string{"scenario": g.scenario},
	}
	return in, nil
}

func (g *Gen) text(tag string) string {
	return g.scenario + " " + tag + " #" + strconv.FormatUint(g.next, 10) + " run " + g.run
}

// Push returns a push intent to one recipient with a unique text.
func (g *Gen) Push(bot, tag string) (*intent.Intent, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	body := fmt.Appendf(nil, `{"to":%q,"messages":[{"type":"text","text":%q}]}`, recipient(int(g.next)), g.text(tag))
	return g.make(bot, intent.Push, body)
}

// Multicast returns a multicast intent to n recipients with a unique text.
func (g *Gen) Multicast(bot, tag string, n int) (*intent.Intent, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	to := make([]string, n)
	for i := range to {
		to[i] = recipient(int(g.next)*n + i)
	}
	tb, _ := json.Marshal(to)
	body := fmt.Appendf(nil, `{"to":%s,"messages":[{"type":"text","text":%q}]}`, tb, g.text(tag))
	return g.make(bot, intent.Multicast, body)
}

// Narrowcast returns a narrowcast intent (to every friend) with a unique text.
func (g *Gen) Narrowcast(bot, tag string) (*intent.Intent, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	body := fmt.Appendf(nil, `{"messages":[{"type":"text","text":%q}]}`, g.text(tag))
	return g.make(bot, intent.Narrowcast, body)
}

// Issued is how many intents the generator made.
func (g *Gen) Issued() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.next
}

// publishChunk is how many intents one PublishBatch call carries, so a
// million-intent backlog never sits in the runner's memory at once.
const publishChunk = 5000

// PublishStats describes one pipelined publish.
type PublishStats struct {
	Intents int     `json:"intents"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"perSec"`
}

// publishN publishes n intents made by mk(i), pipelined with
// intent.PublishBatch in chunks, and returns the publish rate. progress (may
// be nil) is called after each chunk with the number published so far.
func publishN(ctx context.Context, pub func(context.Context, []*intent.Intent) error, n int, mk func(i int) (*intent.Intent, error), progress func(done int)) (PublishStats, error) {
	start := time.Now()
	chunk := make([]*intent.Intent, 0, min(n, publishChunk))
	done := 0
	for i := 0; i < n; i++ {
		in, err := mk(i)
		if err != nil {
			return PublishStats{}, err
		}
		chunk = append(chunk, in)
		if len(chunk) == cap(chunk) || i == n-1 {
			if err := pub(ctx, chunk); err != nil {
				return PublishStats{}, err
			}
			done += len(chunk)
			clear(chunk)
			chunk = chunk[:0]
			if progress != nil {
				progress(done)
			}
		}
	}
	el := time.Since(start)
	return PublishStats{Intents: n, Seconds: round2(el.Seconds()), PerSec: round2(float64(n) / el.Seconds())}, nil
}

// partitionOf is the LINE_INTENTS partition of a bot: nats-server's
// partition(P, bot) transform, FNV-1a 32 of the bot token modulo P.
func partitionOf(bot string, partitions int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(bot))
	return int(h.Sum32() % uint32(partitions))
}
