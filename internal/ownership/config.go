package ownership

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Defaults of Config.
const (
	DefaultBucket   = "LINE_MEMBERS"
	DefaultTTL      = 10 * time.Second
	DefaultSettle   = 500 * time.Millisecond
	DefaultReplicas = 1

	// MinTTL is the shortest member TTL: JetStream message TTLs have a
	// resolution of one second.
	MinTTL = time.Second
	// MaxTTL bounds the member TTL: a crashed pod's partitions wait this long.
	MaxTTL = time.Hour
	// MinHeartbeat bounds the heartbeat rate (one KV write per pod per beat).
	MinHeartbeat = 100 * time.Millisecond
	// MaxSettle bounds the debounce of membership changes.
	MaxSettle = time.Minute
)

// Config tunes membership and assignment. Zero fields take their defaults.
type Config struct {
	// Bucket is the KV bucket of the members. Default DefaultBucket.
	Bucket string `yaml:"bucket"`
	// TTL is how long a member stays without a heartbeat: a pod killed
	// without a goodbye loses its partitions after about TTL + Heartbeat +
	// Settle. A whole number of seconds (JetStream message TTLs have 1s
	// resolution), 1s..1h. Default DefaultTTL.
	TTL time.Duration `yaml:"ttl"`
	// Heartbeat is how often a pod refreshes its key; at most TTL/2 so that
	// one lost heartbeat does not expire it. Default TTL/3.
	Heartbeat time.Duration `yaml:"heartbeat"`
	// Settle is the quiet time after a membership change before partitions
	// are reassigned, so that pods starting or stopping together cause one
	// reassignment. Default DefaultSettle.
	Settle time.Duration `yaml:"settle"`
	// Replicas is the bucket's replication factor (3 on a production
	// cluster). Default DefaultReplicas.
	Replicas int `yaml:"replicas"`
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = c.TTL / 3
	}
	if c.Settle == 0 {
		c.Settle = DefaultSettle
	}
	if c.Replicas == 0 {
		c.Replicas = DefaultReplicas
	}
	return c
}

var bucketName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// Validate reports every invalid field of c (after defaults), each error
// naming its field ("ownership.ttl: ...").
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if !bucketName.MatchString(c.Bucket) {
		errs = append(errs, fmt.Errorf("ownership.bucket: must be letters, digits, '-' or '_', got %q", c.Bucket))
	}
	switch {
	case c.TTL < MinTTL || c.TTL > MaxTTL:
		errs = append(errs, fmt.Errorf("ownership.ttl: must be %s..%s, got %s", MinTTL, MaxTTL, c.TTL))
	case c.TTL%time.Second != 0:
		errs = append(errs, fmt.Errorf("ownership.ttl: must be a whole number of seconds (JetStream message TTLs have 1s resolution), got %s", c.TTL))
	}
	if c.Heartbeat < MinHeartbeat || c.Heartbeat > c.TTL/2 {
		errs = append(errs, fmt.Errorf("ownership.heartbeat: must be %s..ownership.ttl/2 (%s), got %s", MinHeartbeat, c.TTL/2, c.Heartbeat))
	}
	if c.Settle < 0 || c.Settle > MaxSettle {
		errs = append(errs, fmt.Errorf("ownership.settle: must be 0..%s, got %s", MaxSettle, c.Settle))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("ownership.replicas: must be 1..5, got %d", c.Replicas))
	}
	return errors.Join(errs...)
}

// podIDPattern is what a pod ID may look like: a KV key made of
// dot-separated tokens (Kubernetes pod names qualify).
var podIDPattern = regexp.MustCompile(`^[A-Za-z0-9_=-]+(\.[A-Za-z0-9_=-]+)*$`)

// maxPodID bounds a pod ID's length.
const maxPodID = 253

func validatePodID(id string) error {
	if len(id) > maxPodID || !podIDPattern.MatchString(id) {
		return fmt.Errorf("ownership: pod id %q: must be 1..%d characters of letters, digits, '-', '_', '=' and inner dots", id, maxPodID)
	}
	return nil
}
