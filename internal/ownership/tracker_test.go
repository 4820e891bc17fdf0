package ownership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/logtest"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
)

// testPartitions is the partition count of the tracker tests.
const testPartitions = 64

// fastConfig is a small-TTL configuration: TTL 1s, heartbeat 333ms.
func fastConfig(settle time.Duration) Config {
	return Config{TTL: time.Second, Settle: settle}
}

func testLogger(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Timestamp().Logger()
}

// start starts a tracker that lives until the test ends.
func start(t *testing.T, js jetstream.JetStream, pod string, cfg Config) *Tracker {
	t.Helper()
	tr, err := Start(context.Background(), js, testPartitions, pod, cfg, testLogger(t))
	if err != nil {
		t.Fatalf("start %s: %v", pod, err)
	}
	t.Cleanup(tr.Stop)
	return tr
}

// eventually polls cond until it holds or within passes, and returns how
// long it took.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	begin := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s: not within %s", what, within)
		}
	}
	return time.Since(begin)
}

// converged reports whether every tracker sees exactly members, owns what
// Assign gives it, and the owned sets are disjoint and cover all partitions.
func converged(trackers []*Tracker, members []string) bool {
	want := distinct(members)
	cover := make([]int, testPartitions)
	for _, tr := range trackers {
		a := tr.Current()
		if !slices.Equal(a.Members, want) || !slices.Equal(a.Owned, Assign(testPartitions, want)[tr.pod]) {
			return false
		}
		for _, p := range a.Owned {
			cover[p]++
		}
	}
	for _, n := range cover {
		if n != 1 {
			return false
		}
	}
	return true
}

func podsOf(trackers []*Tracker) []string {
	var out []string
	for _, tr := range trackers {
		out = append(out, tr.pod)
	}
	return out
}

// drain empties a tracker's Updates without blocking and returns the last
// value (ok false if there was none).
func drain(tr *Tracker) (last Assignment, ok bool) {
	for {
		select {
		case a, open := <-tr.Updates():
			if !open {
				return last, ok
			}
			last, ok = a, true
		default:
			return last, ok
		}
	}
}

// startAll starts pods concurrently, as a deployment's pods start.
func startAll(t *testing.T, js jetstream.JetStream, pods []string, cfg Config) []*Tracker {
	t.Helper()
	out := make([]*Tracker, len(pods))
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i, pod := range pods {
		wg.Go(func() {
			out[i], errs[i] = Start(context.Background(), js, testPartitions, pod, cfg, testLogger(t))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %s: %v", pods[i], err)
		}
		t.Cleanup(out[i].Stop)
	}
	return out
}

func TestTrackersConvergeTogether(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("%d pods", n), func(t *testing.T) {
			c := queuetest.Start(t)
			pods := names("linedispatch-", n)
			cfg := fastConfig(DefaultSettle)
			begin := time.Now()
			trackers := startAll(t, c.JS, pods, cfg)
			took := eventually(t, 5*time.Second, "trackers converge", func() bool { return converged(trackers, pods) })
			t.Logf("%d pods started together: disjoint, complete assignment %s after the starts (starts took %s)", n, took, time.Since(begin)-took)
			for _, tr := range trackers {
				a := catchUp(t, tr)
				// The burst of registrations is coalesced: the initial
				// assignment already has every pod, and nothing follows.
				if a.Epoch != 1 || !slices.Equal(a.Gained, a.Owned) || a.Lost != nil {
					t.Errorf("%s: first update %+v, want epoch 1 gaining everything it owns", tr.pod, a)
				}
			}
		})
	}
}

// startConverged starts pods one after the other and waits until they agree;
// their Updates are drained.
func startConverged(t *testing.T, js jetstream.JetStream, pods []string, cfg Config) []*Tracker {
	t.Helper()
	var trackers []*Tracker
	for _, pod := range pods {
		trackers = append(trackers, start(t, js, pod, cfg))
	}
	eventually(t, 5*time.Second, "trackers converge", func() bool { return converged(trackers, pods) })
	for _, tr := range trackers {
		catchUp(t, tr)
	}
	return trackers
}

// catchUp reads tr's Updates until the reader has seen the current
// assignment (Current is set just before the value is offered on Updates).
func catchUp(t *testing.T, tr *Tracker) Assignment {
	t.Helper()
	var last Assignment
	eventually(t, time.Second, tr.pod+" updates caught up", func() bool {
		if a, ok := drain(tr); ok {
			last = a
		}
		return last.Epoch == tr.Current().Epoch
	})
	return last
}

// A join hands over exactly the partitions whose owner Assign changes: the
// newcomer's quota and, where the bound bites differently, a few between the
// others. Every old pod's update says what it gained and lost.
func TestJoinHandsOverTheMovedPartitions(t *testing.T) {
	c := queuetest.Start(t)
	cfg := fastConfig(200 * time.Millisecond)
	pods := names("linedispatch-", 4)
	old := startConverged(t, c.JS, pods[:3], cfg)
	before := map[string][]int{}
	for _, tr := range old {
		before[tr.pod] = tr.Current().Owned
	}

	begin := time.Now()
	newcomer := start(t, c.JS, pods[3], cfg)
	all := append(slices.Clone(old), newcomer)
	eventually(t, 5*time.Second, "4 trackers converge", func() bool { return converged(all, pods) })
	took := time.Since(begin)
	t.Logf("join: all 4 pods agree %s after the 4th called Start (settle %s)", took, cfg.Settle)
	if took > cfg.Settle+time.Second {
		t.Errorf("join took %s, want about Settle (%s)", took, cfg.Settle)
	}

	after := Assign(testPartitions, pods)
	gained := slices.Clone(newcomer.Current().Owned)
	for _, tr := range old {
		a := catchUp(t, tr)
		want := after[tr.pod]
		if g, l := diff(want, before[tr.pod]), diff(before[tr.pod], want); !slices.Equal(a.Gained, g) || !slices.Equal(a.Lost, l) {
			t.Errorf("%s: gained %v and lost %v, want %v and %v", tr.pod, a.Gained, a.Lost, g, l)
		}
		gained = append(gained, a.Gained...)
	}
	slices.Sort(gained)
	mv := moved(testPartitions, pods[:3], pods)
	want := slices.Sorted(maps.Keys(mv))
	if !slices.Equal(gained, want) {
		t.Errorf("the pods gained %v, Assign moves %v", gained, want)
	}
	if n := len(newcomer.Current().Owned); n != testPartitions/4 {
		t.Errorf("the 4th pod owns %d, want its quota %d", n, testPartitions/4)
	}
	t.Logf("the 4th pod took %d of %d partitions; %d moved in all", testPartitions/4, testPartitions, len(mv))
}

func TestLeaveHandsOverWithinSettle(t *testing.T) {
	c := queuetest.Start(t)
	cfg := fastConfig(200 * time.Millisecond)
	pods := names("linedispatch-", 3)
	trackers := startConverged(t, c.JS, pods, cfg)
	leaver := trackers[2]
	had := leaver.Current().Owned

	begin := time.Now()
	if err := leaver.Leave(context.Background()); err != nil {
		t.Fatalf("leave: %v", err)
	}
	took := eventually(t, cfg.Settle+2*time.Second, "the others own everything", func() bool { return converged(trackers[:2], pods[:2]) })
	took = time.Since(begin) // including Leave itself
	t.Logf("leave: the 2 remaining pods own all %d partitions %s after Leave was called (settle %s)", testPartitions, took, cfg.Settle)
	if took > cfg.Settle+500*time.Millisecond {
		t.Errorf("hand-over after Leave took %s, want within Settle + 500ms", took)
	}

	// The leaver's last update gives everything up, then Updates closes.
	last, ok := drain(leaver)
	if !ok || len(last.Owned) != 0 || !slices.Equal(last.Lost, had) || !slices.Equal(last.Members, pods[:2]) {
		t.Errorf("leaver's last update = %+v (ok %v), want owning nothing, lost %v", last, ok, had)
	}
	if _, open := <-leaver.Updates(); open {
		t.Error("Updates still open after Leave")
	}
	if _, err := jsKV(t, c.JS).Get(context.Background(), pods[2]); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("leaver's key after Leave: %v, want not found", err)
	}
	if err := leaver.Leave(context.Background()); err != nil {
		t.Errorf("second Leave: %v", err)
	}
}

func jsKV(t *testing.T, js jetstream.JetStream) jetstream.KeyValue {
	t.Helper()
	kv, err := js.KeyValue(context.Background(), DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func TestCrashedPodExpiresAfterTTL(t *testing.T) {
	c := queuetest.Start(t)
	cfg := fastConfig(200 * time.Millisecond).WithDefaults()
	pods := names("linedispatch-", 3)
	trackers := startConverged(t, c.JS, pods, cfg)

	begin := time.Now()
	trackers[2].Stop() // like kill -9: no goodbye, the key stays until its TTL
	bound := cfg.TTL + cfg.Heartbeat + cfg.Settle
	eventually(t, bound+2*time.Second, "the others own everything", func() bool { return converged(trackers[:2], pods[:2]) })
	took := time.Since(begin)
	t.Logf("crash: the 2 remaining pods own all partitions %s after the 3rd stopped heartbeating (TTL %s + heartbeat %s + settle %s = %s)",
		took, cfg.TTL, cfg.Heartbeat, cfg.Settle, bound)
	if took > bound+500*time.Millisecond {
		t.Errorf("took %s, want within TTL + Heartbeat + Settle (%s) + 500ms", took, bound)
	}
	// Its last heartbeat was at most one Heartbeat before it stopped, so
	// the others must not have given up on it much before TTL - Heartbeat.
	if early := cfg.TTL - cfg.Heartbeat - 100*time.Millisecond; took < early {
		t.Errorf("took %s: the member was dropped before its TTL could have passed (%s)", took, early)
	}
}

func TestDuplicatePodIDRefused(t *testing.T) {
	c := queuetest.Start(t)
	cfg := fastConfig(200 * time.Millisecond)
	first := start(t, c.JS, "linedispatch-0", cfg)
	before := first.Current()

	begin := time.Now()
	_, err := Start(context.Background(), c.JS, testPartitions, "linedispatch-0", cfg, testLogger(t))
	if !errors.Is(err, ErrDuplicateMember) {
		t.Fatalf("second Start: %v, want ErrDuplicateMember", err)
	}
	refused := time.Now()
	t.Logf("duplicate refused after %s: %v", refused.Sub(begin), err)
	if took := refused.Sub(begin); took > cfg.WithDefaults().Heartbeat+time.Second {
		t.Errorf("refusal took %s", took)
	}

	// The first pod is untouched: still registered under its own instance.
	kv := jsKV(t, c.JS)
	eventually(t, 2*time.Second, "first pod heartbeats on", func() bool {
		e, err := kv.Get(context.Background(), "linedispatch-0")
		if err != nil {
			return false
		}
		rec, _ := decodeRecord(e.Value())
		return rec.Instance == first.instance && rec.HeartbeatAt.After(refused)
	})
	if first.Err() != nil || first.Current().Epoch != before.Epoch {
		t.Errorf("first pod disturbed: err %v, assignment %+v", first.Err(), first.Current())
	}
}

func TestRestartUnderTheSameNameAfterCrash(t *testing.T) {
	c := queuetest.Start(t)
	cfg := fastConfig(200 * time.Millisecond)
	first := start(t, c.JS, "linedispatch-0", cfg)
	first.Stop() // kill -9: the key stays until it expires

	begin := time.Now()
	again, err := Start(context.Background(), c.JS, testPartitions, "linedispatch-0", cfg, testLogger(t))
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Cleanup(again.Stop)
	took := time.Since(begin)
	t.Logf("restart under the same name waited %s for the old key to expire (TTL %s)", took, cfg.TTL)
	if took > cfg.TTL+cfg.Settle+time.Second {
		t.Errorf("restart took %s", took)
	}
	if got := again.Current().Owned; len(got) != testPartitions {
		t.Errorf("restarted pod owns %d partitions, want all", len(got))
	}
}

func TestOwnKeyRemovedRegistersAgain(t *testing.T) {
	c := queuetest.Start(t)
	cfg := fastConfig(DefaultSettle)
	pods := names("linedispatch-", 2)
	trackers := startConverged(t, c.JS, pods, cfg)
	kv := jsKV(t, c.JS)
	epochs := []uint64{trackers[0].Current().Epoch, trackers[1].Current().Epoch}

	if err := kv.Delete(context.Background(), pods[0]); err != nil {
		t.Fatal(err)
	}
	took := eventually(t, 2*time.Second, "key registered again", func() bool {
		e, err := kv.Get(context.Background(), pods[0])
		if err != nil {
			return false
		}
		rec, _ := decodeRecord(e.Value())
		return rec.Instance == trackers[0].instance
	})
	t.Logf("own key deleted: registered again after %s", took)
	// The blip is shorter than Settle: nobody reassigns.
	select {
	case a := <-trackers[1].Updates():
		t.Errorf("%s reassigned after a blip: %+v", pods[1], a)
	case a := <-trackers[0].Updates():
		t.Errorf("%s reassigned after a blip: %+v", pods[0], a)
	case <-time.After(cfg.Settle + 300*time.Millisecond):
	}
	if trackers[0].Current().Epoch != epochs[0] || trackers[1].Current().Epoch != epochs[1] {
		t.Error("epochs changed")
	}
}

// A NATS outage longer than the TTL changes nothing: the pods keep their
// partitions while NATS is away, and afterwards they register again and
// follow joins as before.
func TestKeepsAssignmentThroughNATSOutage(t *testing.T) {
	c := queuetest.Start(t)
	cfg := fastConfig(DefaultSettle).WithDefaults()
	pods := names("linedispatch-", 2)
	trackers := startConverged(t, c.JS, pods, cfg)
	owned := [][]int{trackers[0].Current().Owned, trackers[1].Current().Owned}
	epochs := []uint64{trackers[0].Current().Epoch, trackers[1].Current().Epoch}

	u, err := url.Parse(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	c.Embedded().Shutdown()
	c.Embedded().WaitForShutdown()
	outage := cfg.TTL + cfg.Heartbeat + cfg.Settle + 500*time.Millisecond
	select {
	case a := <-trackers[0].Updates():
		t.Fatalf("reassigned while NATS was away: %+v", a)
	case a := <-trackers[1].Updates():
		t.Fatalf("reassigned while NATS was away: %+v", a)
	case <-time.After(outage):
	}

	srv, err := queue.StartEmbedded(c.Config().DataDir, u.Host)
	if err != nil {
		t.Fatalf("restart nats: %v", err)
	}
	t.Cleanup(func() {
		for _, tr := range trackers {
			tr.Stop()
		}
		c.NC.Close()
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	begin := time.Now()
	kv := jsKV(t, c.JS)
	took := eventually(t, 10*time.Second, "both pods heartbeat again", func() bool {
		for _, tr := range trackers {
			e, err := kv.Get(context.Background(), tr.pod)
			if err != nil {
				return false
			}
			if rec, _ := decodeRecord(e.Value()); rec.Instance != tr.instance || rec.HeartbeatAt.Before(begin) {
				return false
			}
		}
		return true
	})
	t.Logf("after a %s outage: both pods heartbeat again %s after NATS came back", outage, took)
	for i, tr := range trackers {
		if got := tr.Current().Owned; !slices.Equal(got, owned[i]) {
			t.Errorf("%s owns %v after the outage, had %v", tr.pod, got, owned[i])
		}
	}

	// The watches work again: a new pod is seen by both.
	third := start(t, c.JS, "linedispatch-2", cfg)
	all := append(slices.Clone(trackers), third)
	took = eventually(t, 15*time.Second, "3 trackers converge", func() bool { return converged(all, podsOf(all)) })
	t.Logf("after the outage a joining pod was seen by all %s after its start (%s after NATS came back)", took, time.Since(begin))
	// One reassignment each (the join), none for the outage.
	for i, tr := range trackers {
		if got := tr.Current().Epoch; got != epochs[i]+1 {
			t.Errorf("%s: epoch %d, want %d (only the join reassigns)", tr.pod, got, epochs[i]+1)
		}
	}
}

// Updates holds one value; a slow reader gets the latest, with Gained and
// Lost relative to the value it read before.
func TestUpdatesCoalesce(t *testing.T) {
	tr := &Tracker{partitions: 8, pod: "a", updates: make(chan Assignment, 1), log: zerolog.Nop()}
	tr.publish([]string{"a"}) // all 8
	first := <-tr.Updates()
	if first.Epoch != 1 || len(first.Gained) != 8 || len(first.Owned) != 8 {
		t.Fatalf("first = %+v", first)
	}
	tr.publish([]string{"a", "b"})
	tr.publish([]string{"a", "b", "c"})
	tr.publish([]string{"a", "c"})
	got := <-tr.Updates()
	want := Assign(8, []string{"a", "c"})["a"]
	if got.Epoch != 4 || !slices.Equal(got.Owned, want) || got.Gained != nil || !slices.Equal(got.Lost, diff(first.Owned, want)) {
		t.Errorf("coalesced = %+v, want epoch 4 owning %v, losing %v", got, want, diff(first.Owned, want))
	}
	// Current is relative to the previous assignment.
	cur := tr.Current()
	if !slices.Equal(cur.Gained, diff(want, Assign(8, []string{"a", "b", "c"})["a"])) {
		t.Errorf("Current = %+v", cur)
	}
	select {
	case a := <-tr.Updates():
		t.Errorf("extra value %+v", a)
	default:
	}
}

func TestStartValidates(t *testing.T) {
	c := queuetest.Start(t)
	ctx := context.Background()
	for _, c2 := range []struct {
		name       string
		partitions int
		pod        string
		cfg        Config
	}{
		{"bad pod id", 64, "a b", Config{}},
		{"no partitions", 0, "a", Config{}},
		{"bad config", 64, "a", Config{TTL: time.Millisecond}},
	} {
		t.Run(c2.name, func(t *testing.T) {
			if tr, err := Start(ctx, c.JS, c2.partitions, c2.pod, c2.cfg, zerolog.Nop()); err == nil {
				tr.Stop()
				t.Error("no error")
			}
		})
	}
}

// Expiry does not depend on the server's markers alone: a member key that
// never expires on the server (written without a TTL, as by a server
// without per-message TTLs, or a marker missed while disconnected) is
// dropped once its heartbeat is older than its TTL, measured against our
// own heartbeats on the server's clock.
func TestSilentMemberSweptWithoutMarker(t *testing.T) {
	c := queuetest.Start(t)
	cfg := fastConfig(200 * time.Millisecond).WithDefaults()
	tr := start(t, c.JS, "linedispatch-0", cfg)
	kv := jsKV(t, c.JS)
	ghost := `{"id":"ghost","instance":"feed","ttlMs":1000,"version":1}`
	if _, err := kv.Put(context.Background(), "ghost", []byte(ghost)); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	eventually(t, 2*time.Second, "ghost seen", func() bool {
		return slices.Equal(tr.Current().Members, []string{"ghost", "linedispatch-0"})
	})
	eventually(t, 3*time.Second, "ghost swept", func() bool {
		return slices.Equal(tr.Current().Members, []string{"linedispatch-0"})
	})
	took := time.Since(begin)
	t.Logf("a member key without TTL was dropped %s after its only heartbeat (TTL %s + heartbeat %s + settle %s)", took, cfg.TTL, cfg.Heartbeat, cfg.Settle)
	if took > cfg.TTL+cfg.Heartbeat+cfg.Settle+500*time.Millisecond {
		t.Errorf("took %s", took)
	}
	if _, err := kv.Get(context.Background(), "ghost"); err != nil {
		t.Errorf("the key itself stays (only the view drops it): %v", err)
	}
}

// A rolling upgrade from version 1 (plain rendezvous): while a member of
// version 1 is alive, every pod assigns by version 1, so old and new pods
// agree; when that pod comes back as version 2 under the same name (a
// StatefulSet's rolling update), the names stay and the version changes.
func TestRollingUpgradeAssignsByTheLowestVersion(t *testing.T) {
	c := queuetest.Start(t)
	var logs logtest.Buffer
	ctx := context.Background()
	cfg := fastConfig(200 * time.Millisecond)
	pods := names("linedispatch-", 3)
	tr, err := Start(ctx, c.JS, testPartitions, pods[0], cfg, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	other := start(t, c.JS, pods[1], cfg)
	if reflect.DeepEqual(AssignVersion(1, testPartitions, pods), Assign(testPartitions, pods)) {
		t.Fatal("versions 1 and 2 agree for these names: the test would prove nothing")
	}
	// pods[2] runs version 1: a record as its heartbeat writes it.
	put := func(version int) {
		t.Helper()
		rec, err := json.Marshal(memberRecord{ID: pods[2], Instance: fmt.Sprint("v", version), StartedAt: time.Now(), HeartbeatAt: time.Now(),
			TTLMillis: 10_000, Partitions: testPartitions, Version: version})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jsKV(t, c.JS).Put(ctx, pods[2], rec); err != nil {
			t.Fatal(err)
		}
	}
	assignedBy := func(version int) bool {
		want := AssignVersion(version, testPartitions, pods)
		for _, x := range []*Tracker{tr, other} {
			a := x.Current()
			if a.Version != version || !slices.Equal(a.Members, pods) || !slices.Equal(a.Owned, want[x.pod]) {
				return false
			}
		}
		return true
	}
	put(1)
	eventually(t, 5*time.Second, "both new pods assign by version 1", func() bool { return assignedBy(1) })
	if out := logs.String(); !strings.Contains(out, "another protocol version") || !strings.Contains(out, `"member":"`+pods[2]+`"`) {
		t.Errorf("no warning naming the version-1 pod in the log:\n%s", out)
	}
	put(2)
	eventually(t, 5*time.Second, "all assign by version 2 once the old pod restarted as version 2", func() bool { return assignedBy(2) })
}
