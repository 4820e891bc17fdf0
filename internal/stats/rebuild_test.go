package stats_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/stats"
)

func TestRebuildGivesIdenticalDocuments(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.publishAll(mix(0, 400, nov))
	p := f.start("pod-1", f.conn.JS)
	f.caughtUp(p)
	f.publishAll(mix(400, 400, nov.AddDate(0, 1, 0))) // a second month
	f.caughtUp(p)

	rep, err := stats.Rebuild(f.ctx, f.conn.JS, stats.RebuildConfig{Keep: true}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Docs != len(f.model) || rep.Identical != rep.Docs || len(rep.Lagging)+len(rep.Ahead) != 0 {
		t.Errorf("report = %+v, want %d identical documents", rep, len(f.model))
	}
	if rep.FirstSeq != 1 || rep.Through != 800 {
		t.Errorf("replayed %d..%d, want 1..800", rep.FirstSeq, rep.Through)
	}
	// The kept target serves the same answers as the live bucket.
	rebuilt := stats.NewStore(f.conn.JS, stats.DefaultRebuildBucket)
	for _, month := range []string{"2026-11", "2026-12"} {
		a, err := f.store.Get(f.ctx, channel, botB, month)
		if err != nil {
			t.Fatal(err)
		}
		b, err := rebuilt.Get(f.ctx, channel, botB, month)
		if err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("%s differs:\nlive    %s\nrebuilt %s", month, ja, jb)
		}
	}
}

func TestRebuildFindsDamageAndLag(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.publishAll(mix(0, 100, nov))
	p := f.start("pod-1", f.conn.JS)
	f.caughtUp(p)
	p.Stop()

	kv, err := f.conn.JS.KeyValue(f.ctx, stats.DefaultBucket)
	if err != nil {
		t.Fatal(err)
	}
	// Damage bot A's document by hand, keep its LastSeq.
	keyA := stats.Key(channel, botA, "2026-11")
	d, err := f.store.Get(f.ctx, channel, botA, "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	d.Totals.Sent++
	b, _ := json.Marshal(d)
	if _, err := kv.Put(f.ctx, keyA, b); err != nil {
		t.Fatal(err)
	}
	// A document no outcome explains.
	keyX := stats.Key(channel, bot(0xc), "2026-11")
	if _, err := kv.Put(f.ctx, keyX, []byte(`{"channel":"1234567890","units":{},"lastSeq":1}`)); err != nil {
		t.Fatal(err)
	}
	// Outcomes for bot B that the stopped projector has not folded.
	f.publishAll(mix(101, 1, nov))

	rep, err := stats.Rebuild(f.ctx, f.conn.JS, stats.RebuildConfig{Target: "CHECK"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	keyB := stats.Key(channel, botB, "2026-11")
	if rep.OK() || !slices.Equal(rep.Different, []string{keyA}) || !slices.Equal(rep.Extra, []string{keyX}) || !slices.Equal(rep.Lagging, []string{keyB}) {
		t.Errorf("report = %+v; want %s different, %s extra, %s lagging", rep, keyA, keyX, keyB)
	}
	if _, err := f.conn.JS.KeyValue(f.ctx, "CHECK"); err == nil {
		t.Error("the target bucket was kept without Keep")
	}
	if _, err := stats.Rebuild(f.ctx, f.conn.JS, stats.RebuildConfig{Target: stats.DefaultBucket}, zerolog.Nop()); err == nil {
		t.Error("Rebuild into the live bucket was allowed")
	}
}
