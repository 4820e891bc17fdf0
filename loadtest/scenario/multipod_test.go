package scenario

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/queue"
)

func TestMaxGapEnding(t *testing.T) {
	s := []int64{0, 1, 2, 10, 11, 20}
	cases := []struct {
		from, to   int64
		gap, start int64
	}{
		{5, 15, 8, 2},          // the pause spanning from counts whole
		{10, 15, 1, 10},        // (10, 15] holds 11 only
		{0, endOfTime, 9, 11},  // 11 → 20
		{12, 19, 0, 0},         // no send ends a pause in (12, 19]
		{-5, 1, 1, 0},          // the first time ends no pause
		{20, endOfTime, 0, 0},  // nothing after the last send
		{2, 10, 8, 2},          // a pause ending exactly at to counts
		{3, endOfTime, 9, 11},  // the longest of several
		{-1, endOfTime, 9, 11}, // all of them
	}
	for _, c := range cases {
		g, st := maxGapEnding(s, c.from, c.to)
		if g != c.gap || st != c.start {
			t.Errorf("maxGapEnding(%d, %d) = %d from %d, want %d from %d", c.from, c.to, g, st, c.gap, c.start)
		}
	}
	if g, _ := maxGapEnding(nil, 0, endOfTime); g != 0 {
		t.Errorf("empty: %d", g)
	}
}

func TestInRangeAndPerSecond(t *testing.T) {
	s := []int64{0, int64(500 * time.Millisecond), int64(time.Second), int64(2500 * time.Millisecond)}
	if got := inRange(s, 1, int64(time.Second)); len(got) != 1 {
		t.Errorf("inRange: %v", got)
	}
	if got := perSecond(s, 0, 3); !slices.Equal(got, []int{2, 1, 1}) {
		t.Errorf("perSecond: %v", got)
	}
	if v, ok := firstAtOrAfter(s, 1); !ok || v != int64(500*time.Millisecond) {
		t.Errorf("firstAtOrAfter: %d %v", v, ok)
	}
	if _, ok := firstAtOrAfter(s, int64(3*time.Second)); ok {
		t.Error("firstAtOrAfter past the end")
	}
}

// TestAssignmentLog checks that the engine's "partition assignment applied"
// lines are recorded and replayed per life of a pod.
func TestAssignmentLog(t *testing.T) {
	p := &Pod{Name: "pod-1"}
	line := func(epoch, members, owned int, gained, lost string) string {
		return `{"level":"info","pod":"pod-1","epoch":` + itoa(epoch) + `,"members":` + itoa(members) + `,"owned":` + itoa(owned) +
			`,"gained":[` + gained + `],"lost":[` + lost + `],"time":"2026-11-22T00:49:57Z","message":"partition assignment applied"}`
	}
	p.logs.add(`{"level":"info","message":"dispatcher running"}`, 1)
	p.logs.add(line(1, 3, 3, "1,2,3", ""), 1)
	p.logs.add(line(2, 2, 5, "7,8", ""), 1)
	mid := time.Now()
	time.Sleep(2 * time.Millisecond)
	p.logs.add(line(3, 3, 4, "", "8"), 1)
	p.logs.add(line(1, 3, 2, "4,5", ""), 2) // restarted
	if n := len(p.Assignments()); n != 4 {
		t.Fatalf("%d assignments, want 4", n)
	}
	if got, last := p.OwnedAt(mid); !slices.Equal(got, []int{1, 2, 3, 7, 8}) || last.Epoch != 2 || last.Members != 2 {
		t.Errorf("OwnedAt(mid) = %v, %+v", got, last)
	}
	if got, last := p.OwnedAt(time.Now()); !slices.Equal(got, []int{4, 5}) || last.Life != 2 {
		t.Errorf("OwnedAt(now) = %v, %+v", got, last)
	}
	if got, last := p.OwnedAt(time.Time{}); len(got) != 0 || last != nil {
		t.Errorf("OwnedAt(zero) = %v, %+v", got, last)
	}
}

func itoa(i int) string { return strings.TrimSpace(fmtNum(float64(i), "")) }

func TestClusterConfig(t *testing.T) {
	c := &ClusterNATS{}
	for i := 0; i < 3; i++ {
		c.nodes = append(c.nodes, &natsNode{index: i, route: 6000 + i,
			natsProc: &natsProc{name: "nats-" + itoa(i+1), dir: "/d/nats-" + itoa(i+1), client: 4000 + i, monitor: 8000 + i}})
	}
	conf := c.config(c.nodes[1])
	for _, want := range []string{"server_name: nats-2", "listen: 127.0.0.1:4001", "http: 127.0.0.1:8001", `store_dir: "/d/nats-2"`,
		"listen: 127.0.0.1:6001", "nats-route://127.0.0.1:6000", "nats-route://127.0.0.1:6002", "max_payload: 4MB"} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	if got, want := c.URL(), "nats://127.0.0.1:4000,nats://127.0.0.1:4001,nats://127.0.0.1:4002"; got != want {
		t.Errorf("URL %q, want %q", got, want)
	}
	if c.Replicas() != 3 {
		t.Error("replicas")
	}
}

// TestClusterNATS starts the 3-node cluster from the nats-server module,
// provisions the R3 streams, kills the meta leader and checks that the
// other two elect a new one and that the node rejoins after a restart.
func TestClusterNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nats-server and starts three servers")
	}
	bin := natsServerBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := StartClusterNATS(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	conn, err := queue.Open(ctx, queue.Config{URL: cl.URL(), Partitions: 4, Replicas: cl.Replicas(), ConnName: "cluster-test"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s, err := conn.JS.Stream(ctx, queue.IntentsStream)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(ctx); err != nil || info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("LINE_INTENTS not R3: %+v %v", info, err)
	}
	leader, err := cl.MetaLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.KillNode(leader); err != nil {
		t.Fatal(err)
	}
	if cl.Running(leader) {
		t.Fatal("killed node still running")
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := cl.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	next, err := cl.MetaLeader(ctx)
	if err != nil || next == leader {
		t.Fatalf("meta leader after the kill: %d (was %d), %v", next, leader, err)
	}
	if err := cl.StartNode(ctx, leader); err != nil {
		t.Fatal(err)
	}
	if err := cl.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	if u := cl.Unexpected(); len(u) > 0 {
		t.Errorf("unexpected exits: %v", u)
	}
}

// TestLoad publishes at a steady rate for a moment and checks that every
// generated intent was acknowledged once and spread over the bots.
func TestLoad(t *testing.T) {
	h, ctx := beginHarness(t, "load", 8, 4)
	l := h.StartLoad(ctx, h.Bots, 400, "t")
	time.Sleep(600 * time.Millisecond)
	if err := l.Stop(); err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if st.Generated < 150 || st.Generated > 400 {
		t.Errorf("generated %d in %.2fs at 400/s", st.Generated, st.Seconds)
	}
	if st.Acked != st.Generated || h.Published() != st.Generated || int(h.Gen.Issued()) != st.Generated {
		t.Errorf("generated %d, acked %d, published %d, issued %d", st.Generated, st.Acked, h.Published(), h.Gen.Issued())
	}
	s, err := h.JS.Stream(ctx, queue.IntentsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int(info.State.Msgs) != st.Generated {
		t.Errorf("stream holds %d, generated %d", info.State.Msgs, st.Generated)
	}
}
