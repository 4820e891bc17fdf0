package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/devstack"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// dispatcherBinary builds cmd/dispatcher once per test run.
func dispatcherBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "linedispatch-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "dispatcher")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/dispatcher").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// TestKilledPodLosesNothingAndSendsNothingTwice kills a dispatcher process
// with SIGKILL while it holds unacked intents and requests in flight, starts
// another, and checks that every intent was delivered exactly once.
func TestKilledPodLosesNothingAndSendsNothingTwice(t *testing.T) {
	t.Parallel()
	bin := dispatcherBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	nats := queuetest.Start(t) // outlives the dispatcher processes
	bots := []string{devstack.BotID(0), devstack.BotID(1), devstack.BotID(2)}
	sim, err := linesim.Start(linesim.Config{
		Channels: []linesim.Channel{{ID: devstack.DefaultChannel, Secret: "kill-test-secret", Bots: bots, StaticTokens: []string{devstack.DefaultToken}}},
		// Slow LINE down so the kill lands mid-run with requests in flight.
		Faults: map[string]linesim.Faults{"push": {LatencyMean: 15 * time.Millisecond, LatencyJitter: 10 * time.Millisecond, AcceptThenFailRatio: 0.05}},
	}, "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	simAPI := linesim.NewClient(sim.AdminURL())

	cfgPath := filepath.Join(t.TempDir(), "dispatcher.yaml")
	cfg := fmt.Sprintf(`log: {level: warn}
http: {addr: "-"}
nats: {url: %q, partitions: 4}
line:
  baseURL: %q
  botHeader: %s
  channels: [{id: %q, token: %q}]
ownership: {ttl: 1s}
dispatch:
  ackWait: 2s
  senders: 16
  retry: {initialInterval: 20ms, maxInterval: 200ms}
`, nats.URL(), sim.URL(), linesim.DefaultBotHeader, devstack.DefaultChannel, devstack.DefaultToken)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd := exec.CommandContext(ctx, bin, "run", "--config", cfgPath)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}

	const n = 1500
	ins := make([]*intent.Intent, n)
	for i := range ins {
		in, err := intent.New(devstack.DefaultChannel, bots[i%len(bots)], intent.Push, map[string]any{
			"to":       fmt.Sprintf("U%032x", 0x7000+i),
			"messages": []any{map[string]any{"type": "text", "text": fmt.Sprintf("kill test #%d", i)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ins[i] = in
	}
	if _, err := intent.PublishBatch(ctx, nats.JS, ins); err != nil {
		t.Fatal(err)
	}

	first := start()
	if err := devstack.WaitOutcomes(ctx, nats.JS, n/4); err != nil {
		t.Fatal(err)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	killedAt, _ := devstack.CountOutcomes(ctx, nats.JS)
	t.Logf("killed the first pod after %d of %d outcomes", killedAt, n)

	second := start()
	t.Cleanup(func() {
		_ = second.Process.Signal(syscall.SIGTERM)
		_ = second.Wait()
	})
	if err := devstack.WaitOutcomes(ctx, nats.JS, n); err != nil {
		t.Fatal(err)
	}
	all, err := devstack.ReadOutcomes(ctx, nats.JS)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := simAPI.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if killedAt >= n {
		t.Fatalf("the first pod finished everything (%d) before the kill: the test proves nothing", killedAt)
	}
	s := assertExactlyOnce(t, n, all, rep)
	t.Logf("after the kill: %d sent, %d via 409, linesim accepted %d, duplicates %d", s.Sent, s.SentVia409, rep.Totals.Accepted, rep.DuplicateDeliveries)
}
