package dispatch

import (
	"sync"
	"time"
)

// finishedSeqs remembers, for one to two periods, the stored messages the
// pod finished: acked after their outcome was recorded (an intent, or a
// backlog batch). A redelivery can cross the ack: JetStream redelivers once
// a message's ack wait passes (keep-alive ran late on a starved pod), and
// the ack of the first copy arrives just after. Without this the pod took
// the second copy for a new intent and sent it again, and LINE answered
// 409: 13,655 such requests in one long scale3 run, all of them second or
// third deliveries to the pod that had sent the first.
//
// A crossing copy arrives moments after the ack, so a period is at most
// finishedMemory: at 5,000 outcomes a second the pod remembers at most
// 50,000 sequences (8 bytes each in a map). Spilled intents are not
// remembered: a pass-through moves tens of thousands a second, and they are
// held for milliseconds, too short for an ack wait to pass.
type finishedSeqs struct {
	mu        sync.Mutex
	every     time.Duration
	rotated   time.Time
	cur, prev map[string]map[uint64]struct{} // stream -> sequences
}

// finishedMemory caps a period of finishedSeqs.
const finishedMemory = 5 * time.Second

func newFinishedSeqs(every time.Duration) *finishedSeqs {
	return &finishedSeqs{every: every, rotated: time.Now(), cur: map[string]map[uint64]struct{}{}}
}

// add records s as finished at now.
func (f *finishedSeqs) add(s storedSeq, now time.Time) {
	if f == nil || s.stream == "" {
		return
	}
	f.mu.Lock()
	f.rotate(now)
	m := f.cur[s.stream]
	if m == nil {
		m = map[uint64]struct{}{}
		f.cur[s.stream] = m
	}
	m[s.seq] = struct{}{}
	f.mu.Unlock()
}

// has reports whether s was finished within the last one to two periods.
func (f *finishedSeqs) has(s storedSeq, now time.Time) bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rotate(now)
	if _, ok := f.cur[s.stream][s.seq]; ok {
		return true
	}
	_, ok := f.prev[s.stream][s.seq]
	return ok
}

// rotate drops the older generation once a period has passed.
func (f *finishedSeqs) rotate(now time.Time) {
	switch d := now.Sub(f.rotated); {
	case d >= 2*f.every:
		f.prev, f.cur = nil, map[string]map[uint64]struct{}{}
		f.rotated = now
	case d >= f.every:
		f.prev, f.cur = f.cur, map[string]map[uint64]struct{}{}
		f.rotated = now
	}
}
