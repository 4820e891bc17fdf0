package queue_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
)

func TestProvisionIsIdempotent(t *testing.T) {
	t.Parallel()
	c := queuetest.Start(t, queuetest.Partitions(8))
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := queue.Provision(ctx, c.JS, c.Config()); err != nil {
			t.Fatalf("provision #%d: %v", i+2, err)
		}
	}
	for _, name := range []string{queue.IntentsStream, queue.BacklogStream, queue.OutcomesStream, queue.DeadStream} {
		if _, err := c.JS.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
}

func TestProvisionRefusesOtherPartitionCount(t *testing.T) {
	t.Parallel()
	c := queuetest.Start(t, queuetest.Partitions(8))
	cfg := c.Config()
	cfg.Partitions = 16
	err := queue.Provision(context.Background(), c.JS, cfg)
	if !errors.Is(err, queue.ErrIncompatibleStream) {
		t.Fatalf("err = %v, want ErrIncompatibleStream", err)
	}
	if !strings.Contains(err.Error(), "created with 8 partitions") || !strings.Contains(err.Error(), "nats.partitions") {
		t.Errorf("error does not say what to change: %v", err)
	}
}

func TestProvisionUpdatesAdjustableSettings(t *testing.T) {
	t.Parallel()
	c := queuetest.Start(t)
	cfg := c.Config()
	cfg.DuplicateWindow = 20 * time.Minute
	ctx := context.Background()
	if err := queue.Provision(ctx, c.JS, cfg); err != nil {
		t.Fatal(err)
	}
	s, err := c.JS.Stream(ctx, queue.IntentsStream)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.Duplicates; got != 20*time.Minute {
		t.Errorf("duplicate window = %s, want 20m", got)
	}
}

func TestIntentsArePartitionedByBot(t *testing.T) {
	t.Parallel()
	c := queuetest.Start(t, queuetest.Partitions(4))
	ctx := context.Background()
	bots := []string{"U00000000000000000000000000000001", "U00000000000000000000000000000002", "U00000000000000000000000000000003"}
	for _, bot := range bots {
		for _, ep := range []string{"push", "multicast"} {
			if _, err := c.JS.Publish(ctx, "line.intents.1234567890."+bot+"."+ep, []byte("{}")); err != nil {
				t.Fatal(err)
			}
		}
	}
	s, err := c.JS.Stream(ctx, queue.IntentsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	partitionOf := map[string]string{}
	for subj := range info.State.Subjects {
		tok := strings.Split(subj, ".")
		if len(tok) != 6 || tok[0] != "line" || tok[1] != "q" {
			t.Fatalf("stored subject %q, want line.q.<p>.<channel>.<bot>.<endpoint>", subj)
		}
		if p, ok := partitionOf[tok[4]]; ok && p != tok[2] {
			t.Errorf("bot %s is in partitions %s and %s: all of a bot's endpoints must share one", tok[4], p, tok[2])
		}
		partitionOf[tok[4]] = tok[2]
	}
	if len(partitionOf) != len(bots) {
		t.Errorf("saw %d bots, want %d", len(partitionOf), len(bots))
	}
}

func TestConfigValidateNamesField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   queue.Config
		field string
	}{
		{"partitions", queue.Config{Partitions: -1}, "nats.partitions"},
		{"too many partitions", queue.Config{Partitions: queue.MaxPartitions + 1}, "nats.partitions"},
		{"embedded replicas", queue.Config{Replicas: 3}, "nats.replicas"},
		{"dup window", queue.Config{DuplicateWindow: time.Second}, "nats.duplicateWindow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.field)
			}
		})
	}
	if err := (queue.Config{}).Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}

func TestRedactHidesCredentials(t *testing.T) {
	t.Parallel()
	got := queue.RedactForTest("nats://user:secret@10.0.0.1:4222,nats://10.0.0.2:4222")
	if strings.Contains(got, "secret") || !strings.Contains(got, "10.0.0.2") {
		t.Errorf("redact = %q", got)
	}
}

// An unset nats.partitions follows the existing LINE_INTENTS (a deployment
// created under an older default keeps working); only a new stream gets
// DefaultPartitions, and a set value that disagrees is still refused.
func TestUnsetPartitionsFollowTheStream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	open := func(partitions int) (*queue.Conn, error) {
		return queue.Open(ctx, queue.Config{DataDir: dir, Listen: "127.0.0.1:-1", Partitions: partitions, ConnName: t.Name()}, zerolog.Nop())
	}
	for _, step := range []struct {
		name       string
		partitions int
		want       int // 0: refused
	}{
		{"new stream, unset: the default", 0, queue.DefaultPartitions},
		{"existing stream, unset: its count", 0, queue.DefaultPartitions},
		{"existing stream, another count: refused", queue.DefaultPartitions * 2, 0},
	} {
		c, err := open(step.partitions)
		switch {
		case step.want == 0 && !errors.Is(err, queue.ErrIncompatibleStream):
			t.Fatalf("%s: err = %v, want ErrIncompatibleStream", step.name, err)
		case step.want == 0:
			continue
		case err != nil:
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := c.Config().Partitions; got != step.want {
			t.Errorf("%s: partitions %d, want %d", step.name, got, step.want)
		}
		c.Close()
	}

	// A stream created with another count than today's default.
	dir2 := t.TempDir()
	c, err := queue.Open(ctx, queue.Config{DataDir: dir2, Listen: "127.0.0.1:-1", Partitions: 7}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c, err = queue.Open(ctx, queue.Config{DataDir: dir2, Listen: "127.0.0.1:-1"}, zerolog.Nop())
	if err != nil {
		t.Fatalf("reopen with nats.partitions unset: %v", err)
	}
	defer c.Close()
	if got := c.Config().Partitions; got != 7 {
		t.Errorf("reopened with nats.partitions unset: %d partitions, want the stream's 7", got)
	}
}
