package intent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
)

const (
	bot  = "U4af4980629e0c6b7a9b1a4f1c5e8d2aa"
	user = "U1b2c3d4e5f60718293a4b5c6d7e8f901"
)

func setup(t *testing.T) (context.Context, jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx, queuetest.Start(t).JS
}

func newPush(t *testing.T, text string) *intent.Intent {
	t.Helper()
	in, err := intent.New("2001234567", bot, intent.Push, map[string]any{
		"to": user, "messages": []any{map[string]string{"type": "text", "text": text}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// stored reads every message of LINE_INTENTS by sequence. (An ordered
// consumer is refused on a WorkQueue stream, and a durable one would take the
// messages away from the dispatcher's consumers.)
func stored(t *testing.T, ctx context.Context, js jetstream.JetStream) []*jetstream.RawStreamMsg {
	t.Helper()
	s, err := js.Stream(ctx, queue.IntentsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
		out = append(out, m)
	}
	return out
}

func TestPublish(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t)
	in := newPush(t, "hello")
	ack, err := intent.Publish(ctx, js, in)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Stream != queue.IntentsStream || ack.Sequence == 0 || ack.Duplicate {
		t.Fatalf("ack = %+v", ack)
	}
	again, err := intent.Publish(ctx, js, in)
	if err != nil {
		t.Fatalf("duplicate publish is an error: %v", err)
	}
	if !again.Duplicate || again.Sequence != ack.Sequence {
		t.Fatalf("second ack = %+v, want a duplicate of seq %d", again, ack.Sequence)
	}

	msgs := stored(t, ctx, js)
	if len(msgs) != 1 {
		t.Fatalf("stream holds %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if got := m.Header.Get(jetstream.MsgIDHeader); got != in.ID {
		t.Errorf("Nats-Msg-Id = %q, want %q", got, in.ID)
	}
	if !strings.HasSuffix(m.Subject, ".2001234567."+bot+".push") {
		t.Errorf("stored subject %q does not end with the intent's key", m.Subject)
	}
	back, err := intent.Decode(m.Data)
	if err != nil {
		t.Fatalf("stored intent does not decode: %v", err)
	}
	if back.ID != in.ID || !back.CreatedAt.Equal(in.CreatedAt) || string(back.Body) != string(in.Body) {
		t.Errorf("stored intent %+v differs from published %+v", back, in)
	}
}

func TestPublishRefusesInvalid(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t)
	in := newPush(t, "x")
	in.Unit = "not a unit"
	_, err := intent.Publish(ctx, js, in)
	var ve *intent.ValidationError
	if !errors.As(err, &ve) || !ve.Has("unit") {
		t.Fatalf("err = %v, want a ValidationError on unit", err)
	}
	if n := len(stored(t, ctx, js)); n != 0 {
		t.Fatalf("an invalid intent was published (%d stored)", n)
	}
}

func TestPublishBatch(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t)
	var ins []*intent.Intent
	for i := range 300 {
		ins = append(ins, newPush(t, fmt.Sprintf("m%d", i)))
	}
	bad := newPush(t, "bad")
	bad.Bot = "nope"
	ins = append(ins[:10], append([]*intent.Intent{bad, ins[3]}, ins[10:]...)...) // invalid at 10, duplicate at 11

	seen := 0
	res, err := intent.PublishBatch(ctx, js, ins, intent.MaxInFlight(32), intent.OnResult(func(int, intent.Result) { seen++ }))
	if err == nil || !strings.Contains(err.Error(), "1 of 302 intents not published") {
		t.Fatalf("err = %v, want one failure", err)
	}
	if len(res) != len(ins) || seen != len(ins) {
		t.Fatalf("%d results, %d callbacks for %d intents", len(res), seen, len(ins))
	}
	for i, r := range res {
		switch {
		case r.ID != ins[i].ID:
			t.Fatalf("result %d is for %s, want %s", i, r.ID, ins[i].ID)
		case i == 10:
			var ve *intent.ValidationError
			if !errors.As(r.Err, &ve) || r.Ack != nil {
				t.Errorf("invalid intent: %+v", r)
			}
		case i == 11:
			if r.Err != nil || !r.Ack.Duplicate || r.Ack.Sequence != res[3].Ack.Sequence {
				t.Errorf("duplicate: %+v, ack %+v", r, r.Ack)
			}
		case r.Err != nil || r.Ack == nil || r.Ack.Duplicate:
			t.Errorf("result %d: %+v", i, r)
		}
	}
	msgs := stored(t, ctx, js)
	if len(msgs) != 300 {
		t.Fatalf("stream holds %d messages, want 300", len(msgs))
	}
	var first intent.Intent
	if err := json.Unmarshal(msgs[0].Data, &first); err != nil || first.ID != ins[0].ID {
		t.Errorf("first stored intent %s, want %s (order kept)", first.ID, ins[0].ID)
	}
}

func TestPublishBatchCancelled(t *testing.T) {
	t.Parallel()
	_, js := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ins := []*intent.Intent{newPush(t, "a"), newPush(t, "b")}
	res, err := intent.PublishBatch(ctx, js, ins)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	for i, r := range res {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("result %d: %+v", i, r)
		}
	}
}

func TestPublishBatchAllGood(t *testing.T) {
	t.Parallel()
	ctx, js := setup(t)
	res, err := intent.PublishBatch(ctx, js, []*intent.Intent{newPush(t, "a")})
	if err != nil || len(res) != 1 || res[0].Ack == nil {
		t.Fatalf("res %+v err %v", res, err)
	}
	if res, err := intent.PublishBatch(ctx, js, nil); err != nil || len(res) != 0 {
		t.Fatalf("empty batch: %+v %v", res, err)
	}
}
