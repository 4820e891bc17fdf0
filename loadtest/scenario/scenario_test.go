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

// builtBinary is a binary built once per test binary into its own
// temporary directory, removed by TestMain.
type builtBinary struct {
	once  sync.Once
	dir   string
	path  string
	err   error
	build func(ctx context.Context, dir string) (string, error)
}

func (b *builtBinary) get(t *testing.T, prefix string) string {
	t.Helper()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", prefix); b.err == nil {
			b.path, b.err = b.build(context.Background(), b.dir)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

var (
	dispatcherBin = &builtBinary{build: BuildDispatcher}
	natsServerBin = &builtBinary{build: BuildNATSServer}
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, b := range []*builtBinary{dispatcherBin, natsServerBin} {
		if b.dir != "" {
			_ = os.RemoveAll(b.dir)
		}
	}
	os.Exit(code)
}

// dispatcherBinary builds ./cmd/dispatcher once per test binary.
func dispatcherBinary(t *testing.T) string {
	t.Helper()
	return dispatcherBin.get(t, "linedispatch-scenario-test-bin-")
}

// natsServerBinary builds nats-server (go.mod's version) once per test
// binary.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	return natsServerBin.get(t, "linedispatch-scenario-test-nats-")
}

// beginHarness starts a harness's NATS and linesim for a test of the
// runner itself (no pods), with the given partitions and bots; both stop
// when the test ends.
func beginHarness(t *testing.T, name string, partitions, bots int) (*Harness, context.Context) {
	t.Helper()
	opts := Options{Bin: "unused", WorkDir: t.TempDir(), Partitions: partitions}
	h, err := newHarness(opts, &Report{Scenario: name, Params: map[string]any{}}, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	if err := h.Begin(ctx, Stack{Bots: bots}); err != nil {
		t.Fatal(err)
	}
	return h, ctx
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
	h, ctx := beginHarness(t, "partition", 16, 8)
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
