package limiter

import (
	"slices"
	"testing"
	"time"
)

func TestRestamp(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		admitted []time.Duration // admissions (offsets from epoch), all via Reserve
		at, now  time.Duration   // the admission to move, and when it leaves
		wantOK   bool
		wantLog  []time.Duration // the log afterwards
	}{
		{
			name:     "room: the entry moves to now",
			admitted: []time.Duration{0, 10 * ms, 20 * ms},
			at:       10 * ms, now: 40 * ms,
			wantOK:  true,
			wantLog: []time.Duration{0, 20 * ms, 40 * ms},
		},
		{
			// Any window ending at now that holds other entries also holds
			// the moved one's old place, so a move within the window always
			// fits: here the window is full and the move still succeeds.
			name:     "full window: the move still fits",
			admitted: []time.Duration{0, 1 * ms, 2 * ms, 3 * ms},
			at:       1 * ms, now: 900 * ms,
			wantOK:  true,
			wantLog: []time.Duration{0, 2 * ms, 3 * ms, 900 * ms},
		},
		{
			name:     "entry pruned and the window full at now: refused",
			admitted: []time.Duration{0, 1100 * ms, 1101 * ms, 1102 * ms, 1103 * ms},
			at:       0, now: 1104 * ms,
			wantOK:  false,
			wantLog: []time.Duration{1100 * ms, 1101 * ms, 1102 * ms, 1103 * ms},
		},
		{
			name:     "entry already pruned: a plain admission at now",
			admitted: []time.Duration{0},
			at:       0, now: 2 * time.Second,
			wantOK:  true,
			wantLog: []time.Duration{2 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// 4 per second, a bucket that never binds: the log decides.
			l := newLimiter(t, "4/1s", Config{Safety: 1, Burst: 4, Guard: time.Nanosecond})
			for _, a := range tt.admitted {
				if ok, _ := l.Reserve(epoch.Add(a)); !ok {
					t.Fatalf("setup: Reserve at %v refused", a)
				}
			}
			if got := l.Restamp(epoch.Add(tt.at), epoch.Add(tt.now)); got != tt.wantOK {
				t.Fatalf("Restamp = %v, want %v", got, tt.wantOK)
			}
			l.mu.Lock()
			l.log.prune(tt.now)
			got := l.log.entries(nil)
			l.mu.Unlock()
			if !slices.Equal(got, tt.wantLog) {
				t.Errorf("log = %v, want %v", got, tt.wantLog)
			}
		})
	}
}

func TestRestampBeforeAnyAdmission(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, "4/1s", Config{})
	if l.Restamp(epoch, epoch) {
		t.Fatal("Restamp on a fresh limiter admitted a send nobody reserved")
	}
}

// TestRestampKeepsDeparturesInTheWindow drives a backlogged lane whose
// requests leave after a delay, as on a starved machine: most leave within
// the stale bound of their admission, but those admitted during a stall
// leave together when it ends. Late ones are
// restamped (or refused and re-admitted later). Counted at departure, no
// window of Period holds more than Count, while a lane that sent late
// requests on their old token would exceed it.
func TestRestampKeepsDeparturesInTheWindow(t *testing.T) {
	t.Parallel()
	limit := MustParseLimit("2000/1s")
	stale := newLimiter(t, "2000/1s", Config{}).Config().Guard / 3
	rng := seeded(t)

	type pending struct{ at, leave time.Time }
	run := func(restamp bool) (departures []time.Time, sent int) {
		l := newLimiter(t, "2000/1s", Config{})
		var queue []pending // in leave order
		now, end := epoch, epoch.Add(5*time.Second)
		for now.Before(end) {
			// Departures due by now, in order.
			for len(queue) > 0 && !queue[0].leave.After(now) {
				p := queue[0]
				queue = queue[1:]
				switch {
				case p.leave.Sub(p.at) <= stale || !restamp:
					departures = append(departures, p.leave)
				case l.Restamp(p.at, p.leave):
					departures = append(departures, p.leave)
				}
				// A refused request is re-admitted later; in a backlogged
				// lane that is just one of the next admissions.
			}
			if ok, wait := l.Reserve(now); ok {
				// Punctual up to the stale bound, except in a stall: for
				// 60 ms of every 400 ms the worker is starved and every
				// request admitted meanwhile leaves when the stall ends.
				delay := time.Duration(rng.IntN(int(stale)))
				if in := now.Sub(epoch) % (400 * time.Millisecond); in < 60*time.Millisecond {
					delay = 60*time.Millisecond - in
				}
				queue = append(queue, pending{at: now, leave: now.Add(delay)})
				slices.SortFunc(queue, func(a, b pending) int { return a.leave.Compare(b.leave) })
				continue
			} else {
				next := now.Add(wait)
				if len(queue) > 0 && queue[0].leave.Before(next) {
					next = queue[0].leave
				}
				now = next
			}
		}
		return departures, len(departures)
	}

	deps, sent := run(true)
	if got := maxInWindow(deps, limit.Period); got > limit.Count {
		t.Errorf("with Restamp: %d departures in one window, limit %d", got, limit.Count)
	}
	// Stalls 15 % of the time cost some throughput (a stall's requests
	// leave in a bunch that later blocks the pacer's tokens), not a window.
	if float64(sent) < 0.95*limit.Rate()*5 {
		t.Errorf("with Restamp: %d departures in 5 s, want ≥ 95 %% of the limit", sent)
	}
	control, _ := run(false)
	if got := maxInWindow(control, limit.Period); got <= limit.Count {
		t.Errorf("control (late requests sent on their old token): %d in one window; the test does not exercise lateness", got)
	}
}

// TestLeftIsNeverRefused: a request that waited more than a period between
// its admission and its write is recorded at the write even when the window
// there is full (Restamp would refuse and record nothing), and the log then
// waits until two entries have left.
func TestLeftIsNeverRefused(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, "4/1s", Config{Safety: 1, Burst: 4, Guard: time.Nanosecond})
	for _, a := range []time.Duration{0, ms(1100), ms(1101), ms(1102), ms(1103)} {
		if ok, _ := l.Reserve(epoch.Add(a)); !ok {
			t.Fatalf("setup: Reserve at %v refused", a)
		}
	}
	l.Left(epoch, epoch.Add(ms(1104)))
	want := []time.Time{epoch.Add(ms(1100)), epoch.Add(ms(1101)), epoch.Add(ms(1102)), epoch.Add(ms(1103)), epoch.Add(ms(1104))}
	if got := l.Snapshot(); !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("log %v, want %v", got, want)
	}
	// Five in (0.104 s, 1.104 s]: the next send fits once 1100 and 1101
	// have left, at 2.101 s plus the guard.
	if ok, wait := l.Reserve(epoch.Add(ms(1200))); ok || wait != ms(901)+time.Nanosecond {
		t.Fatalf("Reserve at 1.2 s = %v, wait %v; want refused for 901ms+1ns", ok, wait)
	}
}

// TestRestampAfterALaterPrune: callers' clocks may reach the limiter out of
// order. An entry a later call already pruned is not in the log any more, so
// Restamp must not remove another send's entry in its place.
func TestRestampAfterALaterPrune(t *testing.T) {
	t.Parallel()
	l := newLimiter(t, "4/1s", Config{Safety: 1, Burst: 4, Guard: time.Nanosecond})
	for _, a := range []time.Duration{ms(200), ms(1200), ms(1300)} { // 1300 prunes 200
		if ok, _ := l.Reserve(epoch.Add(a)); !ok {
			t.Fatalf("setup: Reserve at %v refused", a)
		}
	}
	if !l.Restamp(epoch.Add(ms(200)), epoch.Add(ms(1100))) {
		t.Fatal("Restamp refused with room in the window")
	}
	want := []time.Time{epoch.Add(ms(1200)), epoch.Add(ms(1300)), epoch.Add(ms(1300))}
	if got := l.Snapshot(); !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("log %v, want %v (the send at 1.2 s must stay)", got, want)
	}
}
