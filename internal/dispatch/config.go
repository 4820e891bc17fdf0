// Package dispatch is the engine inside a dispatcher pod: it pulls intents
// from the partitions the pod owns, keeps one lane (FIFO + limiter) per
// (channel, bot, endpoint), schedules sends round-robin over the lanes that
// hold a token, sends through internal/sender, and records exactly one outcome
// per intent before acking it.
package dispatch

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/linedispatch/linedispatch/internal/limiter"
	"github.com/linedispatch/linedispatch/internal/sender"
)

// Defaults of Config.
const (
	DefaultAckWait            = 30 * time.Second
	DefaultMaxHeld            = 20000
	DefaultFetchBatch         = 256
	DefaultSenders            = 256
	DefaultMaxInflightPerLane = 64
	DefaultLaneCapacity       = 4000
	DefaultShutdownTimeout    = 15 * time.Second
	// DefaultFailureStreak is how many retryable failures in a row (with no
	// success between them) make a lane pause as a whole instead of sending
	// its other intents into an outage.
	DefaultFailureStreak = 5
	// PriorityGroup is the pinned priority group of every partition consumer.
	PriorityGroup = "dispatch"
)

// Config tunes the engine. Zero fields take their defaults.
type Config struct {
	// Pod names this dispatcher in outcomes and NATS. Default: the host name.
	Pod string `yaml:"pod"`
	// AckWait is the partition consumers' ack wait: a pod that dies holding
	// intents releases them after it. Held intents are kept alive with
	// InProgress. Default DefaultAckWait.
	AckWait time.Duration `yaml:"ackWait"`
	// MaxHeld bounds the intents held in memory by the pod (queued in lanes
	// or in flight). Default DefaultMaxHeld.
	MaxHeld int `yaml:"maxHeld"`
	// LaneCapacity bounds one lane's queue. Default DefaultLaneCapacity.
	LaneCapacity int `yaml:"laneCapacity"`
	// FetchBatch is the most intents pulled per request. Default DefaultFetchBatch.
	FetchBatch int `yaml:"fetchBatch"`
	// Senders is the size of the sender pool (concurrent LINE requests).
	// Default DefaultSenders.
	Senders int `yaml:"senders"`
	// MaxInflightPerLane bounds concurrent requests of one lane.
	// Default DefaultMaxInflightPerLane.
	MaxInflightPerLane int `yaml:"maxInflightPerLane"`
	// FailureStreak is the run of retryable failures after which a lane
	// pauses with backoff. Default DefaultFailureStreak.
	FailureStreak int `yaml:"failureStreak"`
	// ShutdownTimeout bounds the drain of in-flight requests on shutdown.
	// Default DefaultShutdownTimeout.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
	// Retry is the backoff between attempts of one intent.
	Retry sender.RetryConfig `yaml:"retry"`
	// Limits is the endpoint limit table. Default: LINE's (limiter.DefaultTable).
	Limits limiter.Table `yaml:"-"`
	// Limiter tunes every lane's limiter.
	Limiter limiter.Config `yaml:"limiter"`
	// LookaheadDepth is how many undelivered intents make a partition deep:
	// its owner then also reads the intents of keys that do not spill
	// straight from the stream, ahead of the consumer, so that a quiet bot
	// does not wait while a hot bot's backlog passes through. -1 turns the
	// lookahead off. Default DefaultLookaheadDepth.
	LookaheadDepth int `yaml:"lookaheadDepth"`
	// LookaheadInterval is how often a deep partition is looked ahead: the
	// most a quiet bot's intent waits behind a deep partition, plus a
	// request. Default DefaultLookaheadInterval.
	LookaheadInterval time.Duration `yaml:"lookaheadInterval"`
	// ConsumerStorage is where the partition consumers keep their state:
	// "memory" or "file" (see consumer.go for why memory is safe on a work
	// queue). An existing consumer keeps the storage it was created with.
	// Default ConsumerStorageMemory.
	ConsumerStorage string `yaml:"consumerStorage"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Pod == "" {
		c.Pod, _ = os.Hostname()
		if c.Pod == "" {
			c.Pod = "dispatcher"
		}
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxHeld == 0 {
		c.MaxHeld = DefaultMaxHeld
	}
	if c.LaneCapacity == 0 {
		c.LaneCapacity = DefaultLaneCapacity
	}
	if c.FetchBatch == 0 {
		c.FetchBatch = DefaultFetchBatch
	}
	if c.Senders == 0 {
		c.Senders = DefaultSenders
	}
	if c.MaxInflightPerLane == 0 {
		c.MaxInflightPerLane = DefaultMaxInflightPerLane
	}
	if c.FailureStreak == 0 {
		c.FailureStreak = DefaultFailureStreak
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Limits == nil {
		c.Limits = limiter.DefaultTable()
	}
	if c.LookaheadDepth == 0 {
		c.LookaheadDepth = DefaultLookaheadDepth
	}
	if c.LookaheadInterval == 0 {
		c.LookaheadInterval = DefaultLookaheadInterval
	}
	if c.ConsumerStorage == "" {
		c.ConsumerStorage = ConsumerStorageMemory
	}
	return c
}

// Validate names the first invalid field (after defaults).
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if c.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("dispatch.ackWait: must be at least 1s, got %s", c.AckWait))
	}
	if c.MaxHeld < 1 {
		errs = append(errs, fmt.Errorf("dispatch.maxHeld: must be positive, got %d", c.MaxHeld))
	}
	if c.LaneCapacity < 1 {
		errs = append(errs, fmt.Errorf("dispatch.laneCapacity: must be positive, got %d", c.LaneCapacity))
	}
	if c.FetchBatch < 1 || c.FetchBatch > 10000 {
		errs = append(errs, fmt.Errorf("dispatch.fetchBatch: must be 1..10000, got %d", c.FetchBatch))
	}
	if c.Senders < 1 {
		errs = append(errs, fmt.Errorf("dispatch.senders: must be positive, got %d", c.Senders))
	}
	if c.MaxInflightPerLane < 1 {
		errs = append(errs, fmt.Errorf("dispatch.maxInflightPerLane: must be positive, got %d", c.MaxInflightPerLane))
	}
	if c.FailureStreak < 1 {
		errs = append(errs, fmt.Errorf("dispatch.failureStreak: must be positive, got %d", c.FailureStreak))
	}
	if c.LookaheadDepth < -1 {
		errs = append(errs, fmt.Errorf("dispatch.lookaheadDepth: must be positive, or -1 (off), got %d", c.LookaheadDepth))
	}
	if c.LookaheadInterval < time.Millisecond {
		errs = append(errs, fmt.Errorf("dispatch.lookaheadInterval: must be at least 1ms, got %s", c.LookaheadInterval))
	}
	if c.ConsumerStorage != ConsumerStorageMemory && c.ConsumerStorage != ConsumerStorageFile {
		errs = append(errs, fmt.Errorf("dispatch.consumerStorage: must be %q or %q, got %q", ConsumerStorageMemory, ConsumerStorageFile, c.ConsumerStorage))
	}
	if err := c.Retry.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("dispatch.retry: %w", err))
	}
	// Checked here, not only when the first lane needs a limiter: a bad
	// value must stop the pod at start. Errors read "dispatch.limiter: …".
	if err := c.Limiter.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("dispatch.%w", err))
	}
	return errors.Join(errs...)
}
