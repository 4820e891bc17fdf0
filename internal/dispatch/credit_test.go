package dispatch

import (
	"context"
	"testing"
	"time"
)

// creditEngine is an engine with only a credit pool of size max, free
// credits free, and gather wait w.
func creditEngine(t *testing.T, max, free int, w time.Duration) *Engine {
	t.Helper()
	e := &Engine{credits: make(chan struct{}, max), gather: make(chan struct{}, 1), gatherWait: w, metrics: NewMetrics(nil)}
	for range free {
		e.credits <- struct{}{}
	}
	return e
}

// waitFor polls cond until it holds, for at most 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling interval, not a wait for a result
	}
}

func TestAcquire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		free, want int
		wait       time.Duration
		got        int
	}{
		{"one wants one, whatever is free", 500, 1, time.Hour, 1},
		{"a batch is taken at once when free", 500, 256, time.Hour, 256},
		{"what is free, once the wait is over", 10, 256, time.Millisecond, 10},
		{"no wait at all", 10, 256, 0, 10},
		{"more than a gather batch when free", 100, 90, time.Millisecond, 90},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := creditEngine(t, 1000, tt.free, tt.wait)
			if got := e.acquire(context.Background(), tt.want); got != tt.got {
				t.Fatalf("acquire(%d) with %d free = %d, want %d", tt.want, tt.free, got, tt.got)
			}
			if left := len(e.credits); left != tt.free-tt.got {
				t.Fatalf("%d credits left in the pool, want %d", left, tt.free-tt.got)
			}
		})
	}
}

// TestAcquireGathersABatch: on a full pod credits come back one at a time;
// a puller that wants a batch waits for creditBatch of them instead of
// pulling the first one or two.
func TestAcquireGathersABatch(t *testing.T) {
	t.Parallel()
	e := creditEngine(t, 1000, 0, time.Hour)
	got := make(chan int, 1)
	go func() { got <- e.acquire(context.Background(), 256) }()
	for range creditBatch + 10 {
		e.credits <- struct{}{}
	}
	if n := <-got; n < creditBatch {
		t.Fatalf("acquire(256) took %d credits, want at least %d", n, creditBatch)
	}
}

// TestAcquireEnds: a puller gathering credits keeps the ones it has when
// ctx ends, and takes none when it ends before the first.
func TestAcquireEnds(t *testing.T) {
	t.Parallel()
	e := creditEngine(t, 100, 3, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan int, 1)
	go func() { got <- e.acquire(ctx, 64) }()
	waitFor(t, "acquire to take the free credits", func() bool { return len(e.credits) == 0 })
	cancel()
	if n := <-got; n != 3 {
		t.Fatalf("acquire after cancel = %d, want the 3 it had", n)
	}
	if n := e.acquire(ctx, 64); n != 0 {
		t.Fatalf("acquire on an ended ctx with no credit = %d, want 0", n)
	}
	if n := e.acquire(ctx, 1); n != 0 {
		t.Fatalf("acquire(1) on an ended ctx with no credit = %d, want 0", n)
	}
}

// TestAcquireLeavesTheQueueWhenItsContextEnds: a puller waiting for its
// turn to gather (another one gathers on a full pod) returns as soon as its
// partition's context ends, without a credit.
func TestAcquireLeavesTheQueueWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	e := creditEngine(t, 100, 0, time.Hour)
	first := make(chan int, 1)
	go func() { first <- e.acquire(context.Background(), 64) }() // waits for a credit
	waitFor(t, "the first puller to take its turn", func() bool { return len(e.gather) == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan int, 1)
	go func() { second <- e.acquire(ctx, 64) }()
	cancel()
	if n := <-second; n != 0 {
		t.Fatalf("acquire behind another puller after its ctx ended = %d, want 0", n)
	}
	e.release(64)
	if n := <-first; n != 64 {
		t.Fatalf("the gathering puller took %d credits, want 64", n)
	}
}
