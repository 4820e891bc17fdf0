package ownership_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/ownership"
	"github.com/linedispatch/linedispatch/internal/queue"
)

func ExampleAssign() {
	three := []string{"pod-0", "pod-1", "pod-2"}
	a := ownership.Assign(16, three)
	for _, m := range three {
		fmt.Println(m, a[m])
	}
	fmt.Println("partition 5 belongs to", ownership.Owner(16, 5, three))

	// A fourth pod takes its quota of 4; where the bound now bites
	// differently, a few partitions also move between the others.
	b := ownership.Assign(16, append(three, "pod-3"))
	for _, m := range append(three, "pod-3") {
		fmt.Println(m, b[m])
	}
	// Output:
	// pod-0 [0 2 9 10 14]
	// pod-1 [1 3 5 7 12 15]
	// pod-2 [4 6 8 11 13]
	// partition 5 belongs to pod-1
	// pod-0 [0 2 4 14]
	// pod-1 [7 10 12 15]
	// pod-2 [6 8 11 13]
	// pod-3 [1 3 5 9]
}

// A dispatcher pod follows its assignment: it starts pulling the partitions
// it gains and stops pulling (nak, unpin) the ones it loses. On SIGTERM it
// calls Leave so that the others take over after Settle, not after the TTL.
func ExampleStart() {
	dir, err := os.MkdirTemp("", "ownership-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	conn, err := queue.Open(ctx, queue.Config{DataDir: dir, Listen: "127.0.0.1:-1"}, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	cfg := ownership.Config{TTL: time.Second, Settle: 100 * time.Millisecond}

	podA, err := ownership.Start(ctx, conn.JS, 64, "pod-a", cfg, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer podA.Stop()
	a := <-podA.Updates()
	fmt.Println(a.Members, "pod-a owns", len(a.Owned), "gained", len(a.Gained))

	podB, err := ownership.Start(ctx, conn.JS, 64, "pod-b", cfg, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	a = <-podA.Updates()
	fmt.Println(a.Members, "pod-a owns", len(a.Owned), "lost", len(a.Lost))

	// pod-b gets SIGTERM.
	if err := podB.Leave(ctx); err != nil {
		fmt.Println(err)
		return
	}
	a = <-podA.Updates()
	fmt.Println(a.Members, "pod-a owns", len(a.Owned), "gained", len(a.Gained))
	// Output:
	// [pod-a] pod-a owns 64 gained 64
	// [pod-a pod-b] pod-a owns 32 lost 32
	// [pod-a] pod-a owns 64 gained 32
}
