package linesim

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		faults    map[string]Faults // set through the admin client
		timeout   time.Duration     // client timeout
		want      int               // 0: the request fails at the transport
		delivered int64
		status    string // the key's status counter that must be 1
		retry     int    // status of an identical retry without faults
	}{
		{"500", map[string]Faults{EPPush: {ErrorRatio: 1}}, 0, 500, 0, "500", 200},
		{"outage on the endpoint", map[string]Faults{EPPush: {Outage: true}}, 0, 500, 0, "500", 200},
		{"star applies", map[string]Faults{"*": {ErrorRatio: 1}}, 0, 500, 0, "500", 200},
		{"endpoint overrides star", map[string]Faults{"*": {ErrorRatio: 1}, EPPush: {LatencyMean: time.Millisecond}}, 0, 200, 1, "200", 409},
		{"other endpoint untouched", map[string]Faults{EPMulticast: {ErrorRatio: 1}}, 0, 200, 1, "200", 409},
		{"reset", map[string]Faults{EPPush: {ResetRatio: 1}}, 0, 0, 0, "reset", 200},
		{"hang past the client timeout", map[string]Faults{EPPush: {HangRatio: 1, HangFor: time.Minute}}, 200 * time.Millisecond, 0, 0, "hang", 200},
		{"accept then 500", map[string]Faults{EPPush: {AcceptThenFailRatio: 1}}, 0, 500, 1, "500", 409},
		{"accept then drop", map[string]Faults{EPPush: {AcceptThenFailRatio: 1, AcceptThenFailMode: ModeDrop}}, 0, 0, 1, "drop", 409},
		{"accept then hang", map[string]Faults{EPPush: {AcceptThenFailRatio: 1, AcceptThenFailMode: ModeHang}}, 200 * time.Millisecond, 0, 1, "hang", 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			ctx := context.Background()
			for ep, f := range tt.faults {
				if err := e.cli.SetFaults(ctx, ep, f); err != nil {
					t.Fatal(err)
				}
			}
			if tt.timeout > 0 {
				e.hc.Timeout = tt.timeout
			}
			body := pushBody(userU, "fault "+tt.name)
			r := e.push(body, retryKey1)
			if tt.want == 0 {
				if r.err == nil {
					t.Fatalf("got %d, want a transport error", r.status)
				}
			} else {
				wantStatus(t, r, tt.want)
			}
			waitFor(t, "the status counter "+tt.status, func() bool { return e.key(botA, EPPush).Status[tt.status] == 1 })
			ks := e.key(botA, EPPush)
			if ks.Accepted != tt.delivered || e.sim.Deliveries(userU) != tt.delivered {
				t.Fatalf("accepted %d deliveries %d, want %d", ks.Accepted, e.sim.Deliveries(userU), tt.delivered)
			}
			failedBefore := int64(1) - tt.delivered
			if tt.want == 200 {
				failedBefore = 0
			}
			if ks.FaultsInjected != failedBefore || ks.AcceptedThenFailed != tt.delivered-boolInt(tt.want == 200) {
				t.Fatalf("FaultsInjected %d AcceptedThenFailed %d", ks.FaultsInjected, ks.AcceptedThenFailed)
			}
			for ep := range tt.faults {
				if err := e.cli.ClearFaults(ctx, ep); err != nil {
					t.Fatal(err)
				}
			}
			e.hc.Timeout = 10 * time.Second
			retry := e.push(body, retryKey1)
			wantStatus(t, retry, tt.retry)
			if e.sim.Deliveries(userU) != 1 || e.report().DuplicateDeliveries != 0 {
				t.Fatalf("after the retry: deliveries %d duplicates %d", e.sim.Deliveries(userU), e.report().DuplicateDeliveries)
			}
		})
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func TestOutageSwitch(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	tok := e.issueToken()
	if err := e.cli.SetOutage(ctx, true); err != nil {
		t.Fatal(err)
	}
	for _, r := range []req{
		{path: "/v2/bot/message/push", body: pushBody(userU, "o")},
		{path: "/v2/bot/message/multicast", body: multicastBody([]string{userU}, "o")},
		{method: "GET", path: "/v2/bot/info", token: tok},
		{path: "/oauth2/v3/token", token: "-", bot: "-", ctype: "application/x-www-form-urlencoded",
			body: "grant_type=client_credentials&client_id=" + testChannel + "&client_secret=" + testSecret},
	} {
		res := e.do(r)
		wantStatus(t, res, 500)
		if res.message(t) != msgInternal {
			t.Fatalf("%s: body %s", r.path, res.body)
		}
	}
	if e.sim.Deliveries(userU) != 0 || !e.report().Outage {
		t.Fatal("delivered during the outage, or the report misses it")
	}
	if err := e.cli.SetOutage(ctx, false); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.push(pushBody(userU, "o"), ""), 200)
	if got := e.report().Totals.FaultsInjected; got != 4 {
		t.Fatalf("FaultsInjected %d, want 4", got)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) {
		c.Faults = map[string]Faults{EPPush: {LatencyMean: 60 * time.Millisecond, LatencyJitter: 10 * time.Millisecond}}
	})
	start := time.Now()
	wantStatus(t, e.push(pushBody(userU, "slow"), ""), 200)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("answered in %v, want at least 50ms", d)
	}
	for _, dist := range []string{DistUniform, DistNormal, DistExponential} {
		f := Faults{LatencyMean: 10 * time.Millisecond, LatencyJitter: 5 * time.Millisecond, LatencyDist: dist}
		for i := 0; i < 1000; i++ {
			d := f.latency()
			if d < 0 || (dist == DistUniform && (d < 5*time.Millisecond || d > 15*time.Millisecond)) ||
				(dist == DistExponential && d < 10*time.Millisecond) {
				t.Fatalf("%s latency %v", dist, d)
			}
		}
	}
}

func TestFaultRatios(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) {
		c.Faults = map[string]Faults{EPMarkAsRead: {ErrorRatio: 0.5}}
	})
	counts := map[int]int{}
	for i := 0; i < 200; i++ {
		counts[e.do(req{path: "/v2/bot/message/markAsRead", body: `{"chat":{"userId":"` + userU + `"}}`}).status]++
	}
	if counts[200] < 50 || counts[500] < 50 || counts[200]+counts[500] != 200 {
		t.Fatalf("statuses %v for a 0.5 error ratio", counts)
	}
}

func TestSetFaultsErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	for _, tt := range []struct {
		ep string
		f  Faults
	}{
		{"nope", Faults{ErrorRatio: 0.1}},
		{EPPush, Faults{ErrorRatio: 1.1}},
		{EPPush, Faults{AcceptThenFailMode: "explode"}},
		{EPPush, Faults{LatencyMean: -time.Second}},
	} {
		if err := e.cli.SetFaults(ctx, tt.ep, tt.f); err == nil || !strings.Contains(err.Error(), "400") {
			t.Errorf("SetFaults(%s, %+v) = %v, want a 400", tt.ep, tt.f, err)
		}
	}
	if err := e.cli.SetFaults(ctx, EPReply, Faults{ErrorRatio: 0.5}); err != nil {
		t.Fatal(err)
	}
	got, err := e.cli.Faults(ctx)
	if err != nil || len(got) != 1 || got[EPReply].ErrorRatio != 0.5 {
		t.Fatalf("Faults = %+v, %v", got, err)
	}
}

func TestHangEndsWhenServerCloses(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) { c.Faults = map[string]Faults{EPPush: {HangRatio: 1, HangFor: time.Hour}} })
	done := make(chan resp, 1)
	go func() { done <- e.push(pushBody(userU, "h"), "") }()
	waitFor(t, "the hang", func() bool {
		return e.report().Totals.FaultsInjected == 1
	})
	start := time.Now()
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err == nil && r.status != http.StatusInternalServerError {
		t.Fatalf("hung request answered %d", r.status)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v with a hanging request", d)
	}
}

func TestStallPhase(t *testing.T) {
	t.Parallel()
	f := Faults{StallEvery: time.Second, StallFor: 200 * time.Millisecond}
	at := func(ms int64) time.Time { return time.Unix(1_800_000_000, ms*int64(time.Millisecond)) }
	tests := []struct {
		at   time.Time
		want time.Duration
	}{
		{at(0), 200 * time.Millisecond},
		{at(150), 50 * time.Millisecond},
		{at(200), 0},
		{at(999), 0},
		{at(1050), 150 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := f.stall(tt.at); got != tt.want {
			t.Errorf("stall(%v) = %v, want %v", tt.at.Format(time.StampMilli), got, tt.want)
		}
	}
	if got := (Faults{}).stall(at(0)); got != 0 {
		t.Errorf("no stall configured: held %v", got)
	}
}

// TestStallCountsAtRelease: requests that leave spaced within the limit but
// arrive during an ingress stall are counted together when it ends, so the
// one that makes the limit's count + 1 at that instant gets a 429.
func TestStallCountsAtRelease(t *testing.T) {
	t.Parallel()
	const (
		every   = 2 * time.Second
		hold    = 400 * time.Millisecond
		spacing = 100 * time.Millisecond
	)
	e := setup(t, func(c *Config) {
		c.Clock = NewClock()
		c.Limits = map[string]Limit{EPPush: {Count: 2, Period: 150 * time.Millisecond}}
	})
	if err := e.cli.SetFaults(context.Background(), EPPush, Faults{StallEvery: every, StallFor: hold}); err != nil {
		t.Fatal(err)
	}
	// Start just after a stall begins: three requests 100 ms apart (never
	// more than two in 150 ms) all arrive inside it.
	phase := time.Duration(time.Now().UnixNano() % int64(every))
	time.Sleep(every - phase + 10*time.Millisecond)
	release := time.Now().Add(-time.Duration(time.Now().UnixNano() % int64(every))).Add(hold)
	got := make(chan resp, 3)
	for i := range 3 {
		go func() { got <- e.push(pushBody(userU, fmt.Sprintf("stalled %d", i)), "") }()
		time.Sleep(spacing)
	}
	statuses := map[int]int{}
	for range 3 {
		r := <-got
		if r.err != nil {
			t.Fatal(r.err)
		}
		statuses[r.status]++
	}
	if time.Now().Before(release) {
		t.Fatalf("answered before the stall ended at %v", release.Format(time.StampMilli))
	}
	if statuses[200] != 2 || statuses[429] != 1 {
		t.Fatalf("statuses %v, want two 200s and one 429 (all three counted when the stall ended)", statuses)
	}
}
