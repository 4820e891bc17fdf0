// Package queue owns linedispatch's use of NATS JetStream: the embedded
// server for laptops and tests, the connection to an external cluster, and the
// streams and consumers the dispatcher relies on.
package queue

import (
	"errors"
	"fmt"
	"time"
)

// Stream names.
const (
	IntentsStream  = "LINE_INTENTS"
	OutcomesStream = "LINE_OUTCOMES"
	DeadStream     = "LINE_DEAD"
	BacklogStream  = "LINE_BACKLOG"
)

// Defaults of Config.
const (
	DefaultDataDir         = ".linedispatch/nats"
	DefaultListen          = "127.0.0.1:4222"
	DefaultPartitions      = 32
	DefaultReplicas        = 1
	DefaultDuplicateWindow = 10 * time.Minute
	DefaultOutcomeMaxAge   = 90 * 24 * time.Hour
	DefaultDeadMaxAge      = 30 * 24 * time.Hour
	// MaxPartitions bounds the partition count: each partition is a consumer.
	MaxPartitions = 1024
)

// Config says where JetStream is and how the streams are laid out.
type Config struct {
	// URL is the NATS server or cluster (comma-separated URLs). Empty starts
	// an embedded nats-server with JetStream. Default: empty.
	URL string `yaml:"url"`
	// CredsFile is a NATS credentials file for URL. Default: none.
	CredsFile string `yaml:"credsFile"`
	// DataDir is the embedded server's JetStream store. Default DefaultDataDir.
	DataDir string `yaml:"dataDir"`
	// Listen is the embedded server's client address, so producers can
	// connect to it; port -1 or 0 picks a free port. Default DefaultListen.
	Listen string `yaml:"listen"`
	// Partitions is the number of intent partitions P. It is fixed when
	// LINE_INTENTS is created; a different value against an existing stream
	// is refused. Unset, it is the existing stream's count, or
	// DefaultPartitions for a new stream.
	Partitions int `yaml:"partitions"`
	// Replicas is the stream replication factor (3 on a production cluster).
	// Default DefaultReplicas.
	Replicas int `yaml:"replicas"`
	// DuplicateWindow is how long JetStream remembers Nats-Msg-Id for
	// de-duplication. Default DefaultDuplicateWindow.
	DuplicateWindow time.Duration `yaml:"duplicateWindow"`
	// OutcomeMaxAge is how long outcomes are kept. Default DefaultOutcomeMaxAge.
	OutcomeMaxAge time.Duration `yaml:"outcomeMaxAge"`
	// DeadMaxAge is how long dead letters are kept. Default DefaultDeadMaxAge.
	DeadMaxAge time.Duration `yaml:"deadMaxAge"`
	// ConnName names the client connection in NATS monitoring.
	ConnName string `yaml:"-"`
}

// WithDefaults returns c with every zero field set to its default, except
// Partitions: Open resolves an unset count against the existing stream.
func (c Config) WithDefaults() Config {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Replicas == 0 {
		c.Replicas = DefaultReplicas
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = DefaultDuplicateWindow
	}
	if c.OutcomeMaxAge == 0 {
		c.OutcomeMaxAge = DefaultOutcomeMaxAge
	}
	if c.DeadMaxAge == 0 {
		c.DeadMaxAge = DefaultDeadMaxAge
	}
	return c
}

// Validate reports the first invalid field of c (after defaults).
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if c.Partitions < 0 || c.Partitions > MaxPartitions {
		errs = append(errs, fmt.Errorf("nats.partitions: must be 1..%d (or unset), got %d", MaxPartitions, c.Partitions))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("nats.replicas: must be 1..5, got %d", c.Replicas))
	}
	if c.URL == "" && c.Replicas != 1 {
		errs = append(errs, fmt.Errorf("nats.replicas: the embedded server is a single node, replicas must be 1, got %d", c.Replicas))
	}
	if c.DuplicateWindow < time.Minute {
		errs = append(errs, fmt.Errorf("nats.duplicateWindow: must be at least 1m, got %s", c.DuplicateWindow))
	}
	if c.OutcomeMaxAge < time.Hour {
		errs = append(errs, fmt.Errorf("nats.outcomeMaxAge: must be at least 1h, got %s", c.OutcomeMaxAge))
	}
	if c.DeadMaxAge < time.Hour {
		errs = append(errs, fmt.Errorf("nats.deadMaxAge: must be at least 1h, got %s", c.DeadMaxAge))
	}
	return errors.Join(errs...)
}
