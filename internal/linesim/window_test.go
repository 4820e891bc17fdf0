package linesim

import (
	"context"
	"testing"
	"time"
)

func TestWindowBoundary(t *testing.T) {
	t.Parallel()
	ms := int64(time.Millisecond)
	type step struct {
		at       int64 // ms
		wantN    int
		wantOver bool
	}
	tests := []struct {
		name  string
		limit Limit
		steps []step
	}{
		{"at the limit, then one more", Limit{5, 200 * time.Millisecond}, []step{
			{0, 1, false}, {0, 2, false}, {0, 3, false}, {0, 4, false}, {0, 5, false}, {0, 6, true},
		}},
		{"just inside the period, then exactly at it", Limit{5, 200 * time.Millisecond}, []step{
			{0, 1, false}, {0, 2, false}, {0, 3, false}, {0, 4, false}, {0, 5, false},
			{199, 6, true},  // (t-200ms, t] still holds all of them
			{200, 2, false}, // the five at 0 left the window; the 429 at 199 counts
		}},
		{"spread evenly stays under", Limit{2, 100 * time.Millisecond}, []step{
			{0, 1, false}, {50, 2, false}, {100, 2, false}, {150, 2, false}, {200, 2, false},
		}},
		{"rejected requests count", Limit{2, 100 * time.Millisecond}, []step{
			{0, 1, false}, {10, 2, false}, {20, 3, true}, {30, 4, true}, {105, 4, true}, {131, 2, false},
		}},
		{"clock never goes backwards", Limit{2, 100 * time.Millisecond}, []step{
			{100, 1, false}, {50, 2, false}, {0, 3, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindow(tt.limit)
			max := 0
			for i, s := range tt.steps {
				n, over := w.add(s.at * ms)
				if n != s.wantN || over != s.wantOver {
					t.Fatalf("step %d at %dms: in window %d over %v; want %d %v", i, s.at, n, over, s.wantN, s.wantOver)
				}
				if n > max {
					max = n
				}
			}
			if w.max != max {
				t.Fatalf("max %d, want %d", w.max, max)
			}
		})
	}
}

func TestWindowMemoryIsBounded(t *testing.T) {
	t.Parallel()
	w := newWindow(Limit{3, time.Second})
	for i := 0; i < 100; i++ {
		n, over := w.add(0)
		if i >= 3 && !over {
			t.Fatalf("request %d not over the limit (in window %d)", i, n)
		}
	}
	if len(w.buf) > windowCap(3) || w.max != windowCap(3) || !w.capped {
		t.Fatalf("buf %d max %d capped %v; want bound %d", len(w.buf), w.max, w.capped, windowCap(3))
	}
	if windowCap(2000) != 4000 || windowCap(50000) != 60000 {
		t.Fatalf("windowCap: %d %d", windowCap(2000), windowCap(50000))
	}
}

func TestSlidingWindowHTTP(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) { c.Limits = map[string]Limit{EPPush: {5, 200 * time.Millisecond}} })
	steps := []struct {
		advance time.Duration
		key     string
		want    int
	}{
		{0, "", 200}, {0, "", 200}, {0, "", 200}, {0, "", 200}, {0, "", 200},
		{0, retryKey1, 429},                      // 6th in the window: throttled, key not consumed
		{199 * time.Millisecond, retryKey1, 429}, // the window (t-200ms, t] still holds all of them
		{1 * time.Millisecond, retryKey1, 200},   // exactly one period later: room again, same key works
		{0, retryKey1, 409},                      // 3rd in the window
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		text := "hello " + itoa(i)
		if s.key != "" {
			text = "keyed"
		}
		r := e.push(pushBody(userU, text), s.key)
		wantStatus(t, r, s.want)
		if s.want == 429 && r.message(t) != "Too Many Requests" {
			t.Fatalf("429 body %s", r.body)
		}
	}
	ks := e.key(botA, EPPush)
	if ks.Received != 9 || ks.Accepted != 6 || ks.Throttled != 2 || ks.Violations != 2 || ks.Conflicts != 1 {
		t.Fatalf("stats %+v", ks)
	}
	if ks.MaxInWindow != 7 || ks.Limit.String() != "5/200ms" {
		t.Fatalf("MaxInWindow %d limit %v", ks.MaxInWindow, ks.Limit)
	}
	if got := e.sim.Deliveries(userU); got != ks.Accepted {
		t.Fatalf("deliveries %d, accepted %d: a throttled request delivered", got, ks.Accepted)
	}
}

func TestWindowCountsEveryRequest(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) { c.Limits = map[string]Limit{EPPush: {2, time.Second}} })
	wantStatus(t, e.push(`{"to":"bad"}`, ""), 400)
	wantStatus(t, e.push(pushBody(userU, "x"), "not-a-uuid"), 400)
	wantStatus(t, e.push(pushBody(userU, "x"), ""), 429)
	ks := e.key(botA, EPPush)
	if ks.Received != 3 || ks.Throttled != 1 || ks.Violations != 1 || ks.Accepted != 0 || ks.Status["400"] != 2 {
		t.Fatalf("stats %+v", ks)
	}
}

func TestWindowsArePerKey(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) {
		c.Limits = map[string]Limit{EPPush: {1, time.Second}, EPMulticast: {1, time.Second}}
	})
	wantStatus(t, e.push(pushBody(userU, "a"), ""), 200)
	wantStatus(t, e.push(pushBody(userU, "b"), ""), 429)
	wantStatus(t, e.do(req{path: "/v2/bot/message/push", body: pushBody(userU, "c"), bot: botB}), 200)
	wantStatus(t, e.do(req{path: "/v2/bot/message/multicast", body: multicastBody([]string{userU}, "d")}), 200)
	r := e.report()
	if len(r.Keys) != 3 || r.Totals.Throttled != 1 || r.Totals.Violations != 1 || r.Totals.Accepted != 3 {
		t.Fatalf("report keys %+v totals %+v", r.Keys, r.Totals)
	}
}

func TestPeriodScale(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) { c.PeriodScale = 0.001 }) // 60/1h played as 60 per 3.6 s
	body := `{` + textMessages("news") + `}`
	for i := 0; i < 60; i++ {
		wantStatus(t, e.do(req{path: "/v2/bot/message/broadcast", body: `{` + textMessages("news "+itoa(i)) + `}`}), 200)
	}
	wantStatus(t, e.do(req{path: "/v2/bot/message/broadcast", body: body}), 429)
	e.clock.Advance(3600 * time.Millisecond)
	wantStatus(t, e.do(req{path: "/v2/bot/message/broadcast", body: body}), 200)
	ks, err := e.cli.Key(context.Background(), testChannel, botA, EPBroadcast)
	if err != nil || ks.Limit.String() != "60/3.6s" || ks.MaxInWindow != 61 {
		t.Fatalf("key %+v %v", ks, err)
	}
}
