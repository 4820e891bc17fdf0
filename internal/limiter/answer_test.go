package limiter

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

func TestWindowDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		entries  []time.Duration
		cut      time.Duration // the last prune's cutoff
		from, to time.Duration
		want     []time.Duration
	}{
		{"moves its own entry", []time.Duration{ms(1), ms(2), ms(3)}, -ms(1000), ms(2), ms(10), []time.Duration{ms(1), ms(3), ms(10)}},
		{"into the middle", []time.Duration{ms(1), ms(2), ms(30)}, -ms(1000), ms(1), ms(20), []time.Duration{ms(2), ms(20), ms(30)}},
		{"the oldest at or after from", []time.Duration{ms(1), ms(5), ms(5)}, -ms(1000), ms(4), ms(8), []time.Duration{ms(1), ms(5), ms(8)}},
		{"none in [from, to]: recorded anyway", []time.Duration{ms(1), ms(50)}, -ms(1000), ms(10), ms(20), []time.Duration{ms(1), ms(20), ms(50)}},
		{"own entry already pruned: recorded anyway", []time.Duration{ms(12), ms(13)}, ms(11), ms(10), ms(15), []time.Duration{ms(12), ms(13), ms(15)}},
		{"not later: nothing", []time.Duration{ms(1), ms(2)}, -ms(1000), ms(2), ms(2), []time.Duration{ms(1), ms(2)}},
		{"target already out of the log: nothing", []time.Duration{ms(12)}, ms(11), ms(5), ms(9), []time.Duration{ms(12)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := window{count: 10, period: time.Second, cut: tt.cut}
			for _, e := range tt.entries {
				w.push(e)
			}
			w.delay(tt.from, tt.to)
			if got := w.entries(nil); !slices.Equal(got, tt.want) {
				t.Fatalf("entries %v, want %v", got, tt.want)
			}
		})
	}
}

// TestWindowPastCount: a delayed entry whose own was pruned can leave more
// than count in the window; the next send then waits until enough leave.
func TestWindowPastCount(t *testing.T) {
	t.Parallel()
	w := window{count: 3, period: ms(100), cut: -ms(1000)}
	for _, e := range []time.Duration{ms(10), ms(20), ms(30)} {
		w.push(e)
	}
	w.prune(ms(105)) // cutoff 5 ms: all three stay
	w.delay(ms(2), ms(40))
	if got := w.entries(nil); !slices.Equal(got, []time.Duration{ms(10), ms(20), ms(30), ms(40)}) {
		t.Fatalf("entries %v", got)
	}
	// Four in the window: a send is admissible once two have left, when the
	// 20 ms entry leaves at 120 ms.
	if got := w.wait(ms(105)); got != ms(15) {
		t.Fatalf("wait %v, want 15ms", got)
	}
	if got := w.wait(ms(120)); got != 0 {
		t.Fatalf("wait at 120ms = %v, want 0", got)
	}
}

func TestAnswered(t *testing.T) {
	t.Parallel()
	type answer struct {
		after    time.Duration // since epoch, when the send is admitted (and leaves)
		rtt      time.Duration
		wantLate time.Duration
	}
	// 2000/1s: Guard 15 ms, so an answer counts as late past floor + 7.5 ms.
	tests := []struct {
		name    string
		cfg     Config
		answers []answer
	}{
		{"fast answers move nothing", Config{}, []answer{{0, ms(2), 0}, {ms(1), ms(3), 0}, {ms(2), ms(9), 0}}},
		{"late answer moves by its lateness past half the guard", Config{}, []answer{{0, ms(2), 0}, {ms(1), ms(40), ms(30.5)}}},
		{"the floor is the fastest recent answer", Config{}, []answer{{0, ms(20), 0}, {ms(1), ms(5), 0}, {ms(2), ms(20), ms(7.5)}}},
		{"a floor older than two epochs is forgotten", Config{}, []answer{{0, ms(2), 0}, {2*floorEpoch + ms(1), ms(40), 0}, {2*floorEpoch + ms(2), ms(41), 0}}},
		{"ignore", Config{LateAnswers: LateAnswersIgnore}, []answer{{0, ms(2), 0}, {ms(1), ms(40), 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newLimiter(t, "2000/1s", tt.cfg)
			var floor Floor
			for i, a := range tt.answers {
				at := epoch.Add(a.after)
				if ok, _ := l.Reserve(at); !ok {
					t.Fatalf("answer %d: not admitted", i)
				}
				if got := l.Answered(at, at, at.Add(a.rtt), &floor); got != a.wantLate {
					t.Fatalf("answer %d: late %v, want %v", i, got, a.wantLate)
				}
				if a.wantLate > 0 && !slices.ContainsFunc(l.Snapshot(), func(s time.Time) bool { return s.Equal(at.Add(a.wantLate)) }) {
					t.Fatalf("answer %d: log %v does not hold the moved send at %v", i, l.Snapshot(), at.Add(a.wantLate))
				}
			}
		})
	}
}

// TestIngressStall simulates a lane at its limit behind a link that stalls
// now and then: requests that reach it during a stall are counted by LINE
// when it ends, all at once. A lane keeps at most inflight requests in
// flight (the dispatcher's default is 64). Without late answers moving the
// log, the window after a stall holds the stalled requests on top of a full
// second of sends; with them, LINE never counts more than the limit.
func TestIngressStall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stall, every time.Duration
		inflight     int
		oneWay       time.Duration
		control      bool // LateAnswersIgnore exceeds the limit here
	}{
		{60 * time.Millisecond, 700 * time.Millisecond, 64, time.Millisecond, true},
		{30 * time.Millisecond, 450 * time.Millisecond, 64, time.Millisecond, true},
		{150 * time.Millisecond, 1300 * time.Millisecond, 64, 5 * time.Millisecond, true},
		{400 * time.Millisecond, 2 * time.Second, 256, 20 * time.Millisecond, true},
		{12 * time.Millisecond, 300 * time.Millisecond, 64, time.Millisecond, false},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%v every %v, %d in flight, %v each way", tt.stall, tt.every, tt.inflight, tt.oneWay)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run := 10 * time.Second
			ignored, _ := simulateStalls(t, Config{LateAnswers: LateAnswersIgnore}, tt.stall, tt.every, tt.inflight, tt.oneWay, run)
			if got := maxInWindow(ignored, time.Second); tt.control && got <= 2000 {
				t.Fatalf("control: without late answers LINE counted at most %d in a second; the model should exceed 2000", got)
			}
			arrivals, moved := simulateStalls(t, Config{}, tt.stall, tt.every, tt.inflight, tt.oneWay, run)
			if got := maxInWindow(arrivals, time.Second); got > 2000 {
				t.Fatalf("LINE counted %d in one second (limit 2000); %d late answers moved", got, moved)
			}
			util := float64(len(arrivals)) / (2000 * run.Seconds())
			// A stall costs its own length, and what the moved sends hold back.
			if floor := 0.985 * (1 - 1.5*tt.stall.Seconds()/tt.every.Seconds()); util < floor {
				t.Fatalf("utilisation %.3f, want at least %.3f", util, floor)
			}
			t.Logf("without late answers: max %d/s, utilisation %.3f; with: max %d/s, %d moved, utilisation %.3f",
				maxInWindow(ignored, time.Second), float64(len(ignored))/(2000*run.Seconds()),
				maxInWindow(arrivals, time.Second), moved, util)
		})
	}
}

// simulateStalls drives a backlogged 2000/1s lane for run with at most
// inflight requests out, each taking oneWay to LINE and back, through a link
// that holds what reaches it in the first stall of every period every (the
// first 300 ms after the start), and returns LINE's counting times and how
// many answers moved the log.
func simulateStalls(t *testing.T, cfg Config, stall, every time.Duration, inflight int, oneWay, run time.Duration) (arrivals []time.Time, moved int) {
	t.Helper()
	arrive := func(wrote time.Time) time.Time {
		a := wrote.Add(oneWay)
		if phase := (a.Sub(epoch) + every - 300*time.Millisecond) % every; phase < stall {
			a = a.Add(stall - phase)
		}
		return a
	}
	l := newLimiter(t, "2000/1s", cfg)
	var floor Floor
	type flight struct{ at, answer time.Time }
	var flying []flight
	for now := epoch; now.Before(epoch.Add(run)); {
		// Answers due by now come back first, oldest first.
		slices.SortFunc(flying, func(a, b flight) int { return a.answer.Compare(b.answer) })
		for len(flying) > 0 && !flying[0].answer.After(now) {
			if l.Answered(flying[0].at, flying[0].at, flying[0].answer, &floor) > 0 {
				moved++
			}
			flying = flying[1:]
		}
		next := epoch.Add(run)
		if len(flying) > 0 {
			next = flying[0].answer
		}
		if len(flying) < inflight {
			ok, wait := l.Reserve(now)
			if ok {
				a := arrive(now)
				arrivals = append(arrivals, a)
				flying = append(flying, flight{now, a.Add(oneWay)})
				continue
			}
			if w := now.Add(wait); w.Before(next) {
				next = w
			}
		}
		now = next
	}
	return arrivals, moved
}

// FuzzWindowDelay runs random admissions, prunes and delays against the
// window log: it stays sorted, never holds an entry at or before its cutoff,
// admits a send only while fewer than count entries lie in the window, and a
// delay never loses an entry that is still in the window.
func FuzzWindowDelay(f *testing.F) {
	f.Add([]byte{0, 5, 1, 3, 40, 2, 0, 0, 9, 1, 0, 200})
	f.Add([]byte{0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 90, 2, 50, 1, 3, 7})
	f.Fuzz(func(t *testing.T, ops []byte) {
		w := window{count: 4, period: ms(100), cut: math.MinInt64}
		now := time.Duration(0)
		for i := 0; i+1 < len(ops); i += 2 {
			arg := time.Duration(ops[i+1]) * time.Millisecond / 4
			before := w.n
			switch ops[i] % 3 {
			case 0: // time passes, then a send if the log admits it
				now += arg
				if w.wait(now) == 0 {
					if w.n >= w.count {
						t.Fatalf("admitted with %d entries in the window", w.n)
					}
					last, _ := w.newest()
					w.push(max(now, last))
				}
			case 1: // a send admitted arg ago is answered late by arg
				from := now - arg
				inLog := from > w.cut && slices.ContainsFunc(w.entries(nil), func(e time.Duration) bool { return e >= from && e <= now })
				w.delay(from, now)
				switch {
				case arg == 0:
				case inLog && w.n != before:
					t.Fatalf("delay(%v, %v) moved an entry but changed the count %d -> %d", from, now, before, w.n)
				case !inLog && now > w.cut && w.n != before+1:
					t.Fatalf("delay(%v, %v) of a pruned send: count %d -> %d, want one more", from, now, before, w.n)
				}
			case 2:
				w.prune(now)
			}
			es := w.entries(nil)
			if !slices.IsSorted(es) {
				t.Fatalf("log not sorted: %v", es)
			}
			if len(es) > 0 && es[0] <= w.cut {
				t.Fatalf("entry %v at or before the cutoff %v", es[0], w.cut)
			}
		}
	})
}
