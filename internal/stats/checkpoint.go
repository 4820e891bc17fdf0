package stats

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Keys of the projection's own state live in the document bucket under
// metaPrefix. Document keys start with a channel ID (digits), so they never
// collide.
const (
	metaPrefix    = "projector."
	checkpointKey = metaPrefix + "checkpoint"
	leaseKey      = metaPrefix + "lease"
)

// isDocKey reports whether a bucket key is a document (not projector state).
func isDocKey(key string) bool { return !strings.HasPrefix(key, metaPrefix) }

// checkpoint is the stream sequence through which every outcome has been
// folded into its document. Folders start just after it. It only moves
// forward: two folders may race to write it, and the higher value wins.
type checkpoint struct {
	kv  jetstream.KeyValue
	seq uint64
	rev uint64
	ok  bool // seq and rev reflect the stored value
}

func (c *checkpoint) load(ctx context.Context) (uint64, error) {
	e, err := c.kv.Get(ctx, checkpointKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		c.seq, c.rev, c.ok = 0, 0, true
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("stats: read checkpoint: %w", err)
	}
	seq, err := strconv.ParseUint(string(e.Value()), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stats: checkpoint %q: %w", e.Value(), err)
	}
	c.seq, c.rev, c.ok = seq, e.Revision(), true
	return seq, nil
}

// advance stores seq unless the stored checkpoint is already at or past it.
// Losing a race repeatedly to other folders is not an error: a checkpoint
// left behind is still valid (it only means more replay after a restart),
// and the next batch tries again.
func (c *checkpoint) advance(ctx context.Context, seq uint64) error {
	for attempt := 0; attempt < checkpointAttempts; attempt++ {
		if !c.ok {
			if _, err := c.load(ctx); err != nil {
				return err
			}
		}
		if c.seq >= seq {
			return nil
		}
		v := []byte(strconv.FormatUint(seq, 10))
		var (
			rev uint64
			err error
		)
		if c.rev == 0 {
			rev, err = c.kv.Create(ctx, checkpointKey, v)
		} else {
			rev, err = c.kv.Update(ctx, checkpointKey, v, c.rev)
		}
		if isConflict(err) {
			c.ok = false
			continue
		}
		if err != nil {
			c.ok = false
			return fmt.Errorf("stats: write checkpoint: %w", err)
		}
		c.seq, c.rev = seq, rev
		return nil
	}
	return nil
}

// checkpointAttempts bounds the compare-and-set retries of one advance.
const checkpointAttempts = 10

// readCheckpoint returns the stored checkpoint (0 when none).
func readCheckpoint(ctx context.Context, kv jetstream.KeyValue) (uint64, error) {
	c := checkpoint{kv: kv}
	return c.load(ctx)
}
