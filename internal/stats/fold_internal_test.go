package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
)

// These tests drive folders directly, without the lease, to check the
// exactness argument on its own: any number of folders, any batching, any
// starting point at or before the checkpoint give the same documents.

type foldFixture struct {
	t    *testing.T
	ctx  context.Context
	js   jetstream.JetStream
	last uint64
}

func foldSetup(t *testing.T, n int) *foldFixture {
	t.Helper()
	c := queuetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	f := &foldFixture{t: t, ctx: ctx, js: c.JS}
	base := time.Date(2026, 11, 30, 14, 50, 0, 0, time.UTC) // crosses into December (Tokyo)
	for i := range n {
		o := outcome.Outcome{
			IntentID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Channel: "42",
			Bot: fmt.Sprintf("U%032x", i%3), Endpoint: "multicast", Result: outcome.Sent,
			Unit: fmt.Sprintf("u%d", i%4), Recipients: i%7 + 1, At: base.Add(time.Duration(i) * time.Second),
		}
		if i%5 == 0 {
			o.Result, o.Reason = outcome.Dead, outcome.ReasonQuota
		}
		b, _ := json.Marshal(o)
		ack, err := c.JS.Publish(ctx, o.Subject(), b, jetstream.WithMsgID(o.IntentID))
		if err != nil {
			t.Fatal(err)
		}
		f.last = ack.Sequence
	}
	return f
}

func (f *foldFixture) bucket(name string) jetstream.KeyValue {
	f.t.Helper()
	kv, err := openBucket(f.ctx, f.js, name, 1)
	if err != nil {
		f.t.Fatal(err)
	}
	return kv
}

func (f *foldFixture) fold(kv jetstream.KeyValue, maxBatch int) error {
	fo := newFolder(kv, 4, 16, zerolog.Nop())
	return fo.run(f.ctx, f.js, runOpts{stream: queue.OutcomesStream, maxBatch: maxBatch, linger: time.Millisecond, until: f.last})
}

// docs returns every document of a bucket with its revision.
func (f *foldFixture) docs(kv jetstream.KeyValue) map[string]string {
	f.t.Helper()
	all, err := readAll(f.ctx, kv)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range all {
		c, err := canonical(v)
		if err != nil {
			f.t.Fatal(err)
		}
		out[k] = string(c.enc)
	}
	return out
}

func TestConcurrentFoldersWithoutLeaseAreExact(t *testing.T) {
	t.Parallel()
	f := foldSetup(t, 2000)
	ref := f.bucket("REF")
	if err := f.fold(ref, 1000); err != nil {
		t.Fatal(err)
	}
	want := f.docs(ref)
	if len(want) != 6 { // 3 bots x 2 months
		t.Fatalf("reference has %d documents, want 6", len(want))
	}

	racy := f.bucket("RACY")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, batch := range []int{1, 7, 64, 500} {
		wg.Go(func() {
			kv, err := f.js.KeyValue(f.ctx, "RACY") // own handle, own cache
			if err == nil {
				err = f.fold(kv, batch)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := f.docs(racy); !maps.Equal(got, want) {
		t.Errorf("four racing folders differ from one sequential fold:\n got %v\nwant %v", got, want)
	}
}

func TestReplayFromScratchChangesNothing(t *testing.T) {
	t.Parallel()
	f := foldSetup(t, 300)
	kv := f.bucket("LIVE")
	if err := f.fold(kv, 50); err != nil {
		t.Fatal(err)
	}
	want := f.docs(kv)
	revs := map[string]uint64{}
	for k := range want {
		e, err := kv.Get(f.ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		revs[k] = e.Revision()
	}
	// Losing the checkpoint means every outcome is delivered again.
	if err := kv.Delete(f.ctx, checkpointKey); err != nil {
		t.Fatal(err)
	}
	if err := f.fold(kv, 33); err != nil {
		t.Fatal(err)
	}
	if got := f.docs(kv); !maps.Equal(got, want) {
		t.Errorf("replay changed documents:\n got %v\nwant %v", got, want)
	}
	for k, rev := range revs {
		e, err := kv.Get(f.ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if e.Revision() != rev {
			t.Errorf("%s rewritten by a replay (revision %d -> %d)", k, rev, e.Revision())
		}
	}
}

func TestFlushSameBatchTwiceCountsOnce(t *testing.T) {
	t.Parallel()
	f := foldSetup(t, 0)
	kv := f.bucket("B")
	fo := newFolder(kv, 2, 16, zerolog.Nop())
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	g := &group{channel: "42", bot: fmt.Sprintf("U%032x", 1), month: "2026-11",
		seqs: []uint64{3, 5}, events: []event{
			{Channel: "42", Result: outcome.Sent, Unit: "a", Recipients: 2, At: at},
			{Channel: "42", Result: outcome.Dead, Reason: "quota", Unit: "a", At: at},
		}}
	key := Key(g.channel, g.bot, g.month)
	for range 3 { // a redelivered batch, with a warm and then a cold cache
		if err := fo.flush(f.ctx, map[string]*group{key: g}); err != nil {
			t.Fatal(err)
		}
		fo.docs = map[string]*cachedDoc{}
	}
	c, err := readDoc(f.ctx, kv, key)
	if err != nil {
		t.Fatal(err)
	}
	a := c.doc.Units["a"]
	if a.Requests != 2 || a.Sent != 1 || a.Recipients != 2 || a.Failed["quota"] != 1 || c.doc.LastSeq != 5 {
		t.Errorf("after three flushes: %+v lastSeq %d", *a, c.doc.LastSeq)
	}
}

func TestDocumentUnitsAreBounded(t *testing.T) {
	t.Parallel()
	d := newDoc("42", "U", "2026-11")
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range MaxUnitsPerDoc + 10 {
		d.apply(&event{Result: outcome.Sent, UnitAction: outcome.UnitOverCap, Unit: fmt.Sprintf("n%d", i), Recipients: 1, At: at}, uint64(i+1))
	}
	if len(d.Units) != MaxUnitsPerDoc+1 || d.Units[OverflowUnit].Sent != 10 || d.Totals.Sent != int64(MaxUnitsPerDoc+10) {
		t.Errorf("units %d, overflow %+v, totals %+v", len(d.Units), d.Units[OverflowUnit], d.Totals)
	}
}
