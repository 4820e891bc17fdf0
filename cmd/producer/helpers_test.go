package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/logtest"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
)

const (
	testChannel = "2001234567"
	testBot     = "U4af4980629e0c6b7a9b1a4f1c5e8d2aa"
	testUser    = "U1b2c3d4e5f60718293a4b5c6d7e8f901"
)

// setupQueue starts an embedded JetStream with every stream provisioned.
func setupQueue(t *testing.T) (context.Context, *queue.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx, queuetest.Start(t)
}

// storedIntent is one message of LINE_INTENTS, decoded.
type storedIntent struct {
	msgID   string
	subject string
	in      *intent.Intent
}

// stored reads LINE_INTENTS by sequence. (Ordered consumers are refused on a
// WorkQueue stream, and a durable consumer would take the messages.)
func stored(t *testing.T, ctx context.Context, js jetstream.JetStream) []storedIntent {
	t.Helper()
	s, err := js.Stream(ctx, queue.IntentsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []storedIntent
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
		in, err := intent.Decode(m.Data)
		if err != nil {
			t.Fatalf("stored intent seq %d does not decode: %v", seq, err)
		}
		out = append(out, storedIntent{msgID: m.Header.Get(jetstream.MsgIDHeader), subject: m.Subject, in: in})
	}
	return out
}

func testStdio(env map[string]string) (stdio, *logtest.Buffer, *logtest.Buffer) {
	out, errb := &logtest.Buffer{}, &logtest.Buffer{}
	return stdio{
		stdout: out,
		stderr: errb,
		getenv: func(k string) string { return env[k] },
	}, out, errb
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
