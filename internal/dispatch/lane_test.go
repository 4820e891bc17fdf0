package dispatch

import (
	"encoding/json"
	"testing"
	"time"
)

func TestWithUnit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"object", `{"to":"U1","messages":[]}`, `{"customAggregationUnits":["spring_sale"],"to":"U1","messages":[]}`},
		{"empty object", `{}`, `{"customAggregationUnits":["spring_sale"]}`},
		{"empty object with space", `{ }`, `{"customAggregationUnits":["spring_sale"] }`},
		{"leading space", ` {"to":"U1"}`, ` {"customAggregationUnits":["spring_sale"],"to":"U1"}`},
		{"newline", "{\n\"to\":\"U1\"}", "{\"customAggregationUnits\":[\"spring_sale\"],\n\"to\":\"U1\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(withUnit([]byte(tt.body), "spring_sale"))
			if got != tt.want {
				t.Errorf("withUnit(%q) = %q, want %q", tt.body, got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("result is not JSON: %q", got)
			}
		})
	}
}

func TestFIFOKeepsOrderAcrossGrowth(t *testing.T) {
	t.Parallel()
	var f fifo
	jobs := make([]*job, 100)
	for i := range jobs {
		jobs[i] = &job{attempts: i}
	}
	// Interleave pushes and pops so the ring wraps before it grows.
	next := 0
	for i, j := range jobs {
		f.push(j)
		if i%3 == 2 {
			if got := f.pop(); got != jobs[next] {
				t.Fatalf("pop = job %d, want %d", got.attempts, next)
			}
			next++
		}
	}
	for f.len() > 0 {
		if got := f.pop(); got != jobs[next] {
			t.Fatalf("pop = job %d, want %d", got.attempts, next)
		}
		next++
	}
	if next != len(jobs) || f.pop() != nil || f.peek() != nil {
		t.Fatalf("drained %d of %d", next, len(jobs))
	}
}

func TestLaneServesDueRetriesFirstThenFresh(t *testing.T) {
	t.Parallel()
	now := time.Now()
	l := &lane{}
	fresh := &job{}
	early := &job{notBefore: now.Add(-time.Second)}
	later := &job{notBefore: now.Add(time.Second)}
	l.fresh.push(fresh)
	l.retry(later)
	l.retry(early)

	steps := []struct {
		want   *job
		wantAt time.Time
	}{
		{early, time.Time{}}, // due retry first
		{fresh, time.Time{}}, // then fresh
		{nil, later.notBefore},
	}
	for i, s := range steps {
		got, at := l.next(now)
		if got != s.want || !at.Equal(s.wantAt) {
			t.Fatalf("step %d: next = %p at %v, want %p at %v", i, got, at, s.want, s.wantAt)
		}
		if got != nil {
			l.take(got)
		}
	}
	if got, _ := l.next(later.notBefore); got != later {
		t.Fatalf("the later retry is not served once due")
	}
}

func TestLanePausesAfterAFailureStreak(t *testing.T) {
	t.Parallel()
	now := time.Now()
	l := &lane{}
	l.fresh.push(&job{})
	for i := 0; i < 4; i++ {
		l.failed(now, 5, time.Minute)
	}
	if j, _ := l.next(now); j == nil {
		t.Fatal("paused before the streak reached its limit")
	}
	l.failed(now, 5, time.Minute)
	j, at := l.next(now)
	if j != nil || !at.After(now) {
		t.Fatalf("next = %v at %v: want a pause after 5 failures", j, at)
	}
	first := at.Sub(now)
	l.failed(now, 5, time.Minute)
	if _, at2 := l.next(now); at2.Sub(now) != 2*first {
		t.Errorf("second pause %s, want it doubled from %s", at2.Sub(now), first)
	}
	l.succeeded()
	if j, _ := l.next(now); j == nil {
		t.Error("a success did not end the pause")
	}
}
