package queue

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// Subjects of the streams. Producers publish intents on IntentSubjects; the
// stream stores them under line.q.<partition>.<channel>.<bot>.<endpoint>.
const (
	IntentSubjects  = "line.intents.*.*.*"
	QueuePrefix     = "line.q"
	BacklogPrefix   = "line.backlog"
	OutcomeSubjects = "line.outcomes.>"
	DeadSubjects    = "line.dead.>"
)

// maxMsgSize bounds one stored message: LINE's 2 MB body limit plus envelope.
const maxMsgSize = 4 << 20

// ErrIncompatibleStream is returned (wrapped) when a stream exists with a
// configuration the dispatcher cannot work with (e.g. another partition
// count). Changing it would move or drop queued intents, so it is refused.
var ErrIncompatibleStream = errors.New("incompatible existing stream")

// partitionTransform returns the subject transform destination that adds the
// partition of the bot (wildcard 2) to the stored subject.
func partitionTransform(partitions int) string {
	return fmt.Sprintf("%s.{{partition(%d,2)}}.{{wildcard(1)}}.{{wildcard(2)}}.{{wildcard(3)}}", QueuePrefix, partitions)
}

var partitionsInTransform = regexp.MustCompile(`partition\((\d+),`)

// StreamConfigs returns the configuration of every stream for cfg.
func StreamConfigs(cfg Config) []jetstream.StreamConfig {
	cfg = cfg.WithDefaults()
	if cfg.Partitions == 0 {
		cfg.Partitions = DefaultPartitions
	}
	return []jetstream.StreamConfig{
		{
			Name:        IntentsStream,
			Description: "linedispatch send intents (work queue, partitioned by bot)",
			Subjects:    []string{IntentSubjects},
			SubjectTransform: &jetstream.SubjectTransformConfig{
				Source:      IntentSubjects,
				Destination: partitionTransform(cfg.Partitions),
			},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    cfg.Replicas,
			Duplicates:  cfg.DuplicateWindow,
			MaxMsgSize:  maxMsgSize,
			AllowMsgTTL: true,
		},
		{
			Name:        BacklogStream,
			Description: "linedispatch intents spilled by hot lanes (work queue, per key)",
			Subjects:    []string{BacklogPrefix + ".>"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    cfg.Replicas,
			Duplicates:  cfg.DuplicateWindow,
			MaxMsgSize:  maxMsgSize,
			// One consumer per hot key: allow many more than the default.
			MaxConsumers: -1,
		},
		{
			Name:        OutcomesStream,
			Description: "linedispatch outcomes: one per intent (event log)",
			Subjects:    []string{OutcomeSubjects},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    cfg.Replicas,
			Duplicates:  cfg.DuplicateWindow,
			MaxAge:      cfg.OutcomeMaxAge,
			MaxMsgSize:  maxMsgSize,
		},
		{
			Name:        DeadStream,
			Description: "linedispatch dead letters: original intent plus reason",
			Subjects:    []string{DeadSubjects},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    cfg.Replicas,
			Duplicates:  cfg.DuplicateWindow,
			MaxAge:      cfg.DeadMaxAge,
			MaxMsgSize:  maxMsgSize,
		},
	}
}

// Provision creates every stream, or checks that an existing one is
// compatible and updates its adjustable settings (duplicate window, ages).
// With cfg.Partitions unset, an existing LINE_INTENTS keeps the partition
// count it was created with. It is safe to run from every pod at every start.
func Provision(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	_, err := provision(ctx, js, cfg)
	return err
}

// provision is Provision; it returns LINE_INTENTS's partition count.
func provision(ctx context.Context, js jetstream.JetStream, cfg Config) (int, error) {
	partitions := 0
	for _, want := range StreamConfigs(cfg) {
		got, err := ensureStream(ctx, js, want, cfg.Partitions == 0)
		if err != nil {
			return 0, err
		}
		if want.Name == IntentsStream {
			partitions = PartitionsOf(got)
		}
	}
	return partitions, nil
}

// ensureStream creates want or checks an existing stream against it, and
// returns the configuration in use. With anyPartitions (nats.partitions
// unset) an existing partitioned stream's count is accepted.
func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig, anyPartitions bool) (jetstream.StreamConfig, error) {
	s, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err := js.CreateStream(ctx, want); err != nil {
			if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
				// Another pod created it first: check it like an old one.
				return ensureStream(ctx, js, want, anyPartitions)
			}
			return want, fmt.Errorf("create stream %s: %w", want.Name, err)
		}
		return want, nil
	}
	if err != nil {
		return want, fmt.Errorf("look up stream %s: %w", want.Name, err)
	}
	have := s.CachedInfo().Config
	if n := PartitionsOf(have); anyPartitions && n > 0 && want.SubjectTransform != nil {
		// The count was fixed when the stream was created (perhaps under
		// an older default); only a new stream gets DefaultPartitions.
		want.SubjectTransform = &jetstream.SubjectTransformConfig{Source: want.SubjectTransform.Source, Destination: partitionTransform(n)}
	}
	if err := compatible(have, want); err != nil {
		return want, fmt.Errorf("stream %s: %w: %w", want.Name, ErrIncompatibleStream, err)
	}
	if have.Duplicates == want.Duplicates && have.MaxAge == want.MaxAge && have.MaxConsumers == want.MaxConsumers {
		return want, nil
	}
	upd := have
	upd.Duplicates, upd.MaxAge, upd.MaxConsumers = want.Duplicates, want.MaxAge, want.MaxConsumers
	if _, err := js.UpdateStream(ctx, upd); err != nil {
		return want, fmt.Errorf("update stream %s: %w", want.Name, err)
	}
	return want, nil
}

// compatible reports why have cannot serve as want, or nil.
func compatible(have, want jetstream.StreamConfig) error {
	if have.Retention != want.Retention {
		return fmt.Errorf("retention is %s, want %s", have.Retention, want.Retention)
	}
	if !slices.Equal(have.Subjects, want.Subjects) {
		return fmt.Errorf("subjects are %v, want %v", have.Subjects, want.Subjects)
	}
	if have.Replicas != want.Replicas {
		return fmt.Errorf("replicas are %d, want %d (change nats.replicas or edit the stream by hand)", have.Replicas, want.Replicas)
	}
	if want.SubjectTransform == nil {
		return nil
	}
	if have.SubjectTransform == nil {
		return errors.New("subject transform missing: intents would not be partitioned")
	}
	if have.SubjectTransform.Destination == want.SubjectTransform.Destination {
		return nil
	}
	if got := PartitionsOf(have); got > 0 {
		return fmt.Errorf("created with %d partitions, config says %d: the partition count is fixed when the stream is created (set nats.partitions to %d)",
			got, PartitionsOf(want), got)
	}
	return fmt.Errorf("subject transform is %q, want %q", have.SubjectTransform.Destination, want.SubjectTransform.Destination)
}

// PartitionsOf returns the partition count of an intents stream config, or 0.
func PartitionsOf(c jetstream.StreamConfig) int {
	if c.SubjectTransform == nil {
		return 0
	}
	m := partitionsInTransform.FindStringSubmatch(c.SubjectTransform.Destination)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// PartitionFilter is the filter subject of partition p's consumer.
func PartitionFilter(p int) string { return fmt.Sprintf("%s.%d.>", QueuePrefix, p) }

// BacklogSubject is the subject a hot lane spills to.
func BacklogSubject(p int, channel, bot, endpoint string) string {
	return fmt.Sprintf("%s.%d.%s.%s.%s", BacklogPrefix, p, channel, bot, endpoint)
}
