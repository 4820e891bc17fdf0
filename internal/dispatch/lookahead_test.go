package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
	"github.com/linedispatch/linedispatch/internal/sender"
)

const quietBot = "U000000000000000000000000b07000a3"

// aheadBundle is a one-partition LINE_INTENTS holding a hot key's backlog
// and then a quiet key's intents, the partition's consumer, and an engine
// that owns the partition but does not run.
type aheadBundle struct {
	ctx   context.Context
	e     *Engine
	s     jetstream.Stream
	c     jetstream.Consumer
	hot   laneKey
	quiet []*intent.Intent
}

func setupAhead(t *testing.T, hot, quiet int) *aheadBundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	conn := queuetest.Start(t, queuetest.Partitions(1))
	b := &aheadBundle{ctx: ctx, hot: laneKey{channel: testChannel, bot: testBot, endpoint: intent.Push}}
	publish := func(bot string, i int) *intent.Intent {
		in, err := intent.New(testChannel, bot, intent.Push, json.RawMessage(`{"to":"U00000000000000000000000000000001","messages":[{"type":"text","text":"hi `+strconv.Itoa(i)+`"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := intent.Publish(ctx, conn.JS, in); err != nil {
			t.Fatal(err)
		}
		return in
	}
	for i := 0; i < hot; i++ {
		publish(testBot, i)
	}
	for i := 0; i < quiet; i++ {
		b.quiet = append(b.quiet, publish(quietBot, i))
	}
	e, err := New(Config{Pod: "test", AckWait: 30 * time.Second, MaxHeld: 100}, Deps{JS: conn.JS, Partitions: 1, Sender: nopSender{}})
	if err != nil {
		t.Fatal(err)
	}
	b.e = e
	if b.s, err = conn.JS.Stream(ctx, queue.IntentsStream); err != nil {
		t.Fatal(err)
	}
	if b.c, err = conn.JS.CreateOrUpdateConsumer(ctx, queue.IntentsStream, e.consumerConfig(0)); err != nil {
		t.Fatal(err)
	}
	return b
}

// round runs one lookahead round and returns the jobs it queued. The
// scheduler's input holds fetchBatch (256) jobs: more than these tests queue.
func (b *aheadBundle) round(t *testing.T, cursors map[string]uint64) []*job {
	t.Helper()
	b.e.checkFirstDeliveries.Store(true)
	if err := b.e.lookaheadRound(b.ctx, 0, b.s, cursors); err != nil {
		t.Fatal(err)
	}
	var jobs []*job
	for len(b.e.sched.in) > 0 {
		jobs = append(jobs, <-b.e.sched.in)
	}
	return jobs
}

// stored reports whether LINE_INTENTS still holds sequence seq.
func (b *aheadBundle) stored(t *testing.T, seq uint64) bool {
	t.Helper()
	_, err := b.s.GetMsg(b.ctx, seq)
	return err == nil
}

// TestLookaheadTakesQuietKeysAheadOfTheConsumer: behind a spilling key's
// backlog, the quiet key's intents are taken in order without the consumer;
// finishing one deletes it from the stream, and the consumer then delivers
// the hot key's intents and drops its copies of the ones still held.
func TestLookaheadTakesQuietKeysAheadOfTheConsumer(t *testing.T) {
	t.Parallel()
	b := setupAhead(t, 50, 3)
	b.e.spillingKeys.Store(b.hot, struct{}{})

	cursors := map[string]uint64{}
	jobs := b.round(t, cursors)
	if len(jobs) != len(b.quiet) {
		t.Fatalf("lookahead queued %d jobs, want the quiet key's %d", len(jobs), len(b.quiet))
	}
	for i, j := range jobs {
		if j.in.ID != b.quiet[i].ID {
			t.Errorf("job %d is intent %s, want %s (the quiet key in publish order)", i, j.in.ID, b.quiet[i].ID)
		}
		if _, ok := j.msg.(*aheadMsg); !ok {
			t.Errorf("job %d came in a %T, want *aheadMsg", i, j.msg)
		}
	}
	if again := b.round(t, cursors); len(again) != 0 {
		t.Errorf("a second round queued %d jobs; the quiet key's intents are held already", len(again))
	}

	// Finishing a job read ahead removes its message.
	first := jobs[0]
	if err := first.msg.Ack(); err != nil {
		t.Fatal(err)
	}
	b.e.finished.add(first.seq, time.Now())
	b.e.forget(first)
	if b.stored(t, first.seq.seq) {
		t.Error("the finished intent is still in LINE_INTENTS")
	}
	if err := first.msg.Ack(); err != nil {
		t.Errorf("acking a message already gone: %v", err)
	}

	// The consumer reaches the end: 50 hot intents, and copies of the two
	// quiet intents still held, which it must not act on.
	fresh, dups := 0, 0
	for deadline := time.Now().Add(10 * time.Second); fresh+dups < 52 && time.Now().Before(deadline); {
		batch, err := b.c.Fetch(100, jetstream.FetchPriorityGroup(PriorityGroup), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for msg := range batch.Messages() {
			if _, dup := b.e.redundantCopy(msg); dup {
				dups++
			} else {
				fresh++
			}
		}
	}
	if fresh != 50 || dups != 2 {
		t.Errorf("consumer delivered %d fresh and %d redundant copies, want 50 and 2", fresh, dups)
	}

	// A job handed back stays in the stream for the consumer.
	b.e.handBack(jobs[1])
	if !b.stored(t, jobs[1].seq.seq) {
		t.Error("a handed-back intent read ahead was removed from LINE_INTENTS")
	}
}

// TestLookaheadLeavesSpillingKeysAndInvalidIntents: a key that spills is
// the consumer's to pass through, and an intent that does not decode is
// left for the consumer to dead-letter in its turn.
func TestLookaheadLeavesSpillingKeysAndInvalidIntents(t *testing.T) {
	t.Parallel()
	b := setupAhead(t, 5, 0)
	if _, err := b.e.js.Publish(b.ctx, intent.Subject(testChannel, quietBot, intent.Push), []byte(`{"not":"an intent"}`)); err != nil {
		t.Fatal(err)
	}
	b.e.spillingKeys.Store(b.hot, struct{}{})
	if jobs := b.round(t, map[string]uint64{}); len(jobs) != 0 {
		t.Fatalf("lookahead queued %d jobs, want none", len(jobs))
	}
	if got := len(b.e.credits); got != 100 {
		t.Errorf("credits after the round = %d, want all 100 back", got)
	}
	info, err := b.s.Info(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 6 {
		t.Errorf("LINE_INTENTS holds %d messages, want all 6", info.State.Msgs)
	}
}

// TestNoteDepthStartsOneLookaheadForADeepPartition: the lookahead starts
// when a pull finds the partition deep, once, reads ahead while a key of the
// partition spills, and stops when the partition is shallow.
func TestNoteDepthStartsOneLookaheadForADeepPartition(t *testing.T) {
	t.Parallel()
	b := setupAhead(t, 0, 2)
	b.e.cfg.LookaheadDepth = 10
	b.e.ahead[0].spilling.Store(1) // the hot key (not in the stream here)
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	b.e.noteDepth(ctx, 0, 5)
	if b.e.ahead[0].running.Load() {
		t.Fatal("a lookahead started for a shallow partition")
	}
	b.e.noteDepth(ctx, 0, 50)
	b.e.noteDepth(ctx, 0, 60) // one is running already
	var jobs []*job
	for deadline := time.Now().Add(10 * time.Second); len(jobs) < 2 && time.Now().Before(deadline); {
		select {
		case j := <-b.e.sched.in:
			jobs = append(jobs, j)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if len(jobs) != 2 {
		t.Fatalf("lookahead queued %d jobs, want the 2 quiet intents", len(jobs))
	}
	b.e.ahead[0].depth.Store(0)
	for deadline := time.Now().Add(10 * time.Second); b.e.ahead[0].running.Load(); {
		if time.Now().After(deadline) {
			t.Fatal("the lookahead did not stop once the partition was shallow")
		}
		time.Sleep(5 * time.Millisecond) // polling the goroutine's flag
	}
}

// nopSender is a Sender for engines that never send.
type nopSender struct{}

func (nopSender) Send(context.Context, sender.Request) (*sender.Response, error) {
	return nil, errors.New("nopSender: not for sending")
}
