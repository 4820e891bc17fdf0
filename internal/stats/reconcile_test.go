package stats_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/stats"
	"github.com/linedispatch/linedispatch/internal/unit"
)

const botHeader = "X-Test-Bot-Id"

// fakeLINE plays LINE's read-back endpoints for one bot: names, served two
// per page, and insight for each name.
type fakeLINE struct {
	names    []string
	count    int64 // aggregation/info, normally len(names)
	insights atomic.Int32
	fail     int // status to answer everything with, if not 0
	loopNext bool
}

func (l *fakeLINE) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer tok" {
		w.WriteHeader(401)
		_, _ = w.Write([]byte(`{"message":"Authentication failed"}`))
		return
	}
	if r.Header.Get(botHeader) != botA {
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"message":"bot header missing"}`))
		return
	}
	if l.fail != 0 {
		w.WriteHeader(l.fail)
		_, _ = w.Write([]byte(`{"message":"An error occurred"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/v2/bot/message/aggregation/info":
		_ = json.NewEncoder(w).Encode(map[string]int64{"numOfCustomAggregationUnits": l.count})
	case "/v2/bot/message/aggregation/list":
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		end := min(start+2, len(l.names))
		page := map[string]any{"customAggregationUnits": l.names[start:end]}
		if end < len(l.names) {
			page["next"] = strconv.Itoa(end)
		}
		if l.loopNext {
			page["next"] = "same"
		}
		_ = json.NewEncoder(w).Encode(page)
	case "/v2/bot/insight/message/event/aggregation":
		l.insights.Add(1)
		q := r.URL.Query()
		if q.Get("from") != "20261101" || q.Get("to") != "20261110" {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"message":"bad dates ` + q.Get("from") + `-` + q.Get("to") + `"}`))
			return
		}
		_, _ = w.Write([]byte(`{"overview":{"uniqueImpression":40,"uniqueClick":null,"uniqueMediaPlayed":null},"messages":[],"clicks":[]}`))
	default:
		w.WriteHeader(404)
	}
}

func lineClient(t *testing.T, l *fakeLINE) *stats.LineClient {
	t.Helper()
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	c := stats.NewLineClient(srv.URL, botHeader, func(context.Context) (string, error) { return "tok", nil })
	c.InsightLimit = rate.NewLimiter(rate.Inf, 1) // the real pacing is one a minute
	return c
}

func TestReconcileReportsAndImports(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg, err := unit.NewRegistry(f.ctx, f.conn.JS, unit.Config{Cap: 4}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"ours_only", "both_a", "both_b"} {
		if _, err := reg.Admit(f.ctx, channel, botA, n, nov); err != nil {
			t.Fatal(err)
		}
	}
	f.publish(outcome.Outcome{IntentID: intentID(1), Channel: channel, Bot: botA, Endpoint: "multicast",
		Result: outcome.Sent, Unit: "both_a", Recipients: 7, At: nov})
	p := f.start("pod-1", f.conn.JS)
	f.caughtUp(p)

	line := &fakeLINE{names: []string{"both_a", "line_x", "both_b", "line_y", "line_z"}, count: 5}
	client := lineClient(t, line)
	var progress []string
	rep, err := stats.Reconcile(f.ctx, client, reg, f.store, stats.ReconcileOptions{
		Channel: channel, Bot: botA, Import: true, Insight: true, Now: nov,
		Progress: func(_, _ int, u string) { progress = append(progress, u) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Month != "2026-11" || rep.LineCount != 5 || len(rep.LineNames) != 5 {
		t.Errorf("report header = %+v", rep)
	}
	if !slices.Equal(rep.OnlyLine, []string{"line_x", "line_y", "line_z"}) || !slices.Equal(rep.OnlyOurs, []string{"ours_only"}) {
		t.Errorf("only LINE %v, only ours %v", rep.OnlyLine, rep.OnlyOurs)
	}
	if !slices.Equal(rep.Imported, rep.OnlyLine) {
		t.Errorf("imported %v, want %v", rep.Imported, rep.OnlyLine)
	}
	// Imported names count against the cap, beyond it even: the bot is full.
	names, _ := reg.Names(f.ctx, channel, botA, "2026-11")
	if len(names) != 6 {
		t.Errorf("registry after import = %v", names)
	}
	if d, _ := reg.Admit(f.ctx, channel, botA, "line_y", nov); !d.Send {
		t.Errorf("imported name refused: %+v", d)
	}
	if len(rep.Insight) != 6 || line.insights.Load() != 6 || len(progress) != 6 {
		t.Fatalf("insight for %d units (%d requests, %d progress calls), want 6", len(rep.Insight), line.insights.Load(), len(progress))
	}
	for _, ui := range rep.Insight {
		if ui.Error != "" || ui.UniqueImpression == nil || *ui.UniqueImpression != 40 || ui.UniqueClick != nil {
			t.Errorf("insight %s = %+v", ui.Unit, ui)
		}
		if ui.Unit == "both_a" && (ui.Sent != 1 || ui.Recipients != 7) {
			t.Errorf("both_a beside LINE: sent %d recipients %d, want 1 and 7", ui.Sent, ui.Recipients)
		}
	}
}

func TestReconcileErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	reg, err := unit.NewRegistry(f.ctx, f.conn.JS, unit.Config{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var lineErr *stats.LineError
	_, err = stats.Reconcile(f.ctx, lineClient(t, &fakeLINE{fail: 500}), reg, nil, stats.ReconcileOptions{Channel: channel, Bot: botA})
	if !errors.As(err, &lineErr) || lineErr.Status != 500 || lineErr.Message != "An error occurred" {
		t.Errorf("LINE 500: err = %v", err)
	}
	c := lineClient(t, &fakeLINE{names: []string{"a", "b", "c"}, loopNext: true})
	if _, err := c.UnitNames(f.ctx, botA); err == nil {
		t.Error("a repeating next token did not stop the paging")
	}
	c.BotHeader = ""
	if _, err := c.UnitCount(f.ctx, botA); err == nil {
		t.Error("a missing bot header name was not reported")
	}
}

func TestLineClientDefaultPacing(t *testing.T) {
	t.Parallel()
	c := stats.NewLineClient("http://line.invalid/", "X-Bot", nil)
	if c.Limit.Limit() > 200 || c.Limit.Burst() != 1 {
		t.Errorf("read-back pacing %v/s burst %d: want well under LINE's 2,000/s", c.Limit.Limit(), c.Limit.Burst())
	}
	if perHour := float64(c.InsightLimit.Limit()) * 3600; perHour >= 60 || c.InsightLimit.Burst() != 1 {
		t.Errorf("insight pacing %.1f/hour burst %d: want under 60/hour, no burst", perHour, c.InsightLimit.Burst())
	}
	if c.BaseURL != "http://line.invalid" || c.HTTP.Timeout == 0 || c.HTTP.Timeout > time.Minute {
		t.Errorf("base %q timeout %s", c.BaseURL, c.HTTP.Timeout)
	}
}
