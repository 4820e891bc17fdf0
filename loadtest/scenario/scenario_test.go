package scenario

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error

	natsOnce sync.Once
	natsDir  string
	natsPath string
	natsErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	if natsDir != "" {
		_ = os.RemoveAll(natsDir)
	}
	os.Exit(code)
}

// dispatcherBinary builds ./cmd/dispatcher once per test binary.
func dispatcherBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "linedispatch-scenario-test-bin-")
		if binErr != nil {
			return
		}
		binPath, binErr = BuildDispatcher(context.Background(), binDir)
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// natsServerBinary builds nats-server (go.mod's version) once per test
// binary.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	natsOnce.Do(func() {
		natsDir, natsErr = os.MkdirTemp("", "linedispatch-scenario-test-nats-")
		if natsErr != nil {
			return
		}
		natsPath, natsErr = BuildNATSServer(context.Background(), natsDir)
	})
	if natsErr != nil {
		t.Fatal(natsErr)
	}
	return natsPath
}

// testLog turns progress lines into t.Log lines.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestScenarios runs the short variant of every scenario and fails with the
// report's failed checks. CI runs it without the race detector:
//
//	go test -count=1 -run Scenarios ./loadtest/...
//
// SCENARIO_REPORT_DIR, when set, receives each JSON report.
func TestScenarios(t *testing.T) {
	if raceEnabled {
		t.Skip("scenario tests measure rates and latencies; run them without -race: go test -run Scenarios ./loadtest/...")
	}
	bin, natsBin := dispatcherBinary(t), natsServerBinary(t)
	for _, sc := range All() {
		t.Run(sc.Name, func(t *testing.T) {
			// NATSServer: the single-node scenarios run on a nats-server
			// process (Process), the cluster ones on three.
			opts := Options{Short: true, Bin: bin, NATSServer: natsBin, Progress: testLog{t}}
			r := Run(context.Background(), sc, opts)
			var sum strings.Builder
			r.WriteSummary(&sum)
			t.Log("\n" + sum.String())
			if dir := os.Getenv("SCENARIO_REPORT_DIR"); dir != "" {
				if b, err := MarshalJSON(r); err == nil {
					_ = os.MkdirAll(dir, 0o755)
					_ = os.WriteFile(filepath.Join(dir, sc.Name+".json"), b, 0o644)
				}
			}
			if r.Error != "" {
				t.Fatalf("scenario %s did not complete: %s", sc.Name, r.Error)
			}
			for _, c := range r.Failed {
				if ciHardChecks[c.Name] {
					t.Errorf("scenario %s: %s", sc.Name, c)
					continue
				}
				// Rate, latency and timing promises depend on a 2-core machine
				// that runs the pods, NATS and the simulator at once; several
				// are not met reliably yet (docs/scenarios.md, "Known gaps").
				// CI reports them; the scenario command fails on them.
				t.Logf("MEASURED BELOW PROMISE (open): scenario %s: %s", sc.Name, c)
			}
		})
	}
}

// ciHardChecks fail the CI run: nothing lost, nothing delivered twice, the
// LINE contract kept, memory bounded, every partition pulled by exactly its
// owner, and a killed pod's keys resuming at all.
var ciHardChecks = map[string]bool{
	"outcomes (distinct intents) == published":       true,
	"duplicate outcomes":                             true,
	"sent == published":                              true,
	"linesim accepted == published":                  true,
	"duplicate deliveries":                           true,
	"contract violations":                            true,
	"pod peak RSS (VmHWM)":                           true,
	"kills done":                                     true,
	"killed pod's keys that never resumed":           true,
	"partitions pulled by exactly one pod":           true,
	"pods pulling exactly the rendezvous assignment": true,
}

// TestPartitionOfMatchesJetStream checks the runner's model of the
// partition transform against a real server.
func TestPartitionOfMatchesJetStream(t *testing.T) {
	opts := Options{Bin: "unused", WorkDir: t.TempDir(), Partitions: 16}
	r := &Report{Scenario: "partition", Params: map[string]any{}}
	h, err := newHarness(opts, r, "partition")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.Begin(ctx, Stack{Bots: 8}); err != nil {
		t.Fatal(err)
	}
	for _, bot := range h.Bots {
		in, err := h.Gen.Push(bot, "p")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.PublishOne(ctx, in); err != nil {
			t.Fatal(err)
		}
		if err := h.confirmPartition(ctx, bot); err != nil {
			t.Error(err)
		}
	}
}
