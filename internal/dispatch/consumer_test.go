package dispatch

import (
	"context"
	"testing"
	"time"

	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
)

// TestPartitionConsumerKeepsTheStorageItWasCreatedWith: a consumer created
// with the other storage (an earlier version kept its state on file) is
// used as it is; the server cannot change it in place.
func TestPartitionConsumerKeepsTheStorageItWasCreatedWith(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := queuetest.Start(t, queuetest.Partitions(1))
	engine := func(storage string) *Engine {
		e, err := New(Config{Pod: "test", ConsumerStorage: storage}, Deps{JS: conn.JS, Partitions: 1, Sender: nopSender{}})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, tc := range []struct {
		storage    string
		wantMemory bool
	}{
		{ConsumerStorageFile, false},   // created on file
		{ConsumerStorageMemory, false}, // kept on file
	} {
		c, err := engine(tc.storage).partitionConsumer(ctx, 0)
		if err != nil {
			t.Fatalf("%s: %v", tc.storage, err)
		}
		if got := c.CachedInfo().Config.MemoryStorage; got != tc.wantMemory {
			t.Errorf("%s: consumer's MemoryStorage = %v, want %v", tc.storage, got, tc.wantMemory)
		}
	}
	if err := conn.JS.DeleteConsumer(ctx, queue.IntentsStream, ConsumerName(0)); err != nil {
		t.Fatal(err)
	}
	c, err := engine("").partitionConsumer(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !c.CachedInfo().Config.MemoryStorage {
		t.Error("a new consumer keeps its state on file; the default is memory")
	}
}
