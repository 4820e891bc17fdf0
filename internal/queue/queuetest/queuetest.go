// Package queuetest starts a real embedded JetStream for tests.
package queuetest

import (
	"context"
	"testing"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/queue"
)

// Start runs an embedded nats-server with JetStream in t.TempDir() on a random
// loopback port, provisions every stream, and stops it when the test ends.
// partitions defaults to 4 to keep tests light.
func Start(t testing.TB, opts ...func(*queue.Config)) *queue.Conn {
	t.Helper()
	cfg := queue.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:-1", Partitions: 4, ConnName: t.Name()}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := queue.Open(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("queuetest: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// Partitions sets the partition count.
func Partitions(n int) func(*queue.Config) { return func(c *queue.Config) { c.Partitions = n } }
