package sender_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/linedispatch/linedispatch/intent"
)

// TestSendReportsTheWrite: Wrote is called once per HTTP request, after the
// request left (before LINE answered), and not for a request never written.
func TestSendReportsTheWrite(t *testing.T) {
	t.Parallel()
	arrived := make(chan time.Time, 1)
	release := make(chan struct{})
	f := setup(t, fixtureOpts{handler: func(w http.ResponseWriter, _ *http.Request) {
		arrived <- time.Now()
		<-release
		_, _ = io.WriteString(w, "{}")
	}})

	var mu sync.Mutex
	var writes []time.Time
	req := request(t, intent.Push)
	req.Wrote = func(at time.Time) {
		mu.Lock()
		writes = append(writes, at)
		mu.Unlock()
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := f.sender.Send(context.Background(), req)
		done <- err
	}()
	at := <-arrived
	// The server holds its answer: the write must already be reported.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(writes)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Wrote not called while LINE held its answer")
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Send: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(writes) != 1 {
		t.Fatalf("Wrote called %d times, want 1", len(writes))
	}
	if writes[0].Before(start) || writes[0].After(at.Add(time.Second)) {
		t.Errorf("Wrote at %v; Send started %v, request arrived %v", writes[0], start, at)
	}

	// Refused before any HTTP request (unknown endpoint): never written.
	bad := request(t, intent.Push)
	bad.Endpoint = "nope"
	called := false
	bad.Wrote = func(time.Time) { called = true }
	if _, err := f.sender.Send(context.Background(), bad); err == nil {
		t.Fatal("Send of an unknown endpoint succeeded")
	}
	if called {
		t.Error("Wrote called for a request that was never sent")
	}
}

// TestSendReportsTheAnswer: Answered is called once, with a time after LINE
// began its answer and after the write, and not while LINE holds it.
func TestSendReportsTheAnswer(t *testing.T) {
	t.Parallel()
	const hold = 50 * time.Millisecond
	answering := make(chan time.Time, 1)
	f := setup(t, fixtureOpts{handler: func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(hold) // LINE takes its time to answer
		answering <- time.Now()
		_, _ = io.WriteString(w, "{}")
	}})

	var mu sync.Mutex
	var wrote, answered []time.Time
	req := request(t, intent.Push)
	req.Wrote = func(at time.Time) { mu.Lock(); wrote = append(wrote, at); mu.Unlock() }
	req.Answered = func(at time.Time) { mu.Lock(); answered = append(answered, at); mu.Unlock() }
	if _, err := f.sender.Send(context.Background(), req); err != nil {
		t.Fatalf("Send: %v", err)
	}
	began := <-answering
	mu.Lock()
	defer mu.Unlock()
	if len(answered) != 1 || len(wrote) != 1 {
		t.Fatalf("Answered called %d times, Wrote %d; want 1 each", len(answered), len(wrote))
	}
	if answered[0].Before(began) || answered[0].Sub(wrote[0]) < hold {
		t.Errorf("answered at %v, LINE began answering at %v, wrote at %v: the round trip must include LINE's %v",
			answered[0].Format(time.StampMicro), began.Format(time.StampMicro), wrote[0].Format(time.StampMicro), hold)
	}
}
