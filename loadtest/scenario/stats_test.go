package scenario

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestMeasureUtilisation(t *testing.T) {
	// 1,000 accepts evenly at 1,980/s against 2,000/1s, with a slow start
	// and a slow tail that the 5 % edges must cut off.
	var at []int64
	ts := int64(0)
	for i := 0; i < 1000; i++ {
		step := int64(time.Second) / 1980
		if i < 20 || i > 980 {
			step *= 10
		}
		ts += step
		at = append(at, ts)
	}
	u := MeasureUtilisation(at, 2000, time.Second)
	if math.Abs(u.Value-0.99) > 0.002 {
		t.Fatalf("utilisation = %v, want 0.99 (%+v)", u.Value, u)
	}
	if u.Used != 899 {
		t.Errorf("used = %d, want 899 intervals", u.Used)
	}
	if got := MeasureUtilisation(at[:2], 2000, time.Second); got.Value != 0 {
		t.Errorf("two samples: %+v", got)
	}
}

func TestMeasureGaps(t *testing.T) {
	at := []int64{0, 60e6, 120e6, 190e6, 240e6}
	g := MeasureGaps(at, 60, 3600*time.Millisecond)
	if g.IdealMs != 60 || g.MinMs != 50 || g.MaxMs != 70 || g.MeanMs != 60 || g.Count != 4 {
		t.Fatalf("gaps = %+v", g)
	}
	if math.Abs(g.CV-math.Sqrt(50)/60) > 1e-3 {
		t.Errorf("cv = %v", g.CV)
	}
}

func TestMeasureLatencyAndThroughput(t *testing.T) {
	lat := make([]int64, 100)
	for i := range lat {
		lat[i] = int64(100-i) * int64(time.Millisecond)
	}
	l := MeasureLatency(lat)
	if l.P50 != 50 || l.P99 != 99 || l.Max != 100 || l.Count != 100 {
		t.Fatalf("latency = %+v", l)
	}
	at := make([]int64, 101)
	for i := range at {
		at[i] = int64(i) * int64(time.Millisecond)
	}
	tp := MeasureThroughput(at)
	if math.Abs(tp.Overall-1000) > 1 || math.Abs(tp.Steady-1000) > 1 {
		t.Fatalf("throughput = %+v", tp)
	}
}

func TestCombined(t *testing.T) {
	if got := Combined(30000, 30000, 3000); math.Abs(got-2500) > 1e-9 {
		t.Fatalf("combined = %v, want 2500", got)
	}
	if Combined(0, 1, 1) != 0 {
		t.Fatal("a missing stage must give 0")
	}
}

// Two baseline samples average by per-message time: a stage at 10,000/s
// and 30,000/s takes 100 and 33.3 µs a message, 66.7 µs on average, which
// is 15,000/s; CPU per message averages plainly.
func TestBaselineMeanOfSamples(t *testing.T) {
	b := &Baseline{}
	b.add(BaselineSample{BaselineStages: BaselineStages{PublishPerSec: 10000, ConsumeAckPerSec: 40000, HTTPPerSec: 20000, HTTPErrors: 1,
		PublishCPUMicros: 30, ConsumeAckCPUMicros: 10, HTTPCPUMicros: 50}})
	b.add(BaselineSample{BaselineStages: BaselineStages{PublishPerSec: 30000, ConsumeAckPerSec: 40000, HTTPPerSec: 20000, HTTPErrors: 2,
		PublishCPUMicros: 20, ConsumeAckCPUMicros: 20, HTTPCPUMicros: 60}})
	if len(b.Samples) != 2 || b.PublishPerSec != 15000 || b.ConsumeAckPerSec != 40000 || b.HTTPPerSec != 20000 || b.HTTPErrors != 3 {
		t.Fatalf("rates %v %v %v, errors %d, %d samples", b.PublishPerSec, b.ConsumeAckPerSec, b.HTTPPerSec, b.HTTPErrors, len(b.Samples))
	}
	if want := round2(Combined(15000, 40000, 20000)); b.CombinedPerSec != want {
		t.Errorf("combined %v, want %v", b.CombinedPerSec, want)
	}
	if b.PublishCPUMicros != 25 || b.ConsumeAckCPUMicros != 15 || b.HTTPCPUMicros != 55 || b.CombinedCPUMicros != 95 {
		t.Errorf("CPU %v %v %v %v", b.PublishCPUMicros, b.ConsumeAckCPUMicros, b.HTTPCPUMicros, b.CombinedCPUMicros)
	}
}

func TestIDSpaceRoundTrip(t *testing.T) {
	s := newIDSpace()
	for _, seq := range []uint64{0, 1, 999_999, maxSeq} {
		id := s.id(seq)
		if len(id) != 36 || id[14] != '4' {
			t.Fatalf("id %q is not a v4 UUID", id)
		}
		got, ok := s.seq(id)
		if !ok || got != seq {
			t.Fatalf("seq(%q) = %d, %v; want %d", id, got, ok, seq)
		}
	}
	other := newIDSpace()
	if _, ok := s.seq(other.id(5)); ok {
		t.Fatal("an ID of another run was accepted")
	}
}

func TestGenIntentsAreValid(t *testing.T) {
	g := newGen("1234567890", "test")
	bot := "U" + strings.Repeat("b", 32)
	for _, mk := range []func() (any, error){
		func() (any, error) { return g.Push(bot, "x") },
		func() (any, error) { return g.Multicast(bot, "x", 2) },
		func() (any, error) { return g.Narrowcast(bot, "x") },
	} {
		v, err := mk()
		if err != nil {
			t.Fatal(err)
		}
		in := v.(interface{ Validate(time.Time) error })
		if err := in.Validate(time.Now()); err != nil {
			t.Fatalf("generated intent invalid: %v", err)
		}
	}
}

func TestCollectedCountsDuplicatesAndForeign(t *testing.T) {
	s := newIDSpace()
	c := newCollected(s, 10)
	now := time.Now()
	add := func(id string) {
		c.add(&wireOutcome{IntentID: id, Bot: "b", Endpoint: "push", Result: "sent", CreatedAt: now, At: now.Add(time.Millisecond), Attempts: 1})
	}
	add(s.id(1))
	add(s.id(2))
	add(s.id(1))
	add("invalid-7")
	c.finish()
	if c.Unique != 2 || c.Duplicate != 1 || c.Foreign != 1 || c.Sent != 4 || c.Total != 4 {
		t.Fatalf("collected = %+v", c)
	}
}

func TestReportChecks(t *testing.T) {
	r := &Report{}
	r.Check("a", 1, "==", 1, "")
	r.Check("b", 0.97, ">=", 0.98, "")
	r.Check("c", 120, "<", 100, "ms")
	r.finalize()
	if r.Pass || len(r.Failed) != 2 {
		t.Fatalf("report = %+v", r)
	}
	if got := r.Failed[1].String(); got != "FAIL c: measured 120 ms, wanted < 100 ms" {
		t.Errorf("check text = %q", got)
	}
	b, err := MarshalJSON(r)
	if err != nil || !strings.Contains(string(b), `"wanted": ">= 0.98"`) {
		t.Errorf("json = %s, %v", b, err)
	}
}

func TestPodConfig(t *testing.T) {
	c := PodConfig{
		"nats": map[string]any{"url": "nats://127.0.0.1:4222"},
		"line": map[string]any{"baseURL": "http://127.0.0.1:1", "botHeader": "X-Line-Bot-Id",
			"channels": []any{map[string]any{"id": "1234567890", "token": "t"}}},
	}
	c.Set("dispatch.senders", parseScalar("64"))
	c.Set("dispatch.retry.initialInterval", parseScalar("20ms"))
	c.Set("dispatch.limiter.safety", parseScalar("0.98"))
	d := c.Clone()
	d.Set("dispatch.senders", 8)
	if c.Get("dispatch.senders") != 64 || d.Get("dispatch.senders") != 8 {
		t.Fatalf("clone shares state: %v %v", c.Get("dispatch.senders"), d.Get("dispatch.senders"))
	}
	if _, err := c.Marshal(); err != nil {
		t.Fatal(err)
	}
	c.Set("dispatch.sendrs", 1)
	if _, err := c.Marshal(); err == nil {
		t.Fatal("a misspelt field was accepted")
	}
}

func TestParseProcStatusAndMetrics(t *testing.T) {
	st, err := parseProcStatus("Name:\tdispatcher\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n")
	if err != nil || st.hwm != 50<<20 || st.rss != 40<<20 {
		t.Fatalf("status = %+v, %v", st, err)
	}
	m := parseMetrics(strings.NewReader("# HELP x\nprocess_resident_memory_bytes 1.5e+07\nlinedispatch_spills_total 3\nlinedispatch_intent_latency_seconds_bucket{le=\"1\"} 4\ngo_gc_duration_seconds 1\n"))
	if m["process_resident_memory_bytes"] != 1.5e7 || m["linedispatch_spills_total"] != 3 || len(m) != 2 {
		t.Fatalf("metrics = %v", m)
	}
}
