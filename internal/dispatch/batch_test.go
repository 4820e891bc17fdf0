package dispatch

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/backlog"
	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
)

const (
	testChannel = "1234567890"
	testBot     = "U000000000000000000000000b0700000"
)

// batchBundle is a real JetStream with one spilled batch in LINE_BACKLOG and
// an engine to refill it.
type batchBundle struct {
	ctx  context.Context
	e    *Engine
	c    jetstream.Consumer
	s    jetstream.Stream
	recs []backlog.Record
}

// setupBatch stores one batch of the records made by mk (nil: n valid
// pushes) and returns the bundle.
func setupBatch(t *testing.T, n int, mk func(i int) backlog.Record) *batchBundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	conn := queuetest.Start(t)
	recs := make([]backlog.Record, n)
	for i := range recs {
		if mk != nil {
			recs[i] = mk(i)
			continue
		}
		recs[i] = validRecord(t, i)
	}
	m, err := backlog.Encode(queue.BacklogSubject(0, testChannel, testBot, "push"), recs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.JS.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	s, err := conn.JS.Stream(ctx, queue.BacklogStream)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: "refill", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{js: conn.JS, cfg: Config{AckWait: 30 * time.Second, Pod: "test"}, metrics: NewMetrics(nil), credits: make(chan struct{}, 1000), held: newHeldSet()}
	return &batchBundle{ctx: ctx, e: e, c: c, s: s, recs: recs}
}

func validRecord(t *testing.T, i int) backlog.Record {
	t.Helper()
	in, err := intent.New(testChannel, testBot, intent.Push, json.RawMessage(`{"to":"U00000000000000000000000000000001","messages":[{"type":"text","text":"hi `+strconv.Itoa(i)+`"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return backlog.Record{MsgID: in.ID, Seq: uint64(100 + i), Data: data}
}

// fetch delivers the batch and turns it into jobs; credits are what the
// refill holds for it.
func (b *batchBundle) fetch(t *testing.T, credits int) ([]*job, int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		batch, err := b.c.Fetch(1, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for msg := range batch.Messages() {
			var rep refillReport
			left := b.e.unbatch(b.ctx, 0, msg, credits, &rep)
			return rep.jobs, left
		}
	}
	t.Fatal("the batch was not (re)delivered within 10 s")
	return nil, 0
}

// stored is how many messages LINE_BACKLOG still holds (a work queue: an
// acked batch is gone).
func (b *batchBundle) stored(t *testing.T) uint64 {
	t.Helper()
	info, err := b.s.Info(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// last returns the newest message stream holds on subject.
func (b *batchBundle) last(t *testing.T, stream, subject string) *jetstream.RawStreamMsg {
	t.Helper()
	s, err := b.e.js.Stream(b.ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(b.ctx, subject)
	if err != nil {
		t.Fatalf("nothing in %s on %s: %v", stream, subject, err)
	}
	return msg
}

// waitAcked polls until LINE_BACKLOG is empty: the batch was acked after
// what happened.
func (b *batchBundle) waitAcked(t *testing.T, after string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.stored(t) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the batch was not acked after %s", after)
		}
		time.Sleep(10 * time.Millisecond) // polling JetStream's state
	}
}

func TestBatchIsAckedOnceEveryMemberFinished(t *testing.T) {
	t.Parallel()
	b := setupBatch(t, 3, nil)
	jobs, left := b.fetch(t, 10)
	if len(jobs) != 3 || left != 7 {
		t.Fatalf("%d jobs and %d credits left, want 3 and 7", len(jobs), left)
	}
	for i, j := range jobs {
		if j.in.ID != b.recs[i].MsgID {
			t.Fatalf("job %d is intent %s, want %s: a batch keeps its order", i, j.in.ID, b.recs[i].MsgID)
		}
	}
	for _, j := range jobs[:2] {
		if err := j.msg.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	if err := jobs[0].msg.Ack(); err != nil { // twice: still one settlement
		t.Fatal(err)
	}
	if n := b.stored(t); n != 1 {
		t.Fatalf("LINE_BACKLOG holds %d messages with one member unfinished, want 1", n)
	}
	if err := jobs[2].msg.Ack(); err != nil {
		t.Fatal(err)
	}
	b.waitAcked(t, "its last member finished")
}

func TestBatchWithAHandedBackMemberIsRedeliveredWhole(t *testing.T) {
	t.Parallel()
	b := setupBatch(t, 3, nil)
	jobs, _ := b.fetch(t, 10)
	_ = jobs[0].msg.Ack()
	b.e.handBack(jobs[1])
	if !b.e.held.holds(jobs[1].msg.(*batchMember).b.seq) {
		t.Fatal("the batch stopped counting as held before all its members settled")
	}
	_ = jobs[2].msg.Ack()
	again, _ := b.fetch(t, 10)
	if len(again) != 3 {
		t.Fatalf("redelivered batch has %d jobs, want all 3 (JetStream cannot take back part of a message)", len(again))
	}
	if again[1].in.ID != jobs[1].in.ID {
		t.Errorf("redelivered member 1 is %s, want %s", again[1].in.ID, jobs[1].in.ID)
	}
}

// A refill whose credits cover less than the batch takes it whole: the
// members beyond the credits hold none, and none is lost.
func TestBatchBeyondCreditsHoldsNone(t *testing.T) {
	t.Parallel()
	b := setupBatch(t, 5, nil)
	jobs, left := b.fetch(t, 2)
	if len(jobs) != 5 || left != 0 {
		t.Fatalf("%d jobs, %d credits left; want 5 and 0", len(jobs), left)
	}
	with := 0
	for _, j := range jobs {
		if j.credit.Load() {
			with++
		}
	}
	if with != 2 {
		t.Errorf("%d members hold a credit, want 2", with)
	}
}

// An invalid intent inside a batch (spilled undecoded) becomes a dead letter
// under its LINE_INTENTS sequence; the others are refilled.
func TestInvalidMemberIsDeadLetteredAndTheRestRefilled(t *testing.T) {
	t.Parallel()
	bad := setupBatch(t, 3, func(i int) backlog.Record {
		if i == 1 {
			return backlog.Record{MsgID: "bad", Seq: 4242, Data: []byte(`{"id":"not a uuid"}`)}
		}
		return validRecord(t, i)
	})
	jobs, _ := bad.fetch(t, 10)
	if len(jobs) != 2 {
		t.Fatalf("%d jobs, want the 2 valid ones", len(jobs))
	}
	msg := bad.last(t, queue.OutcomesStream, "line.outcomes.>")
	if id := msg.Header.Get(jetstream.MsgIDHeader); id != "invalid-4242" {
		t.Errorf("invalid member's outcome ID %q, want invalid-4242 (its LINE_INTENTS sequence)", id)
	}
	var o outcome.Outcome
	if err := json.Unmarshal(msg.Data, &o); err != nil {
		t.Fatal(err)
	}
	if o.Result != outcome.Dead || o.Reason == "" {
		t.Errorf("outcome %+v, want a dead letter with a reason", o)
	}
	for _, j := range jobs {
		_ = j.msg.Ack()
	}
	bad.waitAcked(t, "its valid members finished and the invalid one was dead-lettered")
}

// A batch that cannot be read is dead-lettered whole, never dropped.
func TestUnreadableBatchIsDeadLettered(t *testing.T) {
	t.Parallel()
	b := setupBatch(t, 2, nil)
	m, err := backlog.Encode(queue.BacklogSubject(0, testChannel, testBot, "push"), b.recs)
	if err != nil {
		t.Fatal(err)
	}
	m.Header.Set(backlog.HeaderCount, "3") // says 3, holds 2
	m.Header.Set(jetstream.MsgIDHeader, "unreadable")
	if _, err := b.e.js.PublishMsg(b.ctx, m); err != nil {
		t.Fatal(err)
	}
	first, _ := b.fetch(t, 10)
	for _, j := range first {
		_ = j.msg.Ack()
	}
	jobs, _ := b.fetch(t, 10)
	if len(jobs) != 0 {
		t.Fatalf("%d jobs from an unreadable batch", len(jobs))
	}
	msg := b.last(t, queue.DeadStream, "line.dead.>")
	if got := msg.Header.Get(outcome.HeaderReason); got != outcome.ReasonInvalidIntent {
		t.Errorf("reason %q, want %q", got, outcome.ReasonInvalidIntent)
	}
}
