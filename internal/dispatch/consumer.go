package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/internal/queue"
)

// Partition consumers keep their state (delivered and acked sequences) in
// memory by default (dispatch.consumerStorage). On a work-queue stream an
// acked intent is removed, so a consumer that lost its state (every server
// of its group restarted) starts again from the first intent still stored:
// what was not acked yet. Nothing is lost; intents a pod still holds are
// delivered again, recognised (redundantCopy) and dropped, and one sent but
// not yet acked is answered 409 under its retry key. The file store wrote
// every partition consumer's state to disk about ten times a second: 17 %
// of nats-server's CPU in steady at 64 partitions (measured, docs/design.md).

// Consumer storage values of Config.ConsumerStorage.
const (
	ConsumerStorageMemory = "memory"
	ConsumerStorageFile   = "file"
)

// partitionConsumer creates or updates partition p's consumer. One created
// with the other storage (by an earlier version, or before the setting
// changed) is kept as it is: the server cannot change it in place, and
// deleting it would take it from under a pod that still pulls it.
func (e *Engine) partitionConsumer(ctx context.Context, p int) (jetstream.Consumer, error) {
	cfg := e.consumerConfig(p)
	c, err := e.js.CreateOrUpdateConsumer(ctx, queue.IntentsStream, cfg)
	if err == nil || !strings.Contains(err.Error(), "storage type can not be updated") {
		return c, err
	}
	cfg.MemoryStorage = !cfg.MemoryStorage
	c, err = e.js.CreateOrUpdateConsumer(ctx, queue.IntentsStream, cfg)
	if err != nil {
		return nil, fmt.Errorf("partition %d consumer (kept its %s storage): %w", p, storageName(cfg.MemoryStorage), err)
	}
	e.log.Info().Int("partition", p).Str("storage", storageName(cfg.MemoryStorage)).
		Msg("partition consumer keeps the storage it was created with; delete it while no pod runs to change it")
	return c, nil
}

func storageName(memory bool) string {
	if memory {
		return ConsumerStorageMemory
	}
	return ConsumerStorageFile
}

// recreateIfGone checks, after a failed pull, whether partition p's
// consumer still exists, and creates it again if not (a standalone server
// restarted and its consumers kept their state in memory, or an operator
// deleted it). It returns the new consumer, or nil when the old one stands
// or cannot be replaced now.
func (e *Engine) recreateIfGone(ctx context.Context, p int, c jetstream.Consumer) jetstream.Consumer {
	if _, err := c.Info(ctx); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil
	}
	// The new consumer delivers again what the pod still holds: first
	// deliveries must be checked from now on.
	e.checkFirstDeliveries.Store(true)
	nc, err := e.partitionConsumer(ctx, p)
	if err != nil {
		e.log.Warn().Err(err).Int("partition", p).Msg("partition consumer is gone and could not be created again")
		return nil
	}
	e.log.Warn().Int("partition", p).Msg("partition consumer was gone; created it again")
	return nc
}
