package unit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The registry keeps one KV value per (channel, bot, month), under the key
// "<channel>.<bot>.<YYYY-MM>", holding every name registered that month.
//
// Why one value per bot-month instead of one key per name plus a counter:
// adding a name and counting it must be one atomic step. With a name key and
// a separate counter, a pod that dies between the two writes leaves the count
// wrong (too low: the cap can be exceeded; too high: a slot leaks). Here a
// single compare-and-set (KV Update with the revision read) adds the name and
// raises the count together, so there is no crash window, N pods racing on
// new names can never exceed the cap, and a cold pod warms a whole bot-month
// with one read. The value stays small (about 60 bytes a name, MaxCap bounds
// it) and is written at most Cap times a month per bot.

// namesDoc is the stored value.
type namesDoc struct {
	Channel string `json:"channel"`
	Bot     string `json:"bot"`
	Month   string `json:"month"`
	// Names maps each registered name to when it was registered (UTC,
	// seconds) — by a send, or by a reconcile import.
	Names map[string]time.Time `json:"names"`
}

// Key returns the registry key of a bot-month.
func Key(channel, bot, month string) string { return channel + "." + bot + "." + month }

// ErrInvalid is returned (wrapped) for a channel, bot, unit name or month
// that does not have LINE's shape. Such values never reach the KV store: they
// would not be valid keys.
var ErrInvalid = errors.New("unit: invalid argument")

func checkArgs(channel, bot, month string) error {
	switch {
	case !ValidChannel(channel):
		return fmt.Errorf("%w: channel must be 1 to 20 digits, got %q", ErrInvalid, clip(channel))
	case !ValidBot(bot):
		return fmt.Errorf(`%w: bot must be "U" and 32 lowercase hex digits, got %q`, ErrInvalid, clip(bot))
	}
	if _, err := ParseMonth(month); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func checkName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: unit name must match ^[a-zA-Z0-9_]{1,30}$, got %q", ErrInvalid, clip(name))
	}
	return nil
}

// load reads a bot-month. A missing key is an empty set with revision 0.
func load(ctx context.Context, kv jetstream.KeyValue, key string) (map[string]time.Time, uint64, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return map[string]time.Time{}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("unit registry: read %s: %w", key, err)
	}
	var d namesDoc
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return nil, 0, fmt.Errorf("unit registry: decode %s: %w", key, err)
	}
	if d.Names == nil {
		d.Names = map[string]time.Time{}
	}
	return d.Names, e.Revision(), nil
}

// store writes names if the key is still at revision rev (0: absent). It
// returns errConflict when another writer got there first.
func store(ctx context.Context, kv jetstream.KeyValue, channel, bot, month string, names map[string]time.Time, rev uint64) (uint64, error) {
	b, err := json.Marshal(namesDoc{Channel: channel, Bot: bot, Month: month, Names: names})
	if err != nil {
		return 0, err
	}
	key := Key(channel, bot, month)
	var newRev uint64
	if rev == 0 {
		newRev, err = kv.Create(ctx, key, b)
	} else {
		newRev, err = kv.Update(ctx, key, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return 0, errConflict
	}
	if err != nil {
		return 0, fmt.Errorf("unit registry: write %s: %w", key, err)
	}
	return newRev, nil
}

var errConflict = errors.New("unit registry: concurrent update")

// maxAttempts bounds compare-and-set retries. Each conflict means another
// writer made progress, so running out needs hundreds of pods registering
// names for one bot at once.
const maxAttempts = 200
