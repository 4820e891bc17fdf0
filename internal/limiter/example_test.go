package limiter_test

import (
	"fmt"
	"time"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/limiter"
)

// A scheduler loop on a simulated clock: the lane drains a backlog of
// broadcasts at 60/1h, played 1000× faster with Table.Scaled. Sends come
// one interval apart (3.6 s / 59.1 ≈ 60.9 ms), never bunched.
func Example() {
	limits := limiter.DefaultTable().Scaled(0.001)
	lane, err := limiter.New(limits.For(intent.Broadcast), limiter.Config{})
	if err != nil {
		panic(err)
	}
	start := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	now := start
	for sent := 0; sent < 4; {
		ok, wait := lane.Reserve(now)
		if !ok {
			now = now.Add(wait) // a real scheduler arms a timer instead
			continue
		}
		sent++
		fmt.Printf("send %d at +%v\n", sent, now.Sub(start).Round(time.Millisecond))
	}
	fmt.Println("limit", lane.Limit(), "pacing at", lane.Rate(), "req/s")
	// Output:
	// send 1 at +0s
	// send 2 at +61ms
	// send 3 at +122ms
	// send 4 at +183ms
	// limit 60/3600ms pacing at 16.416666666666668 req/s
}

func ExampleParseTable() {
	limits, err := limiter.ParseTable(map[string]string{"multicast": "100/1s"})
	if err != nil {
		panic(err)
	}
	fmt.Println(limits.For(intent.Multicast), limits.For(intent.Narrowcast))

	_, err = limiter.ParseTable(map[string]string{"brodcast": "60/1h"})
	fmt.Println(err)
	// Output:
	// 100/1s 60/1h
	// limiter: limits["brodcast"]: unknown endpoint (want one of push, multicast, narrowcast, broadcast, reply, markasread, other)
}

// A lane moves to another pod: the old owner stops sending and hands over its
// recent sends; the new owner continues without exceeding the window.
func ExampleLimiter_Restore() {
	limit := limiter.MustParseLimit("3/1s")
	cfg := limiter.Config{Safety: 1, Burst: 3} // bursty, so the window log decides
	t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

	old, _ := limiter.New(limit, cfg)
	for range 3 {
		old.Reserve(t0)
	}

	successor, _ := limiter.New(limit, cfg)
	successor.Restore(old.Snapshot())
	ok, wait := successor.Reserve(t0.Add(400 * time.Millisecond))
	fmt.Println(ok, wait)
	// Output:
	// false 600ms
}
