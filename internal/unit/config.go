package unit

import (
	"errors"
	"fmt"
	"time"

	"github.com/linedispatch/linedispatch/internal/outcome"
)

// Policy says what happens to a send whose unit name is new for its bot and
// month when the bot's cap is already reached.
type Policy string

const (
	// PolicyReject refuses the send: the dispatcher dead-letters it with
	// outcome.ReasonUnitCap. Nothing reaches LINE, so nothing is lost
	// silently. The default.
	PolicyReject Policy = "reject"
	// PolicyStrip sends the message without the name; the outcome records
	// outcome.UnitStripped so the statistics still show the loss.
	PolicyStrip Policy = "strip"
	// PolicyAllow sends the message with the name although LINE will drop it;
	// the outcome records outcome.UnitOverCap.
	PolicyAllow Policy = "allow"
)

// Decision actions. The first three are the outcome's UnitAction values; a
// rejected send has no outcome.UnitAction constant, so ActionRejected is
// defined here (the dispatcher records it with outcome.ReasonUnitCap).
const (
	ActionAttached = outcome.UnitAttached
	ActionStripped = outcome.UnitStripped
	ActionOverCap  = outcome.UnitOverCap
	ActionRejected = "rejected"
)

// Defaults and bounds of Config.
const (
	// DefaultCap is LINE's limit of distinct names per bot and month.
	DefaultCap = 1000
	// MaxCap bounds Cap: a bot-month's names live in one KV value, which
	// must stay well under NATS's 1 MB message limit (about 60 bytes a name).
	MaxCap            = 10000
	DefaultBucket     = "LINE_UNITS"
	DefaultCacheSize  = 4096
	DefaultFullReread = 10 * time.Second
)

// Config configures the Registry (the "units" section of the dispatcher's
// configuration).
type Config struct {
	// Cap is the most distinct names per (channel, bot, month). Default
	// DefaultCap. Lower it to keep a margin for names sent by other tools.
	Cap int `yaml:"cap"`
	// Policy applies once Cap is reached. Default PolicyReject.
	Policy Policy `yaml:"policy"`
	// Bucket is the KV bucket of the registry. Default DefaultBucket.
	Bucket string `yaml:"bucket"`
	// Replicas of the bucket when it is created (3 on a cluster). Default 1.
	Replicas int `yaml:"replicas"`
	// CacheSize is how many (channel, bot, month) name sets a pod keeps in
	// memory. A miss costs one KV read. Default DefaultCacheSize.
	CacheSize int `yaml:"cacheSize"`
	// FullReread is how long a pod trusts its cached "cap reached" state
	// before reading the registry again for an unknown name. Only a
	// reconcile import can add names to a full month, so this only bounds
	// how long such an import takes to be seen. Default DefaultFullReread.
	FullReread time.Duration `yaml:"fullReread"`
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Cap == 0 {
		c.Cap = DefaultCap
	}
	if c.Policy == "" {
		c.Policy = PolicyReject
	}
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.FullReread == 0 {
		c.FullReread = DefaultFullReread
	}
	return c
}

// Validate reports every invalid field of c (after defaults), each error
// naming its field.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if c.Cap < 1 || c.Cap > MaxCap {
		errs = append(errs, fmt.Errorf("units.cap: must be 1..%d, got %d", MaxCap, c.Cap))
	}
	switch c.Policy {
	case PolicyReject, PolicyStrip, PolicyAllow:
	default:
		errs = append(errs, fmt.Errorf("units.policy: must be %q, %q or %q, got %q", PolicyReject, PolicyStrip, PolicyAllow, c.Policy))
	}
	if !validBucket(c.Bucket) {
		errs = append(errs, fmt.Errorf("units.bucket: must be letters, digits, '-' or '_', got %q", c.Bucket))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("units.replicas: must be 1..5, got %d", c.Replicas))
	}
	if c.CacheSize < 1 {
		errs = append(errs, fmt.Errorf("units.cacheSize: must be at least 1, got %d", c.CacheSize))
	}
	if c.FullReread < 0 {
		errs = append(errs, fmt.Errorf("units.fullReread: must not be negative, got %s", c.FullReread))
	}
	return errors.Join(errs...)
}

func validBucket(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
