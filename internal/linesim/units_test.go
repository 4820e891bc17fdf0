package linesim

import (
	"strings"
	"testing"
	"time"
)

func unitPush(to, text, unit string) string {
	return `{"to":"` + to + `",` + textMessages(text) + `,"customAggregationUnits":["` + unit + `"]}`
}

func TestUnitCapSilentDrop(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) { c.UnitCap = 3 })
	steps := []struct {
		path    string
		body    string
		dropped int64 // UnitsDropped on the endpoint's key after the step
	}{
		{"/v2/bot/message/push", unitPush(userU, "1", "u1"), 0},
		{"/v2/bot/message/push", unitPush(userU, "2", "u2"), 0},
		{"/v2/bot/message/push", unitPush(userU, "3", "u3"), 0},
		{"/v2/bot/message/push", unitPush(userU, "4", "u4"), 1}, // over the cap: delivered, name dropped
		{"/v2/bot/message/push", unitPush(userU, "5", "u1"), 1}, // a known name still attaches
		{"/v2/bot/message/multicast", `{"to":["` + userU + `","` + userL + `"],` + textMessages("6") + `,"customAggregationUnits":["u5"]}`, 1},
		{"/v2/bot/message/push", unitPush(userU, "7", "U1"), 2}, // names are case-sensitive
	}
	for i, s := range steps {
		wantStatus(t, e.do(req{path: s.path, body: s.body}), 200)
		ep := EPPush
		if strings.Contains(s.path, "multicast") {
			ep = EPMulticast
		}
		if got := e.key(botA, ep).UnitsDropped; got != s.dropped {
			t.Fatalf("step %d: UnitsDropped %d, want %d", i, got, s.dropped)
		}
	}
	if got := e.sim.Deliveries(userU); got != 7 {
		t.Fatalf("deliveries %d, want 7 (dropping a name never drops the message)", got)
	}
	r := e.report()
	if len(r.UnitCounts) != 1 {
		t.Fatalf("unit counts %+v", r.UnitCounts)
	}
	uc := r.UnitCounts[0]
	want := []UnitStat{{"u1", 2, 2}, {"u2", 1, 1}, {"u3", 1, 1}}
	if uc.Month != "2026-07" || uc.Bot != botA || uc.Distinct != 3 || uc.Dropped != 3 || len(uc.Units) != 3 {
		t.Fatalf("unit count %+v", uc)
	}
	for i, w := range want {
		if uc.Units[i] != w {
			t.Fatalf("unit %d: %+v, want %+v", i, uc.Units[i], w)
		}
	}
	if r.Totals.UnitsDropped != 3 {
		t.Fatalf("Totals.UnitsDropped %d", r.Totals.UnitsDropped)
	}
	info := e.do(req{method: "GET", path: "/v2/bot/message/aggregation/info"})
	wantStatus(t, info, 200)
	if n := info.json(t)["numOfCustomAggregationUnits"]; n != 3.0 {
		t.Fatalf("aggregation info %s", info.body)
	}
}

func TestUnitsPerBotAndTokyoMonth(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) { c.UnitCap = 1 })
	// 2026-07-31 23:59:59 in Tokyo.
	e.clock.Advance(time.Date(2026, 7, 31, 14, 59, 59, 0, time.UTC).Sub(testStart))
	wantStatus(t, e.push(unitPush(userU, "a", "july"), ""), 200)
	wantStatus(t, e.do(req{path: "/v2/bot/message/push", body: unitPush(userU, "b", "other_bot"), bot: botB}), 200)
	e.clock.Advance(time.Second) // 2026-08-01 00:00:00 in Tokyo, still July in UTC
	wantStatus(t, e.push(unitPush(userU, "c", "august"), ""), 200)
	r := e.report()
	if len(r.UnitCounts) != 3 || r.Totals.UnitsDropped != 0 {
		t.Fatalf("unit counts %+v dropped %d", r.UnitCounts, r.Totals.UnitsDropped)
	}
	got := map[string]string{}
	for _, uc := range r.UnitCounts {
		got[uc.Bot[:3]+" "+uc.Month] = uc.Units[0].Name
	}
	want := map[string]string{"U01 2026-07": "july", "U01 2026-08": "august", "Ufe 2026-07": "other_bot"}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("unit counts %v, want %v", got, want)
		}
	}
}

func TestAggregationList(t *testing.T) {
	t.Parallel()
	e := setup(t)
	names := []string{"a1", "b2", "c3", "d4", "e5"}
	for _, n := range names {
		wantStatus(t, e.push(unitPush(userU, n, n), ""), 200)
	}
	var got []string
	start := ""
	for pages := 0; ; pages++ {
		path := "/v2/bot/message/aggregation/list?limit=2"
		if start != "" {
			path += "&start=" + start
		}
		r := e.do(req{method: "GET", path: path})
		wantStatus(t, r, 200)
		m := r.json(t)
		for _, u := range m["customAggregationUnits"].([]any) {
			got = append(got, u.(string))
		}
		next, _ := m["next"].(string)
		if next == "" {
			if pages != 2 {
				t.Fatalf("%d pages, want 3", pages+1)
			}
			break
		}
		start = next
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("units %v, want %v", got, names)
	}
	for _, bad := range []string{"?limit=0", "?limit=101", "?limit=x", "?start=bogus"} {
		wantStatus(t, e.do(req{method: "GET", path: "/v2/bot/message/aggregation/list" + bad}), 400)
	}
	empty := e.do(req{method: "GET", path: "/v2/bot/message/aggregation/list", bot: botB})
	wantStatus(t, empty, 200)
	if string(empty.body) != `{"customAggregationUnits":[]}` {
		t.Fatalf("empty list %s", empty.body)
	}
}

func TestMonthlyQuota(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) { c.MonthlyQuota = 3 })
	steps := []struct {
		path string
		body string
		want int
	}{
		{"/v2/bot/message/push", pushBody(userU, "1"), 200},
		{"/v2/bot/message/multicast", multicastBody([]string{userU, userU2, userL}, "2"), 429}, // 1 + 3 > 3: all or nothing
		{"/v2/bot/message/multicast", multicastBody([]string{userU, userU2}, "3"), 200},
		{"/v2/bot/message/push", pushBody(userU, "4"), 429},
	}
	for i, s := range steps {
		r := e.do(req{path: s.path, body: s.body})
		wantStatus(t, r, s.want)
		if s.want == 429 && r.message(t) != "You have reached your monthly limit." {
			t.Fatalf("step %d: body %s", i, r.body)
		}
	}
	// Reply messages are free; other bots have their own quota.
	tok, _, err := e.sim.IssueReplyToken(testChannel, botA, userU)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.do(req{path: "/v2/bot/message/reply", body: `{"replyToken":"` + tok + `",` + textMessages("r") + `}`}), 200)
	wantStatus(t, e.do(req{path: "/v2/bot/message/push", body: pushBody(userU, "5"), bot: botB}), 200)
	ks := e.key(botA, EPPush)
	if ks.QuotaExceeded != 1 || ks.Throttled != 1 || ks.Violations != 0 {
		t.Fatalf("push key %+v", ks)
	}
	e.clock.Advance(20 * 24 * time.Hour) // next month in Tokyo
	wantStatus(t, e.push(pushBody(userU, "6"), ""), 200)
	r := e.report()
	if r.Totals.QuotaExceeded != 2 || r.UnitCounts[0].QuotaUsed != 3 {
		t.Fatalf("totals %+v units %+v", r.Totals, r.UnitCounts)
	}
}
