package stats_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/stats"
	"github.com/linedispatch/linedispatch/internal/unit"
)

func TestHTTPStatusesAndShapes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := time.Now()
	f.publishAll(mix(0, 60, nov))
	f.publish(outcome.Outcome{IntentID: intentID(1000), Channel: channel, Bot: botA, Endpoint: "push",
		Result: outcome.Sent, Unit: "today", Recipients: 1, At: now})
	p := f.start("pod-1", f.conn.JS)
	f.caughtUp(p)
	srv := httptest.NewServer(stats.Handler(f.store, zerolog.Nop()))
	t.Cleanup(srv.Close)

	base := "/v1/stats/" + channel + "/" + botA
	tests := []struct {
		name   string
		method string
		path   string
		status int
		check  func(t *testing.T, body map[string]any)
	}{
		{"document", "GET", base + "?month=2026-11", 200, func(t *testing.T, b map[string]any) {
			units := b["units"].(map[string]any)
			for _, u := range []string{"", "promo_a", "promo_b", "Promo_a"} {
				if _, ok := units[u]; !ok {
					t.Errorf("unit %q missing from %v", u, units)
				}
			}
			if b["month"] != "2026-11" || b["bot"] != botA || b["lastSeq"].(float64) == 0 {
				t.Errorf("header = %v %v %v", b["month"], b["bot"], b["lastSeq"])
			}
			tot := b["totals"].(map[string]any)
			for _, k := range []string{"requests", "recipients", "sent", "failed", "failedTotal", "firstSentAt", "lastSentAt"} {
				if _, ok := tot[k]; !ok {
					t.Errorf("totals lack %s: %v", k, tot)
				}
			}
		}},
		{"current month by default", "GET", base, 200, func(t *testing.T, b map[string]any) {
			if b["month"] != unit.Month(now) {
				t.Errorf("month = %v, want %s", b["month"], unit.Month(now))
			}
		}},
		{"unit", "GET", base + "/units/promo_a?month=2026-11", 200, func(t *testing.T, b map[string]any) {
			if b["unit"] != "promo_a" || b["requests"].(float64) == 0 || b["lastSeq"].(float64) == 0 {
				t.Errorf("unit detail = %v", b)
			}
		}},
		{"no-unit bucket", "GET", base + "/units/-?month=2026-11", 200, func(t *testing.T, b map[string]any) {
			if b["unit"] != "" || b["requests"].(float64) == 0 {
				t.Errorf("no-unit detail = %v", b)
			}
		}},
		{"unknown month", "GET", base + "?month=2020-01", 404, nil},
		{"unknown bot", "GET", "/v1/stats/" + channel + "/" + bot(0xf) + "?month=2026-11", 404, nil},
		{"unknown unit", "GET", base + "/units/nope?month=2026-11", 404, nil},
		{"unit is case-sensitive", "GET", base + "/units/PROMO_A?month=2026-11", 404, nil},
		{"bad month", "GET", base + "?month=2026-13", 400, nil},
		{"month twice", "GET", base + "?month=2026-11&month=2026-12", 400, nil},
		{"bad channel", "GET", "/v1/stats/abc/" + botA, 400, nil},
		{"bad bot", "GET", "/v1/stats/" + channel + "/U123", 400, nil},
		{"bad unit", "GET", base + "/units/a-b", 400, nil},
		{"wrong method", "POST", base, 405, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(f.ctx, tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status == 405 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if tt.status >= 400 {
				if msg, _ := body["error"].(string); msg == "" {
					t.Errorf("error body = %v, want {\"error\": ...}", body)
				}
				return
			}
			tt.check(t, body)
		})
	}
}

func TestHTTPBeforeAnyProjection(t *testing.T) {
	t.Parallel()
	f := setup(t) // no projector: the bucket does not exist yet
	rec := httptest.NewRecorder()
	stats.Handler(f.store, zerolog.Nop()).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/stats/"+channel+"/"+botA, nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("status = %d, want 404", rec.Code)
	}
}
