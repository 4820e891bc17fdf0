package dispatch

import (
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// delivery is how a held intent answers to JetStream: the message it came
// in (a jetstream.Msg) or its share of a spilled batch (a batchMember).
type delivery interface {
	Data() []byte
	Subject() string
	Headers() nats.Header
	Ack() error
	Nak() error
	InProgress() error
}

// spillBatch is a LINE_BACKLOG message holding several intents of one key
// (internal/backlog). It is acked once every member is finished, or nakked,
// all of it, once they are all settled and one was handed back: JetStream
// cannot take back part of a message. The members already finished are then
// sent again with their retry keys (LINE answers 409) and their outcomes are
// de-duplicated: at most a batch less one per key and hand-back.
type spillBatch struct {
	e   *Engine
	msg jetstream.Msg
	seq storedSeq
	// open counts the members not yet settled.
	open atomic.Int32
	// handedBack is set when a member was handed back.
	handedBack atomic.Bool
	// lastProgress (unix nanoseconds) lets the members' keep-alives share
	// one InProgress per pass.
	lastProgress atomic.Int64
}

// newSpillBatch registers msg (stored at seq) with n members; the caller
// creates exactly n members, each settled exactly once.
func (e *Engine) newSpillBatch(msg jetstream.Msg, seq storedSeq, n int) *spillBatch {
	b := &spillBatch{e: e, msg: msg, seq: seq}
	b.open.Store(int32(n))
	b.lastProgress.Store(time.Now().UnixNano())
	if seq.stream != "" {
		e.held.hold(seq, b)
	}
	return b
}

// settle records one member's end; the last one acks or naks the message.
func (b *spillBatch) settle(handBack bool) error {
	if handBack {
		b.handedBack.Store(true)
	}
	if b.open.Add(-1) != 0 {
		return nil
	}
	if b.seq.stream != "" {
		b.e.held.release(b.seq, b)
	}
	if b.handedBack.Load() {
		return b.msg.Nak()
	}
	b.e.finished.add(b.seq, time.Now())
	return b.msg.Ack()
}

// inProgress refreshes the message's ack deadline unless a member did so
// within the last tenth of AckWait.
func (b *spillBatch) inProgress() error {
	now := time.Now().UnixNano()
	last := b.lastProgress.Load()
	if now-last < (b.e.cfg.AckWait / 10).Nanoseconds() {
		return nil
	}
	if !b.lastProgress.CompareAndSwap(last, now) {
		return nil // another member is refreshing it
	}
	return b.msg.InProgress()
}

// batchMember is one intent of a spillBatch.
type batchMember struct {
	b       *spillBatch
	data    []byte
	headers nats.Header
	settled atomic.Bool
}

func (m *batchMember) Data() []byte         { return m.data }
func (m *batchMember) Subject() string      { return m.b.msg.Subject() }
func (m *batchMember) Headers() nats.Header { return m.headers }
func (m *batchMember) InProgress() error    { return m.b.inProgress() }

// Ack settles the member as finished.
func (m *batchMember) Ack() error {
	if m.settled.Swap(true) {
		return nil
	}
	return m.b.settle(false)
}

// Nak settles the member as handed back: the whole batch is redelivered.
func (m *batchMember) Nak() error {
	if m.settled.Swap(true) {
		return nil
	}
	return m.b.settle(true)
}
