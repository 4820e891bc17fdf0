package sender

import (
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Retry defaults: LINE recommends exponential backoff; jitter keeps the pods
// that saw the same outage from retrying in lockstep.
const (
	DefaultInitialInterval     = 500 * time.Millisecond
	DefaultMaxInterval         = time.Minute
	DefaultMultiplier          = 2.0
	DefaultRandomizationFactor = 0.5
)

// RetryConfig shapes the backoff between attempts of one intent. Zero fields
// take the defaults (so jitter cannot be switched off: pods must not retry in
// lockstep after an outage). There is no attempt or elapsed-time cap: the intent's
// deadline (well inside LINE's 24 h retry-key memory) bounds retries.
type RetryConfig struct {
	InitialInterval     time.Duration `yaml:"initialInterval"`
	MaxInterval         time.Duration `yaml:"maxInterval"`
	Multiplier          float64       `yaml:"multiplier"`
	RandomizationFactor float64       `yaml:"randomizationFactor"`
}

// Validate reports the first invalid field by name.
func (c RetryConfig) Validate() error {
	d := c.withDefaults()
	switch {
	case c.InitialInterval < 0:
		return fmt.Errorf("sender: retry InitialInterval: must not be negative, got %s", c.InitialInterval)
	case c.MaxInterval < 0:
		return fmt.Errorf("sender: retry MaxInterval: must not be negative, got %s", c.MaxInterval)
	case d.MaxInterval < d.InitialInterval:
		return fmt.Errorf("sender: retry MaxInterval: %s is less than InitialInterval %s", d.MaxInterval, d.InitialInterval)
	case c.Multiplier != 0 && c.Multiplier < 1:
		return fmt.Errorf("sender: retry Multiplier: must be at least 1, got %g", c.Multiplier)
	case c.RandomizationFactor < 0 || c.RandomizationFactor > 1:
		return fmt.Errorf("sender: retry RandomizationFactor: must be within [0, 1], got %g", c.RandomizationFactor)
	}
	return nil
}

func (c RetryConfig) withDefaults() RetryConfig {
	if c.InitialInterval == 0 {
		c.InitialInterval = DefaultInitialInterval
	}
	if c.MaxInterval == 0 {
		c.MaxInterval = DefaultMaxInterval
	}
	if c.Multiplier == 0 {
		c.Multiplier = DefaultMultiplier
	}
	if c.RandomizationFactor == 0 {
		c.RandomizationFactor = DefaultRandomizationFactor
	}
	return c
}

// NewBackOff returns a fresh exponential backoff (one per intent; not safe
// for concurrent use) that never returns backoff.Stop. Call Validate first;
// invalid fields are used as given.
func (c RetryConfig) NewBackOff() backoff.BackOff {
	c = c.withDefaults()
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = c.InitialInterval
	b.MaxInterval = c.MaxInterval
	b.Multiplier = c.Multiplier
	b.RandomizationFactor = c.RandomizationFactor
	b.MaxElapsedTime = 0
	b.Reset()
	return b
}
