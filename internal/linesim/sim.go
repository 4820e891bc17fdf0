package linesim

import (
	"crypto/rand"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Sim is the LINE platform simulator: Handler serves LINE's API, AdminHandler
// the inspection and fault-control API. All methods are safe for concurrent use.
type Sim struct {
	cfg      Config
	botKey   string // canonical form of cfg.BotHeader
	log      zerolog.Logger
	clock    Clock
	base     time.Time // origin of the ns timestamps used internally
	channels []*channel
	chByID   map[string]*channel
	static   map[string]*channel
	limits   [numEndpoints]Limit

	faults   [numEndpoints + 1]atomicFaults // last slot: "*"
	anyFault atomic.Bool
	outage   atomic.Bool

	state   atomic.Pointer[state]
	ids     *idGen
	tokens  *tokenSigner
	seed1   maphash.Seed
	seed2   maphash.Seed
	closing chan struct{}
	closeMu sync.Once
}

type atomicFaults = atomic.Pointer[Faults]

// channel is a configured module channel.
type channel struct {
	idx    int
	id     string
	secret string
	none   *botState // holder of the channel-wide keys (bot "")

	mu    sync.Mutex // serialises writers of bots/order and short-lived tokens
	bots  atomic.Pointer[map[string]*botState]
	order atomic.Pointer[[]*botState] // every known bot, in order of first attachment

	shortLived []uint64 // serials of the valid short-lived tokens, oldest first
	nextSerial uint64
}

// state is everything a reset clears.
type state struct {
	retry       *shardedTTL[retryID, retryEntry]
	dedup       *shardedTTL[[2]uint64, deliveryRec]
	recipients  *recipientCounts
	replies     *shardedTTL[string, replyEntry]
	narrowcasts *shardedTTL[uint64, narrowcastEntry]
	months      sync.Map // monthKey -> *botMonth

	requests, unauthorized, notFound, unattributed, duplicates atomic.Int64

	sampleMu  sync.Mutex
	dupSample []Duplicate
	cvSample  []ContractViolation
}

const (
	day        = 24 * time.Hour
	sampleSize = 100
)

func (s *Sim) newState() *state {
	max := s.cfg.MaxTracked
	return &state{
		retry:       newShardedTTL[retryID, retryEntry](int64(day), max),
		dedup:       newShardedTTL[[2]uint64, deliveryRec](int64(day), max),
		recipients:  newRecipientCounts(max),
		replies:     newShardedTTL[string, replyEntry](int64(s.cfg.ReplyTokenTTL), max),
		narrowcasts: newShardedTTL[uint64, narrowcastEntry](int64(day), max),
	}
}

// New validates cfg and returns a Sim.
func New(cfg Config) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("linesim: %w", err)
	}
	cfg = cfg.withDefaults()
	s := &Sim{
		cfg: cfg, log: cfg.Logger, clock: cfg.Clock,
		chByID: map[string]*channel{}, static: map[string]*channel{},
		ids: newIDGen(), seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(),
		closing: make(chan struct{}),
	}
	s.base = s.clock.Now()
	s.botKey = http.CanonicalHeaderKey(cfg.BotHeader)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("linesim: token key: %w", err)
	}
	s.tokens = newTokenSigner(key)
	for _, e := range endpoints {
		s.limits[e.id], _ = cfg.EffectiveLimit(e.token)
	}
	for i, c := range cfg.Channels {
		ch := &channel{idx: i, id: c.ID, secret: c.Secret, none: &botState{}}
		ch.bots.Store(&map[string]*botState{})
		ch.order.Store(&[]*botState{})
		for _, b := range c.Bots {
			ch.attach(b, true)
		}
		for _, t := range c.StaticTokens {
			s.static[t] = ch
		}
		s.channels = append(s.channels, ch)
		s.chByID[c.ID] = ch
	}
	s.restoreFaults()
	s.outage.Store(cfg.Outage)
	s.state.Store(s.newState())
	return s, nil
}

// now returns linesim's clock time and its internal ns timestamp.
func (s *Sim) now() (time.Time, int64) {
	t := s.clock.Now()
	return t, int64(t.Sub(s.base))
}

// Now returns linesim's clock time.
func (s *Sim) Now() time.Time { return s.clock.Now() }

// Advance moves linesim's clock forward (the clock must be advanceable).
func (s *Sim) Advance(d time.Duration) error {
	c, ok := s.clock.(AdvanceableClock)
	if !ok {
		return errors.New("linesim: the configured clock cannot be advanced")
	}
	if d < 0 {
		return errors.New("linesim: the clock only moves forward")
	}
	c.Advance(d)
	return nil
}

// Reset clears every counter and memory (windows, retry keys, duplicates,
// deliveries, units, quota, reply tokens, narrowcasts), restores the
// configured attachments and faults and switches the outage to its
// configured state. Issued access tokens stay valid; the clock is unchanged.
func (s *Sim) Reset() {
	for _, ch := range s.channels {
		ch.mu.Lock()
		m := map[string]*botState{}
		var order []*botState
		for _, b := range *ch.order.Load() {
			b.attached.Store(b.configured)
			if b.configured {
				m[b.id] = b
				order = append(order, b)
			}
		}
		ch.bots.Store(&m)
		ch.order.Store(&order)
		ch.mu.Unlock()
	}
	s.restoreFaults()
	s.outage.Store(s.cfg.Outage)
	s.state.Store(s.newState())
	s.log.Info().Msg("linesim reset")
}

// Close ends hanging requests; the Sim keeps answering others.
func (s *Sim) Close() { s.closeMu.Do(func() { close(s.closing) }) }

// attach marks bot as attached to ch, adding it if new.
func (ch *channel) attach(bot string, configured bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	old := *ch.bots.Load()
	if b, ok := old[bot]; ok {
		b.attached.Store(true)
		return
	}
	b := &botState{id: bot, seq: len(*ch.order.Load()), configured: configured}
	b.attached.Store(true)
	m := make(map[string]*botState, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[bot] = b
	order := append(append([]*botState(nil), *ch.order.Load()...), b)
	ch.bots.Store(&m)
	ch.order.Store(&order)
}

// detach marks bot as detached; it reports whether it was attached.
func (ch *channel) detach(bot string) bool {
	b, ok := (*ch.bots.Load())[bot]
	return ok && b.attached.CompareAndSwap(true, false)
}

// attached returns the attached bots in order of first attachment.
func (ch *channel) attached() []string {
	var out []string
	for _, b := range *ch.order.Load() {
		if b.attached.Load() {
			out = append(out, b.id)
		}
	}
	return out
}

// Attach attaches bot to channel (as an attached event would).
func (s *Sim) Attach(channelID, bot string) error {
	ch, ok := s.chByID[channelID]
	if !ok {
		return fmt.Errorf("linesim: unknown channel %q", channelID)
	}
	if !isBotID(bot) {
		return fmt.Errorf("linesim: %q is not a bot user ID", bot)
	}
	ch.attach(bot, false)
	return nil
}

// Detach detaches bot from channel (as the detach API does).
func (s *Sim) Detach(channelID, bot string) error {
	ch, ok := s.chByID[channelID]
	if !ok {
		return fmt.Errorf("linesim: unknown channel %q", channelID)
	}
	if !ch.detach(bot) {
		return fmt.Errorf("linesim: bot %s is not attached to channel %s", bot, channelID)
	}
	return nil
}

// Limits returns the enforced limit of every endpoint token.
func (s *Sim) Limits() map[string]Limit {
	out := map[string]Limit{}
	for _, e := range endpoints {
		out[e.token] = s.limits[e.id]
	}
	return out
}

func sortedChannels(chs []*channel) []*channel {
	out := append([]*channel(nil), chs...)
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}
