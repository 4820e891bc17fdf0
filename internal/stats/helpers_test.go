package stats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
	"github.com/linedispatch/linedispatch/internal/stats"
	"github.com/linedispatch/linedispatch/internal/unit"
)

const channel = "1234567890"

var (
	botA = bot(0xa)
	botB = bot(0xb)
	// nov is mid-November 2026 in Tokyo.
	nov = time.Date(2026, 11, 10, 3, 0, 0, 0, time.UTC)
)

func bot(i int) string { return fmt.Sprintf("U%032x", i) }

// fixture is an embedded JetStream plus an independent model of what the
// documents must contain, built from the outcomes the test published.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	conn  *queue.Conn
	store *stats.Store
	model map[string]map[string]*stats.Counts // doc key -> unit -> counts
	n     int                                 // outcomes published
}

func setup(t *testing.T) *fixture {
	t.Helper()
	c := queuetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return &fixture{t: t, ctx: ctx, conn: c, store: stats.NewStore(c.JS, ""), model: map[string]map[string]*stats.Counts{}}
}

// js returns a JetStream on a connection of its own: another pod.
func (f *fixture) js() jetstream.JetStream {
	f.t.Helper()
	nc, err := nats.Connect(f.conn.URL())
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		f.t.Fatal(err)
	}
	return js
}

func (f *fixture) start(name string, js jetstream.JetStream) *stats.Projector {
	f.t.Helper()
	p, err := stats.StartProjector(f.ctx, js, stats.ProjectorConfig{
		Name: name, LeaseTTL: time.Second, Linger: 5 * time.Millisecond, MaxBatch: 200,
	}, zerolog.Nop())
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(p.Stop)
	return p
}

func (f *fixture) caughtUp(p *stats.Projector) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	if err := p.WaitCaughtUp(ctx); err != nil {
		f.t.Fatal(err)
	}
}

// intentID is a UUID unique to the i-th outcome.
func intentID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// publish stores an outcome the way the dispatcher does and returns whether
// the stream discarded it as a duplicate. Non-duplicates enter the model.
func (f *fixture) publish(o outcome.Outcome) bool {
	f.t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		f.t.Fatal(err)
	}
	ack, err := f.conn.JS.Publish(f.ctx, o.Subject(), b, jetstream.WithMsgID(o.IntentID))
	if err != nil {
		f.t.Fatal(err)
	}
	if ack.Duplicate {
		return true
	}
	f.expect(o)
	return false
}

// expect adds o to the model, written independently of the projection.
func (f *fixture) expect(o outcome.Outcome) {
	key := stats.Key(o.Channel, o.Bot, unit.Month(o.At))
	if f.model[key] == nil {
		f.model[key] = map[string]*stats.Counts{}
	}
	for _, u := range []string{o.Unit, "*total*"} {
		c := f.model[key][u]
		if c == nil {
			c = &stats.Counts{}
			f.model[key][u] = c
		}
		c.Requests++
		if o.Result == outcome.Dead {
			if c.Failed == nil {
				c.Failed = map[string]int64{}
			}
			c.Failed[o.Reason]++
			c.FailedTotal++
			continue
		}
		c.Sent++
		c.Recipients += int64(o.Recipients)
		if o.UnitAction == outcome.UnitStripped {
			c.Stripped++
		}
		if o.UnitAction == outcome.UnitOverCap {
			c.OverCap++
		}
		if o.Unit != "" && o.UnitAction == "" {
			c.Attached++
			c.AttachedRecipients += int64(o.Recipients)
		}
		if c.FirstSentAt.IsZero() || o.At.Before(c.FirstSentAt) {
			c.FirstSentAt = o.At.UTC()
		}
		if o.At.After(c.LastSentAt) {
			c.LastSentAt = o.At.UTC()
		}
	}
}

// mix returns n outcomes starting with number from: push, multicast and
// reply; with and without unit names (case matters); sent, stripped, over
// the cap and dead for several reasons; for two bots; one second apart.
func mix(from, n int, base time.Time) []outcome.Outcome {
	units := []string{"", "promo_a", "promo_b", "Promo_a"}
	reasons := []string{outcome.ReasonQuota, outcome.ReasonRejected, outcome.ReasonUnitCap, outcome.ReasonExpired}
	var out []outcome.Outcome
	for i := from; i < from+n; i++ {
		o := outcome.Outcome{
			IntentID: intentID(i), Channel: channel, Bot: []string{botA, botB}[i%2],
			Result: outcome.Sent, Attempts: 1, At: base.Add(time.Duration(i) * time.Second),
		}
		switch i % 3 {
		case 0:
			o.Endpoint, o.Recipients, o.Unit = "push", 1, units[(i/3)%len(units)]
		case 1:
			o.Endpoint, o.Recipients, o.Unit = "multicast", 1+i%5, units[(i/5)%len(units)]
		default:
			o.Endpoint, o.Recipients = "reply", 1
		}
		switch {
		case i%7 == 0:
			o.Result, o.Reason = outcome.Dead, reasons[(i/7)%len(reasons)]
		case o.Unit != "" && i%11 == 0:
			o.UnitAction = outcome.UnitStripped
		case o.Unit != "" && i%13 == 0:
			o.UnitAction = outcome.UnitOverCap
		}
		out = append(out, o)
	}
	return out
}

func (f *fixture) publishAll(os []outcome.Outcome) {
	f.t.Helper()
	for _, o := range os {
		f.publish(o)
	}
}

// check compares every document with the model.
func (f *fixture) check() {
	f.t.Helper()
	if len(f.model) == 0 {
		f.t.Fatal("empty model")
	}
	for key, units := range f.model {
		parts := strings.Split(key, ".")
		ch, bt, month := parts[0], parts[1], parts[2]
		d, err := f.store.Get(f.ctx, ch, bt, month)
		if err != nil {
			f.t.Fatalf("doc %s: %v", key, err)
		}
		if d.Channel != ch || d.Bot != bt || d.Month != month || d.LastSeq == 0 {
			f.t.Errorf("doc %s header = %s %s %s lastSeq %d", key, d.Channel, d.Bot, d.Month, d.LastSeq)
		}
		got := maps.Clone(d.Units)
		got["*total*"] = &d.Totals
		if len(got) != len(units) {
			f.t.Errorf("doc %s has units %v, want %v", key, keys(got), keys(units))
		}
		for u, want := range units {
			c := got[u]
			if c == nil {
				f.t.Errorf("doc %s: unit %q missing", key, u)
				continue
			}
			if !equalCounts(c, want) {
				f.t.Errorf("doc %s unit %q:\n got %+v\nwant %+v", key, u, *c, *want)
			}
		}
	}
}

func equalCounts(a, b *stats.Counts) bool {
	return a.Requests == b.Requests && a.Recipients == b.Recipients && a.Sent == b.Sent &&
		maps.Equal(a.Failed, b.Failed) && a.FailedTotal == b.FailedTotal &&
		a.Stripped == b.Stripped && a.OverCap == b.OverCap &&
		a.Attached == b.Attached && a.AttachedRecipients == b.AttachedRecipients &&
		a.FirstSentAt.Equal(b.FirstSentAt) && a.LastSentAt.Equal(b.LastSentAt)
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
