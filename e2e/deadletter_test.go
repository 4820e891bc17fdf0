package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/queue"
)

type deadLetter struct {
	outcome outcome.Outcome
	data    []byte
	subject string
}

// deadLetters waits for n dead letters and returns them by intent subject
// order of arrival.
func (b *bundle) deadLetters(t *testing.T, n int) []deadLetter {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := b.js.Stream(b.ctx, queue.DeadStream)
		if err != nil {
			t.Fatal(err)
		}
		if int(s.CachedInfo().State.Msgs) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("have %d dead letters, want %d", s.CachedInfo().State.Msgs, n)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for a result
	}
	c, err := b.js.OrderedConsumer(b.ctx, queue.DeadStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var out []deadLetter
	for m := range batch.Messages() {
		var o outcome.Outcome
		if err := json.Unmarshal([]byte(m.Headers().Get(outcome.HeaderOutcome)), &o); err != nil {
			t.Fatalf("dead letter %s: outcome header: %v", m.Subject(), err)
		}
		if got := m.Headers().Get(outcome.HeaderReason); got != o.Reason {
			t.Errorf("reason header %q, outcome says %q", got, o.Reason)
		}
		out = append(out, deadLetter{outcome: o, data: m.Data(), subject: m.Subject()})
	}
	return out
}

func TestInvalidIntentsBecomeDeadLetters(t *testing.T) {
	t.Parallel()
	b := setup(t, linesim.Config{})
	bot := b.stack.Bots[0]
	valid := func(mut func(m map[string]any)) []byte {
		m := map[string]any{
			"id": uuid.NewString(), "channel": b.stack.Channel, "bot": bot, "endpoint": "push",
			"createdAt": time.Now().UTC().Format(time.RFC3339Nano),
			"body": map[string]any{"to": "U" + strings.Repeat("b", 32),
				"messages": []any{map[string]any{"type": "text", "text": "hello"}}},
		}
		mut(m)
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	msgs := func(k int) []any {
		out := make([]any, k)
		for i := range out {
			out[i] = map[string]any{"type": "text", "text": fmt.Sprint(i)}
		}
		return out
	}
	tests := []struct {
		name     string
		endpoint string
		data     []byte
		reason   string
		detail   string // must appear in the outcome's detail
	}{
		{"bad JSON", "push", []byte(`{"id":"x", "channel": `), outcome.ReasonInvalidJSON, ""},
		{"unknown endpoint", "push", valid(func(m map[string]any) { m["endpoint"] = "telegram" }), outcome.ReasonUnknownEndpoint, "endpoint"},
		{"malformed bot ID", "push", valid(func(m map[string]any) { m["bot"] = "U123" }), outcome.ReasonInvalidIntent, "bot"},
		{"malformed recipient", "push", valid(func(m map[string]any) { m["body"].(map[string]any)["to"] = "Uxyz" }), outcome.ReasonInvalidIntent, "body.to"},
		{"malformed intent ID", "push", valid(func(m map[string]any) { m["id"] = "1234" }), outcome.ReasonInvalidIntent, "id"},
		{"six messages", "push", valid(func(m map[string]any) { m["body"].(map[string]any)["messages"] = msgs(6) }), outcome.ReasonInvalidIntent, "body.messages"},
		{"unit with a dash", "push", valid(func(m map[string]any) { m["unit"] = "spring-sale" }), outcome.ReasonInvalidIntent, "unit"},
		{"subject of another bot", "multicast", valid(func(m map[string]any) {}), outcome.ReasonInvalidIntent, "subject"},
	}
	for i, tt := range tests {
		subject := intent.Subject(b.stack.Channel, bot, intent.Endpoint(tt.endpoint))
		if tt.name == "malformed bot ID" {
			subject = intent.Subject(b.stack.Channel, "U123", intent.Push)
		}
		if _, err := b.js.Publish(b.ctx, subject, tt.data, jetstream.WithMsgID(fmt.Sprintf("%s-%d", t.Name(), i))); err != nil {
			t.Fatal(err)
		}
	}
	// The pod keeps running: a valid intent after the invalid ones is sent.
	b.publish(t, b.pushes(t, 1))

	outs := b.outcomes(t, len(tests)+1)
	dead := b.deadLetters(t, len(tests))
	byData := map[string]deadLetter{}
	for _, d := range dead {
		byData[string(d.data)] = d
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := byData[string(tt.data)]
			if !ok {
				t.Fatalf("no dead letter keeps the original intent bytes")
			}
			if d.outcome.Reason != tt.reason {
				t.Errorf("reason = %q, want %q (detail %q)", d.outcome.Reason, tt.reason, d.outcome.Detail)
			}
			if !strings.Contains(d.outcome.Detail, tt.detail) {
				t.Errorf("detail %q does not name %q", d.outcome.Detail, tt.detail)
			}
			if !strings.HasSuffix(d.subject, "."+tt.reason) {
				t.Errorf("dead-letter subject %q does not end in the reason", d.subject)
			}
		})
	}
	sent := 0
	for _, o := range outs {
		if o.Result == outcome.Sent {
			sent++
		}
	}
	if sent != 1 {
		t.Errorf("sent = %d, want the one valid intent", sent)
	}
	if rep := b.report(t); rep.Totals.Accepted != 1 {
		t.Errorf("linesim accepted %d, want 1: invalid intents must never reach LINE", rep.Totals.Accepted)
	}
}

func TestLineRejectionBecomesDeadLetterWithLinesMessage(t *testing.T) {
	t.Parallel()
	b := setup(t, linesim.Config{})
	in, err := intent.New(b.stack.Channel, b.stack.Bots[1], intent.Reply, map[string]any{
		"replyToken": "nonexistent-reply-token",
		"messages":   []any{map[string]any{"type": "text", "text": "thanks"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b.publish(t, []*intent.Intent{in})
	dead := b.deadLetters(t, 1)
	o := dead[0].outcome
	if o.Reason != outcome.ReasonRejected || o.LineError == nil || o.LineError.Status != 400 {
		t.Fatalf("outcome = %+v, want line_rejected with LINE's 400", o)
	}
	if o.LineError.Message == "" || !strings.Contains(o.Detail, o.LineError.Message) {
		t.Errorf("LINE's message %q missing from detail %q", o.LineError.Message, o.Detail)
	}
	if o.Attempts != 1 {
		t.Errorf("attempts = %d: a 400 must not be retried", o.Attempts)
	}
	if string(dead[0].data) == "" {
		t.Error("dead letter lost the original intent")
	}
}
