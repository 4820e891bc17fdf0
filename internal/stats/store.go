package stats

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNotFound is returned when there is no document (or no unit in it).
var ErrNotFound = errors.New("stats: not found")

// Store reads documents. It is safe for concurrent use.
type Store struct {
	js     jetstream.JetStream
	bucket string

	mu sync.Mutex
	kv jetstream.KeyValue
}

// NewStore reads documents from bucket ("" means DefaultBucket). The bucket
// is opened on first use, so a store can be created before any projector
// has created it.
func NewStore(js jetstream.JetStream, bucket string) *Store {
	if bucket == "" {
		bucket = DefaultBucket
	}
	return &Store{js: js, bucket: bucket}
}

func (s *Store) open(ctx context.Context) (jetstream.KeyValue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kv != nil {
		return s.kv, nil
	}
	kv, err := s.js.KeyValue(ctx, s.bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, ErrNotFound // nothing projected yet
	}
	if err != nil {
		return nil, fmt.Errorf("stats: open bucket %s: %w", s.bucket, err)
	}
	s.kv = kv
	return kv, nil
}

// Get returns the document of a bot-month, or ErrNotFound.
func (s *Store) Get(ctx context.Context, channel, bot, month string) (*Doc, error) {
	kv, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	c, err := readDoc(ctx, kv, Key(channel, bot, month))
	if err != nil {
		return nil, err
	}
	if c.doc == nil {
		return nil, ErrNotFound
	}
	return c.doc, nil
}

// UnitDetail is one unit's counters in a bot-month.
type UnitDetail struct {
	Channel string `json:"channel"`
	Bot     string `json:"bot"`
	Month   string `json:"month"`
	Unit    string `json:"unit"`
	Counts
	// LastSeq is the document's LastSeq: how far the figures are current.
	LastSeq uint64 `json:"lastSeq"`
}

// Unit returns one unit's counters (NoUnit for sends without a name), or
// ErrNotFound when the document or the unit is absent.
func (s *Store) Unit(ctx context.Context, channel, bot, month, unit string) (*UnitDetail, error) {
	d, err := s.Get(ctx, channel, bot, month)
	if err != nil {
		return nil, err
	}
	c, ok := d.Units[unit]
	if !ok {
		return nil, ErrNotFound
	}
	return &UnitDetail{Channel: channel, Bot: bot, Month: month, Unit: unit, Counts: *c, LastSeq: d.LastSeq}, nil
}
