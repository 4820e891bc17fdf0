package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// folder applies batches of outcomes to documents with compare-and-set.
//
// The exactness argument (docs/stats.md has the long form): a document's
// counters are always the fold of exactly its outcomes with sequence ≤
// LastSeq. A folder reads the stream contiguously, in order, from just after
// the checkpoint (every outcome ≤ checkpoint is already in its document), and
// at the end of each batch writes every document the batch touched, applying
// only the outcomes with sequence > the stored LastSeq, with a KV Update
// conditioned on the revision it read. Hence an outcome is never applied
// twice (its sequence is ≤ LastSeq afterwards, and a concurrent writer's
// update makes the CAS fail and the fold restart from the fresh document),
// and never skipped (a folder has seen every outcome between the document's
// LastSeq and its own position). The checkpoint only moves forward, after the
// batch's documents are written. None of this relies on there being a single
// folder: the lease only avoids wasted work.
type folder struct {
	kv      jetstream.KeyValue
	log     zerolog.Logger
	workers int
	maxDocs int

	// docs caches documents with the revision last read or written. A stale
	// entry only costs a failed CAS and a re-read.
	docs map[string]*cachedDoc
	cp   checkpoint
}

type cachedDoc struct {
	doc *Doc
	rev uint64 // 0: the key does not exist
}

// group is a batch's outcomes for one document, in stream order.
type group struct {
	channel, bot, month string
	seqs                []uint64
	events              []event
}

func newFolder(kv jetstream.KeyValue, workers, maxDocs int, log zerolog.Logger) *folder {
	return &folder{kv: kv, log: log, workers: workers, maxDocs: maxDocs, docs: map[string]*cachedDoc{}, cp: checkpoint{kv: kv}}
}

// flush writes every group's document, concurrently (documents are
// independent), and returns the first error.
func (f *folder) flush(ctx context.Context, groups map[string]*group) error {
	type job struct {
		key string
		g   *group
		c   *cachedDoc
	}
	jobs := make(chan job)
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for range min(f.workers, len(groups)) {
		wg.Go(func() {
			for j := range jobs {
				c, err := f.write(ctx, j.key, j.g, j.c)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if err == nil {
					f.docs[j.key] = c
				} else {
					delete(f.docs, j.key)
				}
				mu.Unlock()
			}
		})
	}
	for key, g := range groups {
		mu.Lock()
		c := f.docs[key]
		delete(f.docs, key) // owned by the job until written back
		mu.Unlock()
		jobs <- job{key, g, c}
	}
	close(jobs)
	wg.Wait()
	for key := range f.docs {
		if len(f.docs) <= f.maxDocs {
			break
		}
		delete(f.docs, key) // arbitrary victim; a miss costs one read
	}
	return first
}

// write folds g into the document at key until a CAS succeeds.
func (f *folder) write(ctx context.Context, key string, g *group, c *cachedDoc) (*cachedDoc, error) {
	for attempt := 0; attempt < maxCASAttempts; attempt++ {
		if c == nil {
			var err error
			if c, err = readDoc(ctx, f.kv, key); err != nil {
				return nil, err
			}
			if c.doc == nil {
				c.doc = newDoc(g.channel, g.bot, g.month)
			}
		}
		applied := false
		for i, seq := range g.seqs {
			if seq > c.doc.LastSeq {
				c.doc.apply(&g.events[i], seq)
				applied = true
			}
		}
		if !applied {
			return c, nil // already folded (a replay, or another folder was faster)
		}
		b, err := json.Marshal(c.doc)
		if err != nil {
			return nil, err
		}
		var rev uint64
		if c.rev == 0 {
			rev, err = f.kv.Create(ctx, key, b)
		} else {
			rev, err = f.kv.Update(ctx, key, b, c.rev)
		}
		if isConflict(err) {
			c = nil // someone else wrote it: start over from the stored document
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("stats: write %s: %w", key, err)
		}
		c.rev = rev
		return c, nil
	}
	return nil, fmt.Errorf("stats: write %s: %d concurrent updates in a row", key, maxCASAttempts)
}

// maxCASAttempts bounds retries; each conflict means another writer made
// progress on the same document.
const maxCASAttempts = 100

// readDoc reads a document; a missing one has doc == nil and rev 0.
func readDoc(ctx context.Context, kv jetstream.KeyValue, key string) (*cachedDoc, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return &cachedDoc{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stats: read %s: %w", key, err)
	}
	d, err := decodeDoc(e.Value())
	if err != nil {
		return nil, fmt.Errorf("stats: decode %s: %w", key, err)
	}
	return &cachedDoc{doc: d, rev: e.Revision()}, nil
}

func decodeDoc(b []byte) (*Doc, error) {
	var d Doc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	if d.Units == nil {
		d.Units = map[string]*Counts{}
	}
	return &d, nil
}

func isConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}
