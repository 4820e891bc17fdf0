package stats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// lease elects the one projector that folds, so that N pods do not all read
// the stream and fight over the same documents. Exactness does not depend on
// it (see folder): two holders at once, e.g. when a paused pod's lease
// expires under it, only waste work. So a plain "holder until time" value
// with compare-and-set is enough; clock skew between pods only shifts
// hand-over by the skew.
type lease struct {
	kv     jetstream.KeyValue
	holder string
	ttl    time.Duration
	now    func() time.Time
	rev    uint64 // revision of our own lease value while held
	until  time.Time
}

type leaseValue struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

var errLeaseLost = errors.New("stats: projector lease taken over")

// acquire takes the lease if it is free, expired or already ours.
func (l *lease) acquire(ctx context.Context) (bool, error) {
	e, err := l.kv.Get(ctx, leaseKey)
	var rev uint64
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return false, fmt.Errorf("stats: read lease: %w", err)
	default:
		var v leaseValue
		if json.Unmarshal(e.Value(), &v) == nil && v.Holder != l.holder && l.now().Before(v.Expires) {
			return false, nil
		}
		rev = e.Revision()
	}
	if err := l.write(ctx, rev); err != nil {
		if errors.Is(err, errLeaseLost) {
			return false, nil // another pod was faster
		}
		return false, err
	}
	return true, nil
}

// renew extends a held lease. errLeaseLost means another pod holds it now.
func (l *lease) renew(ctx context.Context) error { return l.write(ctx, l.rev) }

func (l *lease) write(ctx context.Context, rev uint64) error {
	until := l.now().Add(l.ttl)
	b, _ := json.Marshal(leaseValue{Holder: l.holder, Expires: until})
	var (
		newRev uint64
		err    error
	)
	if rev == 0 {
		newRev, err = l.kv.Create(ctx, leaseKey, b)
	} else {
		newRev, err = l.kv.Update(ctx, leaseKey, b, rev)
	}
	if isConflict(err) {
		return errLeaseLost
	}
	if err != nil {
		return fmt.Errorf("stats: write lease: %w", err)
	}
	l.rev, l.until = newRev, until
	return nil
}

// release gives the lease up at once (on Stop), so another pod takes over
// without waiting for it to expire. Only our own revision is deleted.
func (l *lease) release(ctx context.Context) {
	if l.rev != 0 {
		_ = l.kv.Delete(ctx, leaseKey, jetstream.LastRevision(l.rev))
		l.rev = 0
	}
}

// expired reports whether a held lease has run out without a renewal.
func (l *lease) expired() bool { return !l.now().Before(l.until) }
