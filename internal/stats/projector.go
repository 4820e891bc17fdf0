package stats

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/queue"
)

// ProjectorConfig configures the stats projection ("stats" section).
type ProjectorConfig struct {
	// Bucket is the KV bucket of the documents. Default DefaultBucket.
	Bucket string `yaml:"bucket"`
	// Stream is the outcome stream. Default queue.OutcomesStream.
	Stream string `yaml:"-"`
	// Replicas of the bucket when it is created. Default 1.
	Replicas int `yaml:"replicas"`
	// Name identifies this projector in the lease (the pod name). Default:
	// host name plus a random suffix.
	Name string `yaml:"-"`
	// LeaseTTL is how long a silent leader keeps the lease; a new leader
	// takes over within about this much after a pod dies. Default 15s.
	LeaseTTL time.Duration `yaml:"leaseTTL"`
	// MaxBatch is the most outcomes folded per round. Default 2000.
	MaxBatch int `yaml:"maxBatch"`
	// Linger is how long a round gathers outcomes after its first one: it
	// bounds how often a busy bot's document is rewritten, and adds at most
	// that much delay. Default 100ms.
	Linger time.Duration `yaml:"linger"`
	// Workers is how many documents are written concurrently. Default 8.
	Workers int `yaml:"workers"`
	// CacheDocs is how many documents the leader keeps in memory. Default 1024.
	CacheDocs int `yaml:"cacheDocs"`
}

// WithDefaults returns c with every zero field set to its default.
func (c ProjectorConfig) WithDefaults() ProjectorConfig {
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if c.Stream == "" {
		c.Stream = queue.OutcomesStream
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Name == "" {
		host, _ := os.Hostname()
		c.Name = host + "-" + uuid.NewString()[:8]
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = 15 * time.Second
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 2000
	}
	if c.Linger == 0 {
		c.Linger = 100 * time.Millisecond
	}
	if c.Workers == 0 {
		c.Workers = 8
	}
	if c.CacheDocs == 0 {
		c.CacheDocs = 1024
	}
	return c
}

// Validate reports every invalid field of c (after defaults).
func (c ProjectorConfig) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("stats.replicas: must be 1..5, got %d", c.Replicas))
	}
	if c.LeaseTTL < time.Second {
		errs = append(errs, fmt.Errorf("stats.leaseTTL: must be at least 1s, got %s", c.LeaseTTL))
	}
	if c.MaxBatch < 1 || c.MaxBatch > 100000 {
		errs = append(errs, fmt.Errorf("stats.maxBatch: must be 1..100000, got %d", c.MaxBatch))
	}
	if c.Linger < 0 || c.Linger > time.Minute {
		errs = append(errs, fmt.Errorf("stats.linger: must be 0..1m, got %s", c.Linger))
	}
	if c.Workers < 1 || c.CacheDocs < 1 {
		errs = append(errs, fmt.Errorf("stats.workers and stats.cacheDocs: must be at least 1, got %d and %d", c.Workers, c.CacheDocs))
	}
	return errors.Join(errs...)
}

// Projector folds LINE_OUTCOMES into documents while this pod holds the
// projector lease. Every pod may run one; one folds at a time, the others
// stand by and take over when the leader stops or its lease expires.
type Projector struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	cfg    ProjectorConfig
	log    zerolog.Logger
	cancel context.CancelFunc
	done   chan struct{}
	leader atomic.Bool
}

// StartProjector opens (or creates) the document bucket and starts the
// projection in the background until Stop or ctx ends.
func StartProjector(ctx context.Context, js jetstream.JetStream, cfg ProjectorConfig, log zerolog.Logger) (*Projector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	kv, err := openBucket(ctx, js, cfg.Bucket, cfg.Replicas)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Projector{js: js, kv: kv, cfg: cfg, cancel: cancel, done: make(chan struct{}),
		log: log.With().Str("component", "stats-projector").Str("projector", cfg.Name).Logger()}
	go p.loop(ctx)
	return p, nil
}

// Stop ends the projection and releases the lease; it returns once the
// current round is finished or abandoned (an abandoned round is redone by the
// next leader: nothing is counted twice).
func (p *Projector) Stop() {
	p.cancel()
	<-p.done
}

// Leader reports whether this projector currently holds the lease.
func (p *Projector) Leader() bool { return p.leader.Load() }

func (p *Projector) loop(ctx context.Context) {
	defer close(p.done)
	l := &lease{kv: p.kv, holder: p.cfg.Name, ttl: p.cfg.LeaseTTL, now: time.Now}
	tick := time.NewTicker(p.cfg.LeaseTTL / 3)
	defer tick.Stop()
	for {
		ok, err := l.acquire(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Warn().Err(err).Msg("projector lease check failed")
		}
		if ok {
			p.lead(ctx, l, tick.C)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// lead folds while the lease is held: the fold runs in its own goroutine and
// is cancelled when a renewal finds another holder or the lease ran out.
func (p *Projector) lead(ctx context.Context, l *lease, tick <-chan time.Time) {
	p.leader.Store(true)
	defer p.leader.Store(false)
	p.log.Info().Msg("projector lease acquired: folding outcomes")
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	folded := make(chan error, 1)
	go func() { folded <- p.fold(fctx) }()
	for {
		select {
		case <-ctx.Done():
			<-folded
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			l.release(rctx)
			cancel()
			return
		case err := <-folded:
			p.log.Warn().Err(err).Msg("projection stopped; resuming from the checkpoint")
			folded = make(chan error, 1)
			go func() {
				select { // back off a little so a broken server is not hammered
				case <-time.After(time.Second):
					folded <- p.fold(fctx)
				case <-fctx.Done():
					folded <- fctx.Err()
				}
			}()
		case <-tick:
			err := l.renew(ctx)
			if err == nil {
				continue
			}
			if errors.Is(err, errLeaseLost) || l.expired() {
				p.log.Warn().Err(err).Msg("projector lease lost: standing by")
				stop()
				<-folded
				return
			}
			p.log.Warn().Err(err).Msg("projector lease renewal failed; retrying")
		}
	}
}

// fold runs one folder from the checkpoint until fctx ends or an error.
func (p *Projector) fold(fctx context.Context) error {
	f := newFolder(p.kv, p.cfg.Workers, p.cfg.CacheDocs, p.log)
	return f.run(fctx, p.js, runOpts{stream: p.cfg.Stream, maxBatch: p.cfg.MaxBatch, linger: p.cfg.Linger})
}

// Lag returns how many outcomes on the stream are not yet folded (the
// stream's last sequence minus the checkpoint). Any pod can ask, leader or
// not: the checkpoint is shared.
func (p *Projector) Lag(ctx context.Context) (uint64, error) {
	last, err := lastSeq(ctx, p.js, p.cfg.Stream)
	if err != nil {
		return 0, err
	}
	cp, err := readCheckpoint(ctx, p.kv)
	if err != nil {
		return 0, err
	}
	if cp >= last {
		return 0, nil
	}
	return last - cp, nil
}

// WaitCaughtUp returns once every outcome on the stream when it was called
// is folded, or ctx ends. It polls the checkpoint.
func (p *Projector) WaitCaughtUp(ctx context.Context) error {
	target, err := lastSeq(ctx, p.js, p.cfg.Stream)
	if err != nil {
		return err
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		cp, err := readCheckpoint(ctx, p.kv)
		if err != nil {
			return err
		}
		if cp >= target {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stats: caught up to %d of %d: %w", cp, target, ctx.Err())
		case <-t.C:
		}
	}
}

func lastSeq(ctx context.Context, js jetstream.JetStream, stream string) (uint64, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("stats: stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stats: stream %s: %w", stream, err)
	}
	return info.State.LastSeq, nil
}

// openBucket opens a KV bucket, creating it when absent.
func openBucket(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, bucket)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("stats: open bucket %s: %w", bucket, err)
	}
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "linedispatch statistics per (channel, bot, Tokyo month)",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		return js.KeyValue(ctx, bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("stats: create bucket %s: %w", bucket, err)
	}
	return kv, nil
}
