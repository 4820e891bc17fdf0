package ownership

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ProtocolVersion is the version of the member record and of the
// assignment it implies (AssignVersion): 1 is plain rendezvous hashing, 2
// rendezvous with bounded loads (Assign). A tracker assigns by the lowest
// version among the live members, so a rolling upgrade keeps every pod on
// the same assignment: version 1 until the last version-1 pod is gone.
const ProtocolVersion = 2

// markerTTL is how long the bucket keeps the marker that says a key expired
// or was removed: long enough for watchers that were briefly disconnected to
// see it; afterwards the key's subject is empty and takes no space.
const markerTTL = time.Minute

// ErrDuplicateMember is returned by Start, and by Tracker.Err after the
// tracker stopped itself, when another running process uses the same pod ID:
// two pods are configured with the same name.
var ErrDuplicateMember = errors.New("pod id in use by another running process")

// memberRecord is the value of a member's key.
type memberRecord struct {
	// ID is the pod ID (also the key).
	ID string `json:"id"`
	// Instance is random per process: it tells a restarted pod from its
	// predecessor and a misconfigured twin from the pod itself.
	Instance string `json:"instance"`
	// Host is the host name of the process, for error messages.
	Host string `json:"host,omitempty"`
	// StartedAt is when the tracker started.
	StartedAt time.Time `json:"startedAt"`
	// HeartbeatAt is when this value was written (the writer's clock).
	HeartbeatAt time.Time `json:"heartbeatAt"`
	// TTLMillis is the key's TTL: other members treat the pod as gone when
	// they have seen no heartbeat for this long.
	TTLMillis int64 `json:"ttlMs"`
	// Partitions is the partition count the pod assigns over; pods that
	// disagree on it would not cover the partitions exactly.
	Partitions int `json:"partitions,omitempty"`
	// Version is ProtocolVersion.
	Version int `json:"version"`
}

func (r memberRecord) ttl() time.Duration { return time.Duration(r.TTLMillis) * time.Millisecond }

func decodeRecord(b []byte) (memberRecord, error) {
	var r memberRecord
	err := json.Unmarshal(b, &r)
	return r, err
}

func newInstance() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics on failure)
	return hex.EncodeToString(b[:])
}

// ensureBucket opens the members bucket, creating it, or updating one that
// lacks what expiry needs (limit markers, one value per key).
func ensureBucket(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	switch {
	case err == nil:
		st, err := kv.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("ownership: status of bucket %s: %w", cfg.Bucket, err)
		}
		if st.LimitMarkerTTL() > 0 && st.History() == 1 && st.TTL() == 0 {
			return kv, nil
		}
	case !errors.Is(err, jetstream.ErrBucketNotFound):
		return nil, fmt.Errorf("ownership: open bucket %s: %w", cfg.Bucket, err)
	}
	kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "linedispatch dispatcher pods (heartbeats with per-key TTL)",
		// One value per key: the message TTL then expires the key exactly
		// (with more history, the server stretches TTLs to the marker TTL).
		History:        1,
		Storage:        jetstream.FileStorage,
		Replicas:       cfg.Replicas,
		LimitMarkerTTL: markerTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("ownership: create bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// isWrongLastSeq reports a failed compare-and-set: the key changed since
// the revision we expected.
func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

func duplicateError(pod string, other memberRecord) error {
	return fmt.Errorf("ownership: pod id %q: %w (instance %s on host %q, started %s, last heartbeat %s): two pods are configured with the same name; give each pod a unique id",
		pod, ErrDuplicateMember, other.Instance, other.Host, other.StartedAt.Format(time.RFC3339), other.HeartbeatAt.Format(time.RFC3339Nano))
}
