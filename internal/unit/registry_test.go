package unit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
	"github.com/linedispatch/linedispatch/internal/unit"
)

const channel = "1234567890"

var (
	botA = bot(0xa)
	botB = bot(0xb)
	// at is mid-November 2026 in Tokyo.
	at = time.Date(2026, 11, 10, 3, 0, 0, 0, time.UTC)
)

func bot(i int) string { return fmt.Sprintf("U%032x", i) }

// fixture is a registry on a fresh embedded JetStream.
type fixture struct {
	ctx  context.Context
	conn *queue.Conn
	reg  *unit.Registry
	cfg  unit.Config
}

func setup(t *testing.T, cfg unit.Config) *fixture {
	t.Helper()
	c := queuetest.Start(t)
	f := &fixture{ctx: context.Background(), conn: c, cfg: cfg}
	f.reg = f.newRegistry(t, c.JS)
	return f
}

// newRegistry opens another registry on js: another pod's view.
func (f *fixture) newRegistry(t *testing.T, js jetstream.JetStream) *unit.Registry {
	t.Helper()
	r, err := unit.NewRegistry(f.ctx, js, f.cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newPod connects separately to the same server and opens a registry.
func (f *fixture) newPod(t *testing.T) *unit.Registry {
	t.Helper()
	nc, err := nats.Connect(f.conn.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return f.newRegistry(t, js)
}

func (f *fixture) admit(t *testing.T, r *unit.Registry, bot, name string, at time.Time) unit.Decision {
	t.Helper()
	d, err := r.Admit(f.ctx, channel, bot, name, at)
	if err != nil {
		t.Fatalf("Admit(%s, %s): %v", bot, name, err)
	}
	return d
}

// fill registers n distinct names for bot and checks each is attached.
func (f *fixture) fill(t *testing.T, r *unit.Registry, bot string, n int, at time.Time) {
	t.Helper()
	for i := range n {
		d := f.admit(t, r, bot, fmt.Sprintf("unit_%d", i), at)
		if !d.Send || d.Strip || d.Action != unit.ActionAttached || d.Count != i+1 {
			t.Fatalf("name %d: %+v, want attached with count %d", i, d, i+1)
		}
	}
}

func TestCapIsPerBotAndPolicyApplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		policy unit.Policy
		want   unit.Decision
	}{
		{unit.PolicyReject, unit.Decision{Send: false, Action: unit.ActionRejected, Count: 5}},
		{unit.PolicyStrip, unit.Decision{Send: true, Strip: true, Action: unit.ActionStripped, Count: 5}},
		{unit.PolicyAllow, unit.Decision{Send: true, Action: unit.ActionOverCap, Count: 5}},
		{"", unit.Decision{Send: false, Action: unit.ActionRejected, Count: 5}}, // default
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			t.Parallel()
			f := setup(t, unit.Config{Cap: 5, Policy: tt.policy})
			f.fill(t, f.reg, botA, 5, at)
			if got := f.admit(t, f.reg, botA, "one_too_many", at); got != tt.want {
				t.Errorf("6th name: %+v, want %+v", got, tt.want)
			}
			// A registered name still goes, with its name.
			if got := f.admit(t, f.reg, botA, "unit_3", at); !got.Send || got.Action != unit.ActionAttached {
				t.Errorf("known name at the cap: %+v, want attached", got)
			}
			// Another bot of the same channel has its own cap.
			if got := f.admit(t, f.reg, botB, "one_too_many", at); !got.Send || got.Action != unit.ActionAttached || got.Count != 1 {
				t.Errorf("bot B: %+v, want attached with count 1", got)
			}
			// Over-cap names are not registered: LINE does not count them either.
			names, err := f.reg.Names(f.ctx, channel, botA, "2026-11")
			if err != nil {
				t.Fatal(err)
			}
			if len(names) != 5 || slices.Contains(names, "one_too_many") {
				t.Errorf("names = %v, want the first 5 only", names)
			}
		})
	}
}

func TestCapAtLINEsRealLimit(t *testing.T) {
	t.Parallel()
	f := setup(t, unit.Config{})
	f.fill(t, f.reg, botA, unit.DefaultCap, at)
	if got := f.admit(t, f.reg, botA, "name_1001", at); got.Send || got.Action != unit.ActionRejected || got.Count != 1000 {
		t.Errorf("1,001st name: %+v, want rejected at 1000", got)
	}
	if got := f.admit(t, f.reg, botB, "name_1001", at); !got.Send || got.Count != 1 {
		t.Errorf("bot B: %+v, want admitted", got)
	}
	// A new pod (cold cache) agrees with one read.
	other := f.newPod(t)
	if got := f.admit(t, other, botA, "unit_999", at); !got.Send || got.Action != unit.ActionAttached {
		t.Errorf("known name on another pod: %+v", got)
	}
	if got := f.admit(t, other, botA, "name_1002", at); got.Send {
		t.Errorf("new name on another pod: %+v, want rejected", got)
	}
}

func TestKnownNameCostsNoRoundTrip(t *testing.T) {
	t.Parallel()
	f := setup(t, unit.Config{Cap: 5})
	f.admit(t, f.reg, botA, "promo", at)
	before := f.conn.NC.Stats().OutMsgs
	for range 100 {
		f.admit(t, f.reg, botA, "promo", at)
		f.admit(t, f.reg, botA, "", at)
	}
	if after := f.conn.NC.Stats().OutMsgs; after != before {
		t.Errorf("200 admits of a known name or none sent %d NATS messages, want 0", after-before)
	}
}

func TestNamesAreCaseSensitiveAndMonthly(t *testing.T) {
	t.Parallel()
	f := setup(t, unit.Config{Cap: 2})
	lastSecondOct := time.Date(2026, 10, 31, 14, 59, 59, 0, time.UTC) // 23:59:59 Tokyo
	firstSecondNov := time.Date(2026, 10, 31, 15, 0, 0, 0, time.UTC)  // 00:00:00 Tokyo
	tests := []struct {
		name  string
		at    time.Time
		send  bool
		count int
	}{
		{"Promo", lastSecondOct, true, 1},
		{"promo", lastSecondOct, true, 2}, // another name: case matters
		{"PROMO", lastSecondOct, false, 2},
		{"Promo", firstSecondNov, true, 1}, // a new month starts empty
		{"PROMO", firstSecondNov, true, 2},
		{"promo", firstSecondNov, false, 2},
		{"promo", lastSecondOct, true, 2}, // still known in October
	}
	for i, tt := range tests {
		d := f.admit(t, f.reg, botA, tt.name, tt.at)
		if d.Send != tt.send || d.Count != tt.count {
			t.Errorf("step %d: Admit(%s at %s) = %+v, want send=%v count=%d", i, tt.name, tt.at, d, tt.send, tt.count)
		}
	}
	for month, want := range map[string][]string{"2026-10": {"Promo", "promo"}, "2026-11": {"PROMO", "Promo"}} {
		got, err := f.reg.Names(f.ctx, channel, botA, month)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s names = %v, want %v", month, got, want)
		}
	}
}

// TestConcurrentPodsNeverExceedCap races several registries (separate
// connections, separate caches: separate pods) and goroutines on overlapping
// new names. Exactly Cap names win, every admitted name is registered, and
// every pod agrees on each name's fate.
func TestConcurrentPodsNeverExceedCap(t *testing.T) {
	t.Parallel()
	const capacity, pods, workers, names = 10, 4, 4, 40
	f := setup(t, unit.Config{Cap: capacity})
	regs := []*unit.Registry{f.reg}
	for len(regs) < pods {
		regs = append(regs, f.newPod(t))
	}
	var (
		mu       sync.Mutex
		admitted = map[string]bool{}
		wg       sync.WaitGroup
		errs     = make(chan error, pods*workers)
	)
	for p, r := range regs {
		for w := range workers {
			wg.Go(func() {
				for i := range names {
					name := fmt.Sprintf("n%d", (i*7+p*3+w)%names)
					d, err := r.Admit(f.ctx, channel, botA, name, at)
					if err != nil {
						errs <- err
						return
					}
					if d.Count > capacity {
						errs <- fmt.Errorf("count %d over the cap", d.Count)
					}
					mu.Lock()
					if d.Send {
						admitted[name] = true
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := f.reg.Names(f.ctx, channel, botA, "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != capacity {
		t.Errorf("registered %d names, want exactly %d: %v", len(got), capacity, got)
	}
	if len(admitted) != capacity {
		t.Errorf("admitted %d distinct names, want %d", len(admitted), capacity)
	}
	for name := range admitted {
		if !slices.Contains(got, name) {
			t.Errorf("name %s was admitted but is not registered", name)
		}
	}
}

func TestImportIgnoresCapAndReachesOtherPods(t *testing.T) {
	t.Parallel()
	f := setup(t, unit.Config{Cap: 3, FullReread: time.Nanosecond})
	other := f.newPod(t)
	f.fill(t, other, botA, 3, at)
	if d := f.admit(t, other, botA, "from_line", at); d.Send {
		t.Fatalf("over cap before import: %+v", d)
	}
	added, err := f.reg.Import(f.ctx, channel, botA, "2026-11", []string{"from_line", "unit_0", "from_line", "other_tool"}, at)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(added, []string{"from_line", "other_tool"}) {
		t.Errorf("added = %v", added)
	}
	if d := f.admit(t, other, botA, "from_line", at); !d.Send || d.Count != 5 {
		t.Errorf("imported name on the other pod: %+v, want attached, count 5", d)
	}
	if added, err := f.reg.Import(f.ctx, channel, botA, "2026-11", []string{"from_line"}, at); err != nil || added != nil {
		t.Errorf("second import = %v, %v; want nothing added", added, err)
	}
}

func TestInvalidArgumentsNeverReachKV(t *testing.T) {
	t.Parallel()
	f := setup(t, unit.Config{})
	tests := []struct{ name, channel, bot, unit string }{
		{"unit with dot", channel, botA, "a.b"},
		{"unit with wildcard", channel, botA, "*"},
		{"unit too long", channel, botA, "abcdefghijklmnopqrstuvwxyz012345"},
		{"channel", "12a", botA, "promo"},
		{"bot", channel, "U123", "promo"},
		{"bot uppercase hex", channel, "U" + "ABCDEF0123456789ABCDEF0123456789", "promo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.reg.Admit(f.ctx, tt.channel, tt.bot, tt.unit, at)
			if !errors.Is(err, unit.ErrInvalid) {
				t.Errorf("Admit = %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := f.reg.Names(f.ctx, channel, botA, "2026-13"); !errors.Is(err, unit.ErrInvalid) {
		t.Errorf("Names with a bad month = %v, want ErrInvalid", err)
	}
}

func TestRegistryReopensExistingBucket(t *testing.T) {
	t.Parallel()
	f := setup(t, unit.Config{Cap: 2})
	f.fill(t, f.reg, botA, 2, at)
	again := f.newRegistry(t, f.conn.JS) // a restarted pod
	if d := f.admit(t, again, botA, "unit_1", at); !d.Send || d.Count != 2 {
		t.Errorf("after restart, known name: %+v", d)
	}
	if d := f.admit(t, again, botA, "new", at); d.Send {
		t.Errorf("after restart, new name over cap: %+v", d)
	}
}
