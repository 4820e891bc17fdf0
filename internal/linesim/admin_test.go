package linesim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAdminClient(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) {
		c.Faults = map[string]Faults{EPReply: {ErrorRatio: 0.5}}
		c.Limits = map[string]Limit{EPPush: {100, time.Second}}
	})
	ctx := context.Background()
	if err := e.cli.Healthy(ctx); err != nil {
		t.Fatal(err)
	}
	limits, err := e.cli.Limits(ctx)
	if err != nil || limits[EPPush].String() != "100/1s" || limits[EPNarrowcast].String() != "60/1h" || len(limits) != numEndpoints {
		t.Fatalf("Limits = %v, %v", limits, err)
	}
	now, err := e.cli.Now(ctx)
	if err != nil || !now.Equal(testStart) {
		t.Fatalf("Now = %v, %v", now, err)
	}
	if err := e.cli.AdvanceClock(ctx, 90*time.Minute); err != nil {
		t.Fatal(err)
	}
	if now, _ := e.cli.Now(ctx); !now.Equal(testStart.Add(90 * time.Minute)) {
		t.Fatalf("after AdvanceClock: %v", now)
	}

	tok := e.issueToken()
	wantStatus(t, e.push(pushBody(userU, "before reset"), retryKey1), 200)
	if err := e.cli.SetFaults(ctx, EPPush, Faults{ErrorRatio: 1}); err != nil {
		t.Fatal(err)
	}
	if err := e.cli.SetOutage(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := e.cli.Detach(ctx, testChannel, botB); err != nil {
		t.Fatal(err)
	}
	if err := e.cli.Detach(ctx, testChannel, botB); err == nil {
		t.Fatal("detached twice")
	}
	if err := e.cli.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	r := e.report()
	if len(r.Keys) != 0 || r.Totals.Requests != 0 || r.Outage || r.Faults[EPReply].ErrorRatio != 0.5 || r.Faults[EPPush].ErrorRatio != 0 {
		t.Fatalf("after reset: %+v", r)
	}
	if !r.Now.Equal(testStart.Add(90 * time.Minute)) {
		t.Fatalf("reset moved the clock: %v", r.Now)
	}
	// Tokens survive a reset; retry keys do not.
	wantStatus(t, e.do(req{path: "/v2/bot/message/push", token: tok, bot: botB, body: pushBody(userU, "before reset")}), 200)
	wantStatus(t, e.push(pushBody(userU, "before reset"), retryKey1), 200)
	n, err := e.cli.Deliveries(ctx, userU)
	if err != nil || n != 2 {
		t.Fatalf("Deliveries = %d, %v", n, err)
	}
	ks, err := e.cli.Key(ctx, testChannel, botA, EPPush)
	if err != nil || ks.Accepted != 1 || ks.Limit.String() != "100/1s" {
		t.Fatalf("Key = %+v, %v", ks, err)
	}
	if ks, err := e.cli.Key(ctx, testChannel, "", EPToken); err != nil || ks.Received != 0 || ks.Bot != "" {
		t.Fatalf("token key after reset = %+v, %v", ks, err)
	}
	if _, err := e.cli.Key(ctx, testChannel, botA, "nope"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Key(unknown endpoint) = %v", err)
	}
	if _, err := e.cli.Key(ctx, "999", botA, EPPush); err == nil {
		t.Fatal("Key(unknown channel) succeeded")
	}
}

func TestAdminBadRequests(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		method, path, body string
		want               int
	}{
		{"PUT", "/admin/faults/nope", `{"errorRatio":0.1}`, 400},
		{"PUT", "/admin/faults/push", `{"errorRatio":`, 400},
		{"PUT", "/admin/faults/push", `{"errorRatio":0.1,"boom":1}`, 400},
		{"PUT", "/admin/faults/push", `{"latencyMean":"soon"}`, 400},
		{"DELETE", "/admin/faults/nope", ``, 400},
		{"PUT", "/admin/outage", `{}`, 400},
		{"PUT", "/admin/outage", `{"on":"yes"}`, 400},
		{"POST", "/admin/clock/advance", `{}`, 400},
		{"POST", "/admin/clock/advance", `{"by":"-1h"}`, 400},
		{"POST", "/admin/clock/advance", `{"by":"later"}`, 400},
		{"POST", "/admin/reply-tokens", `{"channel":"` + testChannel + `","bot":"` + botA + `","to":"x"}`, 400},
		{"POST", "/admin/reply-tokens", `{"channel":"1"}`, 400},
		{"GET", "/admin/keys/999/-/push", ``, 404},
		{"GET", "/admin/bots/999", ``, 404},
		{"PUT", "/admin/bots/" + testChannel + "/Ubad", ``, 400},
		{"GET", "/admin/nope", ``, 404},
		{"POST", "/admin/report", ``, 404},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r, err := http.NewRequest(tt.method, e.srv.AdminURL()+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.hc.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			var ae AdminError
			if res.StatusCode != tt.want || json.Unmarshal(b, &ae) != nil || ae.Error == "" {
				t.Fatalf("%d %s, want %d with a JSON error", res.StatusCode, b, tt.want)
			}
		})
	}
}

// frozenClock cannot be advanced.
type frozenClock struct{}

func (frozenClock) Now() time.Time { return testStart }

func TestAdvanceNeedsAdvanceableClock(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) { c.Clock = frozenClock{} })
	if err := e.cli.AdvanceClock(context.Background(), time.Hour); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("AdvanceClock = %v, want a 400", err)
	}
}

func TestOffsetClock(t *testing.T) {
	t.Parallel()
	c := NewClock()
	before := time.Now()
	c.Advance(24 * time.Hour)
	c.Advance(-time.Hour) // ignored
	if c.Offset() != 24*time.Hour || c.Now().Sub(before) < 24*time.Hour {
		t.Fatalf("offset %v now %v", c.Offset(), c.Now())
	}
}

func TestAdminBots(t *testing.T) {
	t.Parallel()
	e := setup(t)
	res, err := e.hc.Get(e.srv.AdminURL() + "/admin/bots/" + testChannel)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b struct {
		Bots []string `json:"bots"`
	}
	if err := json.NewDecoder(res.Body).Decode(&b); err != nil || len(b.Bots) != 2 {
		t.Fatalf("bots %+v %v", b, err)
	}
}
