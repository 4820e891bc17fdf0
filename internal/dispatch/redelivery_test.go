package dispatch

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
)

// setupRedelivery stores one message in a work-queue stream named name with
// a consumer whose ack wait is 200 ms, and returns the stream and a function
// that waits for the message's next (re)delivery.
func setupRedelivery(t *testing.T, name string) (jetstream.Stream, func() jetstream.Msg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	conn := queuetest.Start(t)
	subject := strings.ToLower(name)
	s, err := conn.JS.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject + ".>"}, Retention: jetstream.WorkQueuePolicy})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.JS.Publish(ctx, subject+".x", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	next := func() jetstream.Msg {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			b, err := c.Fetch(1, jetstream.FetchMaxWait(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			for m := range b.Messages() {
				return m
			}
		}
		t.Fatal("no (re)delivery within 10 s")
		return nil
	}
	return s, next
}

// TestDuplicateDeliveryWhileHeld: a message redelivered after its ack
// deadline while the pod still holds it is recognised (and its credit
// released); once the pod lets go of it, a redelivery is a new delivery.
func TestDuplicateDeliveryWhileHeld(t *testing.T) {
	t.Parallel()
	_, next := setupRedelivery(t, "REDELIVERY")

	e := &Engine{metrics: NewMetrics(nil), credits: make(chan struct{}, 4), held: newHeldSet()}
	first := next()
	j := &job{msg: first, in: &intent.Intent{ID: "x"}}
	seq, dup := e.heldCopy(first)
	e.hold(j, 0, seq, time.Now())
	if dup {
		t.Fatal("a first delivery counted as a duplicate")
	}

	again := next() // after AckWait: delivered again while held
	if _, dup := e.heldCopy(again); !dup {
		t.Fatal("a redelivery of a held message was not recognised")
	}
	if got := len(e.credits); got != 1 {
		t.Errorf("credits released for the duplicate = %d, want 1", got)
	}

	e.forget(j) // handed back or finished: no longer held
	third := next()
	if _, dup := e.heldCopy(third); dup {
		t.Error("a redelivery of a message the pod no longer holds counted as a duplicate")
	}
}

// TestRedeliveryAfterFinishIsDropped: a copy delivered again just after the
// pod finished the message (the redelivery crossed the ack) is recognised,
// acked and dropped instead of being sent a second time.
func TestRedeliveryAfterFinishIsDropped(t *testing.T) {
	t.Parallel()
	s, fetch := setupRedelivery(t, "CROSSED")
	ctx := context.Background()
	e := &Engine{metrics: NewMetrics(nil), credits: make(chan struct{}, 4), held: newHeldSet(), finished: newFinishedSeqs(time.Minute)}

	first := fetch()
	seq, _ := e.heldCopy(first)
	// The pod records the outcome, but its ack reaches the server only
	// after the ack wait: JetStream redelivers.
	e.finished.add(seq, time.Now())
	again := fetch()
	if _, dup := e.heldCopy(again); !dup {
		t.Fatal("a redelivery of a message the pod had just finished was taken for a new one")
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dropped copy was not acked: the work queue still holds it")
		}
		time.Sleep(10 * time.Millisecond) // polling JetStream's state
	}
}

func TestFinishedSeqsForgetAfterTwoPeriods(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	f := newFinishedSeqs(time.Second)
	s := storedSeq{stream: "S", seq: 7}
	f.add(s, t0)
	for _, tc := range []struct {
		after time.Duration
		want  bool
	}{
		{0, true},
		{1500 * time.Millisecond, true}, // rotated once: in the older generation
		{2600 * time.Millisecond, false},
	} {
		if got := f.has(s, t0.Add(tc.after)); got != tc.want {
			t.Errorf("after %s: has = %v, want %v", tc.after, got, tc.want)
		}
	}
	if f.has(storedSeq{stream: "S", seq: 8}, t0) {
		t.Error("an unfinished message counted as finished")
	}
}
