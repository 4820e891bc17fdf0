package ownership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Assignment is the partitions a pod owns for one set of live members.
type Assignment struct {
	// Epoch increases by one on every change (per tracker; pods do not
	// share epochs). The first assignment has epoch 1.
	Epoch uint64
	// Members are the live members, sorted.
	Members []string
	// Owned are the partitions this pod owns, ascending.
	Owned []int
	// Gained are the partitions owned now and not before, ascending.
	Gained []int
	// Lost are the partitions owned before and not now, ascending.
	Lost []int
	// Version is the protocol version the partitions were assigned by
	// (AssignVersion): the lowest among the members, so that pods of two
	// versions agree during a rolling upgrade.
	Version int
}

// Owns reports whether partition p is in a.Owned.
func (a Assignment) Owns(p int) bool {
	_, ok := slices.BinarySearch(a.Owned, p)
	return ok
}

func (a Assignment) clone() Assignment {
	return Assignment{
		Epoch:   a.Epoch,
		Members: slices.Clone(a.Members),
		Owned:   slices.Clone(a.Owned),
		Gained:  slices.Clone(a.Gained),
		Lost:    slices.Clone(a.Lost),
		Version: a.Version,
	}
}

// diff returns the elements of a (sorted) that are not in b (sorted).
func diff(a, b []int) []int {
	var out []int
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			out = append(out, x)
		}
	}
	return out
}

// member is what the tracker knows of one live member.
type member struct {
	instance string
	created  time.Time // server time of its last heartbeat
	ttl      time.Duration
	version  int // ProtocolVersion of its record; 0 if unreadable
}

// Tracker keeps this pod registered in the members bucket and follows the
// other members, publishing the pod's partition assignment whenever the
// settled membership changes.
type Tracker struct {
	js         jetstream.JetStream
	kv         jetstream.KeyValue
	cfg        Config
	partitions int
	pod        string
	subject    string
	instance   string
	host       string
	startedAt  time.Time
	log        zerolog.Logger

	updates chan Assignment

	mu  sync.Mutex
	cur Assignment
	rev uint64 // revision of our last heartbeat
	err error

	cancel    context.CancelFunc // ends the loop and the heartbeats
	hbCancel  context.CancelFunc // ends the heartbeats only
	hbDone    chan struct{}
	loopDone  chan struct{}
	ready     chan struct{} // closed when the first assignment is published
	readyOnce sync.Once
	kick      chan struct{} // heartbeat (or re-register) now
	fenced    chan error
	leaving   atomic.Bool

	// Owned by the loop goroutine.
	members     map[string]member
	snap        map[string]member // non-nil while a watch replays the bucket
	selfSeen    time.Time         // server time of our last heartbeat seen through the watch
	selfRev     uint64            // revision of our last heartbeat seen through the watch
	lagSince    time.Time         // when the watch was first seen lagging behind our acked heartbeats
	dirty       bool
	dirtySince  time.Time
	lastSent    Assignment // last value put on updates
	pendingBase []int      // Owned of the value the reader saw before lastSent
}

// opTimeout bounds one KV operation.
func (t *Tracker) opTimeout() time.Duration {
	return min(max(t.cfg.Heartbeat, time.Second), t.cfg.TTL/2)
}

// Start registers podID in the members bucket (creating the bucket if
// needed), follows the membership and returns once the initial assignment of
// partitions 0..partitions-1 is known (after the initial Settle, so that pods
// starting together agree at once).
//
// ctx bounds the tracker's life: when it ends the tracker stops as with Stop.
//
// If another running process holds podID's key, Start waits until that key
// either is refreshed (a live twin: Start fails with ErrDuplicateMember) or
// expires (a crashed predecessor with the same name: Start proceeds), so a
// pod restarted under its old name after kill -9 waits at most about TTL.
func Start(ctx context.Context, js jetstream.JetStream, partitions int, podID string, cfg Config, log zerolog.Logger) (*Tracker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := validatePodID(podID); err != nil {
		return nil, err
	}
	if partitions < 1 {
		return nil, fmt.Errorf("ownership: partitions must be positive, got %d", partitions)
	}
	if js == nil {
		return nil, errors.New("ownership: no JetStream")
	}
	cfg = cfg.WithDefaults()
	kv, err := ensureBucket(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	t := &Tracker{
		js:         js,
		kv:         kv,
		cfg:        cfg,
		partitions: partitions,
		pod:        podID,
		subject:    "$KV." + cfg.Bucket + "." + podID,
		instance:   newInstance(),
		host:       host,
		startedAt:  time.Now().UTC(),
		updates:    make(chan Assignment, 1),
		hbDone:     make(chan struct{}),
		loopDone:   make(chan struct{}),
		ready:      make(chan struct{}),
		kick:       make(chan struct{}, 1),
		fenced:     make(chan error, 1),
		members:    map[string]member{},
	}
	t.log = log.With().Str("component", "ownership").Str("pod", podID).Logger()

	rev, err := t.register(ctx)
	if err != nil {
		return nil, err
	}
	t.rev = rev
	w, err := kv.WatchAll(ctx)
	if err != nil {
		_ = t.deregister(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("ownership: watch bucket %s: %w", cfg.Bucket, err)
	}
	lctx, cancel := context.WithCancel(ctx)
	hctx, hcancel := context.WithCancel(lctx)
	t.cancel, t.hbCancel = cancel, hcancel
	t.snap = map[string]member{}
	go t.heartbeats(hctx)
	go t.run(lctx, w)
	t.log.Info().Str("instance", t.instance).Uint64("revision", rev).Int("partitions", partitions).
		Dur("ttl", cfg.TTL).Dur("heartbeat", cfg.Heartbeat).Dur("settle", cfg.Settle).Msg("registered as member")

	select {
	case <-t.ready:
		return t, nil
	case <-t.loopDone:
	}
	// The loop ended before the first assignment: ctx ended or the tracker
	// fenced itself.
	t.Stop()
	_ = t.deregister(context.WithoutCancel(ctx))
	if err := t.Err(); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("ownership: start: %w", context.Cause(ctx))
	}
	return nil, errors.New("ownership: start: stopped before the first assignment")
}

// Updates delivers the pod's assignments: first the initial one, then one
// per settled membership change. It holds at most one value: a reader that
// falls behind gets the latest assignment, whose Gained and Lost are relative
// to the previous value it received (so applying Gained/Lost in order never
// misses a partition). The channel is closed when the tracker stops; after
// Leave, the last value owns no partitions.
func (t *Tracker) Updates() <-chan Assignment { return t.updates }

// Current returns the latest assignment (Gained and Lost relative to the
// assignment before it).
func (t *Tracker) Current() Assignment {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cur.clone()
}

// Err returns why the tracker stopped itself (ErrDuplicateMember when
// another process took over this pod's key), or nil.
func (t *Tracker) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Stop ends heartbeats and watching without removing the pod's key: the
// other members take over its partitions once the key expires (TTL), as if
// the pod had crashed. Use Leave on a graceful shutdown. Stop is idempotent
// and closes Updates.
func (t *Tracker) Stop() {
	t.cancel()
	<-t.hbDone
	<-t.loopDone
}

// Leave is the graceful goodbye (SIGTERM): it stops heartbeats, removes the
// pod's key so that the other members reassign its partitions after their
// Settle instead of after the TTL, publishes a last assignment that owns
// nothing (Lost = everything owned) and stops the tracker. It may be called
// after Stop (or after ctx ended) to remove the key all the same.
func (t *Tracker) Leave(ctx context.Context) error {
	t.hbCancel()
	<-t.hbDone
	err := t.deregister(ctx)
	t.leaving.Store(true)
	t.cancel()
	<-t.loopDone
	return err
}

// record is the value of the pod's key now.
func (t *Tracker) record() []byte {
	b, _ := json.Marshal(memberRecord{
		ID:          t.pod,
		Instance:    t.instance,
		Host:        t.host,
		StartedAt:   t.startedAt,
		HeartbeatAt: time.Now().UTC(),
		TTLMillis:   t.cfg.TTL.Milliseconds(),
		Partitions:  t.partitions,
		Version:     ProtocolVersion,
	})
	return b
}

func (t *Tracker) revision() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rev
}

func (t *Tracker) setRevision(rev uint64) {
	t.mu.Lock()
	t.rev = rev
	t.mu.Unlock()
}

// register creates the pod's key at start, waiting out a crashed
// predecessor's key and refusing a live twin.
func (t *Tracker) register(ctx context.Context) (uint64, error) {
	poll := min(t.cfg.Heartbeat/4, 100*time.Millisecond)
	for {
		rev, err := t.kv.Create(ctx, t.pod, t.record(), jetstream.KeyTTL(t.cfg.TTL))
		if err == nil {
			return rev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return 0, fmt.Errorf("ownership: register pod %q: %w", t.pod, err)
		}
		held, err := t.kv.Get(ctx, t.pod)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired meanwhile
		}
		if err != nil {
			return 0, fmt.Errorf("ownership: register pod %q: %w", t.pod, err)
		}
		other, _ := decodeRecord(held.Value())
		if other.Instance == t.instance {
			return held.Revision(), nil // our own Create whose reply was lost
		}
		ttl := other.ttl()
		if ttl <= 0 {
			ttl = t.cfg.TTL
		}
		// The key expires ttl after its last write; allow for the server's
		// expiry timer and the clocks.
		deadline := time.Now().Add(ttl + time.Second)
		t.log.Warn().Str("otherInstance", other.Instance).Str("otherHost", other.Host).Time("otherHeartbeatAt", other.HeartbeatAt).
			Dur("maxWait", time.Until(deadline)).Msg("pod id is held by another instance; waiting to see whether it is alive (a twin) or expires (a crashed predecessor)")
		rev, err = t.awaitRelease(ctx, held, poll, deadline)
		if err != nil || rev != 0 {
			return rev, err
		}
	}
}

// awaitRelease watches a key held by another instance until it is written
// again (a live twin: ErrDuplicateMember), disappears (returns 0 to retry
// the registration) or outlives deadline without a heartbeat (it is taken
// over: returns the new revision).
func (t *Tracker) awaitRelease(ctx context.Context, held jetstream.KeyValueEntry, poll time.Duration, deadline time.Time) (uint64, error) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("ownership: register pod %q: %w", t.pod, context.Cause(ctx))
		case <-tick.C:
		}
		e, err := t.kv.Get(ctx, t.pod)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			return 0, nil
		case err != nil:
			return 0, fmt.Errorf("ownership: register pod %q: %w", t.pod, err)
		case e.Revision() != held.Revision():
			rec, _ := decodeRecord(e.Value())
			if rec.Instance != t.instance {
				return 0, duplicateError(t.pod, rec)
			}
			return 0, nil
		case time.Now().After(deadline):
			pa, err := t.js.Publish(ctx, t.subject, t.record(), jetstream.WithMsgTTL(t.cfg.TTL), jetstream.WithExpectLastSequencePerSubject(held.Revision()))
			if err == nil {
				t.log.Warn().Msg("took over a member key that was neither refreshed nor expired")
				return pa.Sequence, nil
			}
			if isWrongLastSeq(err) {
				return 0, nil
			}
			return 0, fmt.Errorf("ownership: register pod %q: %w", t.pod, err)
		}
	}
}

// deregister removes the pod's key if it is still ours. The purge marker
// expires on its own.
func (t *Tracker) deregister(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, t.opTimeout())
	defer cancel()
	err := t.kv.Purge(ctx, t.pod, jetstream.LastRevision(t.revision()), jetstream.PurgeTTL(markerTTL))
	if isWrongLastSeq(err) {
		// Our last heartbeat's ack may have been lost, or the key expired
		// or was taken: remove it only if the latest value is ours.
		var e jetstream.KeyValueEntry
		e, err = t.kv.Get(ctx, t.pod)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			err = nil
		case err == nil:
			if rec, _ := decodeRecord(e.Value()); rec.Instance == t.instance {
				err = t.kv.Purge(ctx, t.pod, jetstream.LastRevision(e.Revision()), jetstream.PurgeTTL(markerTTL))
			}
		}
	}
	if err != nil {
		t.log.Warn().Err(err).Msg("could not remove the member key; the others take over when it expires")
		return fmt.Errorf("ownership: leave: %w", err)
	}
	t.log.Info().Msg("left: member key removed")
	return nil
}

// heartbeats refreshes the pod's key every Heartbeat (sooner after a
// failure, and at once when the loop saw the key vanish).
func (t *Tracker) heartbeats(ctx context.Context) {
	defer close(t.hbDone)
	timer := time.NewTimer(t.cfg.Heartbeat)
	defer timer.Stop()
	var failingSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-t.kick:
		}
		err := t.beat(ctx)
		next := t.cfg.Heartbeat
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrDuplicateMember):
			t.log.Error().Err(err).Msg("another process took over this pod's member key; giving up all partitions")
			t.fenced <- err
			return
		case err != nil:
			if failingSince.IsZero() {
				failingSince = time.Now()
				t.log.Warn().Err(err).Msg("heartbeat failed; keeping the current assignment")
			} else {
				t.log.Debug().Err(err).Dur("failingFor", time.Since(failingSince)).Msg("heartbeat failed")
			}
			next = min(t.cfg.Heartbeat, 250*time.Millisecond)
		case !failingSince.IsZero():
			t.log.Info().Dur("failedFor", time.Since(failingSince)).Msg("heartbeat restored")
			failingSince = time.Time{}
		}
		timer.Reset(next)
	}
}

// beat writes one heartbeat: a compare-and-set on our last revision with
// the key's TTL, so the key expires unless refreshed and a write by anyone
// else is noticed.
func (t *Tracker) beat(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, t.opTimeout())
	defer cancel()
	pa, err := t.js.Publish(ctx, t.subject, t.record(), jetstream.WithMsgTTL(t.cfg.TTL), jetstream.WithExpectLastSequencePerSubject(t.revision()))
	if err == nil {
		t.setRevision(pa.Sequence)
		return nil
	}
	if !isWrongLastSeq(err) {
		return err
	}
	e, err := t.kv.Get(ctx, t.pod)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		// Expired (a long pause, a NATS outage longer than TTL) or removed.
		rev, err := t.kv.Create(ctx, t.pod, t.record(), jetstream.KeyTTL(t.cfg.TTL))
		if err != nil {
			return fmt.Errorf("register again: %w", err)
		}
		t.setRevision(rev)
		t.log.Warn().Uint64("revision", rev).Msg("own member key had expired or was removed; registered again")
		return nil
	}
	if err != nil {
		return err
	}
	rec, _ := decodeRecord(e.Value())
	if rec.Instance != t.instance {
		return duplicateError(t.pod, rec)
	}
	// Our own write whose acknowledgement was lost.
	pa, err = t.js.Publish(ctx, t.subject, t.record(), jetstream.WithMsgTTL(t.cfg.TTL), jetstream.WithExpectLastSequencePerSubject(e.Revision()))
	if err != nil {
		return err
	}
	t.setRevision(pa.Sequence)
	return nil
}

func (t *Tracker) kickHeartbeat() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// run follows the bucket and publishes assignments. It owns the member map.
func (t *Tracker) run(ctx context.Context, w jetstream.KeyWatcher) {
	defer close(t.loopDone)
	defer close(t.updates)
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	watchdog := time.NewTicker(t.cfg.Heartbeat)
	defer watchdog.Stop()
	entries := w.Updates()
	var rewatch <-chan time.Time
	rewatchDelay := 250 * time.Millisecond
	defer func() {
		if w != nil {
			_ = w.Stop()
		}
	}()
	// restartWatch drops the watch and starts a new one, which replays the
	// bucket.
	restartWatch := func(delay time.Duration) {
		if w != nil {
			_ = w.Stop()
		}
		w, entries, t.snap = nil, nil, nil
		rewatch = time.After(delay)
	}
	for {
		select {
		case <-ctx.Done():
			if t.leaving.Load() && t.lastSent.Epoch > 0 {
				t.publish(t.others())
			}
			return
		case err := <-t.fenced:
			t.mu.Lock()
			t.err = err
			t.mu.Unlock()
			if t.lastSent.Epoch > 0 {
				t.publish(t.others())
			}
			return
		case e, ok := <-entries:
			if !ok {
				if ctx.Err() != nil {
					entries = nil
					continue
				}
				t.log.Warn().Msg("members watch ended; watching again")
				w = nil
				restartWatch(rewatchDelay)
				continue
			}
			if e == nil {
				t.endOfReplay(settle)
				continue
			}
			if t.apply(e) {
				t.markDirty(settle)
			}
		case <-watchdog.C:
			if t.watchStalled() {
				t.log.Warn().Uint64("acked", t.revision()).Uint64("seen", t.selfRev).Dur("for", time.Since(t.lagSince)).
					Msg("own heartbeats are acknowledged but not seen through the members watch; watching again")
				t.lagSince = time.Time{}
				restartWatch(0)
			}
		case <-rewatch:
			nw, err := t.kv.WatchAll(ctx)
			if err != nil {
				if ctx.Err() != nil {
					rewatch = nil
					continue
				}
				rewatchDelay = min(2*rewatchDelay, 5*time.Second)
				t.log.Warn().Err(err).Dur("retryIn", rewatchDelay).Msg("cannot watch members")
				rewatch = time.After(rewatchDelay)
				continue
			}
			w, entries, rewatch, rewatchDelay = nw, nw.Updates(), nil, 250*time.Millisecond
			t.snap = map[string]member{}
		case <-settle.C:
			t.dirty = false
			live := t.live()
			if t.lastSent.Epoch == 0 || !slices.Equal(live, t.cur.Members) || t.assignVersion(live) != t.cur.Version {
				t.publish(live)
			}
			t.readyOnce.Do(func() { close(t.ready) })
		}
	}
}

// watchStalled reports a members watch that has stopped delivering: our own
// heartbeats are acknowledged by JetStream but have not come back through
// the watch for a while. (After a NATS restart the client library's ordered
// consumer can take 10s or more to notice on its own.)
func (t *Tracker) watchStalled() bool {
	if t.revision() <= t.selfRev || t.snap != nil {
		t.lagSince = time.Time{}
		return false
	}
	if t.lagSince.IsZero() {
		t.lagSince = time.Now()
		return false
	}
	return time.Since(t.lagSince) >= max(t.cfg.Heartbeat, time.Second)
}

// endOfReplay ends a watch's replay of the bucket: the replayed keys are the
// members (a rewatch forgets members whose removal it missed).
func (t *Tracker) endOfReplay(settle *time.Timer) {
	if t.snap == nil {
		return
	}
	changed := t.lastSent.Epoch == 0 || !sameMembers(t.members, t.snap)
	t.members, t.snap = t.snap, nil
	if t.sweep() {
		changed = true
	}
	if changed {
		t.markDirty(settle)
	}
}

// sameMembers reports whether a and b have the same names and versions.
func sameMembers(a, b map[string]member) bool {
	if len(a) != len(b) {
		return false
	}
	for k, m := range a {
		if n, ok := b[k]; !ok || n.version != m.version {
			return false
		}
	}
	return true
}

// apply folds one watched entry into the members; it reports whether the
// set of member names changed.
func (t *Tracker) apply(e jetstream.KeyValueEntry) bool {
	into := t.members
	if t.snap != nil {
		into = t.snap
	}
	key := e.Key()
	old, existed := into[key]
	switch e.Operation() {
	case jetstream.KeyValuePut:
		rec, err := decodeRecord(e.Value())
		if err != nil {
			t.log.Warn().Err(err).Str("member", key).Msg("unreadable member record; counting it as a member with this pod's TTL")
		}
		m := member{instance: rec.Instance, created: e.Created(), ttl: rec.ttl(), version: rec.Version}
		if m.ttl <= 0 {
			m.ttl = t.cfg.TTL
		}
		into[key] = m
		// A pod restarted under the same name with another version changes
		// the assignment's version, not the names.
		changed := !existed || old.version != m.version
		if !existed && rec.Partitions > 0 && rec.Partitions != t.partitions {
			t.log.Error().Str("member", key).Int("theirPartitions", rec.Partitions).Int("ourPartitions", t.partitions).
				Msg("member assigns over a different partition count: some partitions will have two owners or none until the configurations agree")
		}
		if changed && rec.Version != 0 && rec.Version != ProtocolVersion {
			t.log.Warn().Str("member", key).Int("theirVersion", rec.Version).Int("ourVersion", ProtocolVersion).
				Msg("member runs another protocol version: partitions are assigned by the lowest version among the members until every pod runs the same")
		}
		if key == t.pod {
			if rec.Instance == t.instance {
				t.selfSeen, t.selfRev = e.Created(), e.Revision()
				if t.snap == nil && t.sweep() {
					changed = true
				}
			} else {
				t.kickHeartbeat() // a write by someone else: the heartbeat finds out who
			}
		} else if !existed && t.snap == nil {
			t.log.Info().Str("member", key).Str("instance", rec.Instance).Msg("member joined")
		}
		return changed && t.snap == nil
	default: // delete, purge, or the marker of an expired key
		delete(into, key)
		if key == t.pod && !t.leaving.Load() {
			t.kickHeartbeat()
		}
		if existed && t.snap == nil && key != t.pod {
			how := "left"
			if e.Operation() == jetstream.KeyValuePurge {
				how = "left or expired"
			}
			t.log.Info().Str("member", key).Msg("member " + how)
		}
		return existed && t.snap == nil
	}
}

// sweep removes members whose last heartbeat is older than their TTL, as
// measured on the server's clock against our own latest heartbeat: while we
// cannot heartbeat (NATS unreachable) nobody is swept. It normally agrees
// with the server's expiry markers and only matters when a marker was
// missed.
func (t *Tracker) sweep() bool {
	if t.selfSeen.IsZero() {
		return false
	}
	changed := false
	for k, m := range t.members {
		if k == t.pod {
			continue
		}
		if age := t.selfSeen.Sub(m.created); age > m.ttl {
			delete(t.members, k)
			changed = true
			t.log.Info().Str("member", k).Dur("silentFor", age).Msg("member expired: no heartbeat within its TTL")
		}
	}
	return changed
}

// markDirty (re)starts the settle timer; a burst of changes is reassigned
// once, and continuous churn at most every 4 x Settle.
func (t *Tracker) markDirty(settle *time.Timer) {
	now := time.Now()
	if !t.dirty {
		t.dirty, t.dirtySince = true, now
	}
	d := t.cfg.Settle
	if rem := t.dirtySince.Add(4 * t.cfg.Settle).Sub(now); rem < d {
		d = max(rem, 0)
	}
	settle.Reset(d)
}

// live is the sorted member names, always including this pod.
func (t *Tracker) live() []string {
	out := make([]string, 0, len(t.members)+1)
	for k := range t.members {
		out = append(out, k)
	}
	if _, ok := t.members[t.pod]; !ok {
		out = append(out, t.pod)
	}
	sort.Strings(out)
	return out
}

// others is the live members without this pod.
func (t *Tracker) others() []string {
	return slices.DeleteFunc(t.live(), func(m string) bool { return m == t.pod })
}

// assignVersion is the protocol version members assign by: the lowest
// among them (this pod's is ProtocolVersion; an unreadable record counts as
// this pod's version).
func (t *Tracker) assignVersion(members []string) int {
	v := ProtocolVersion
	for _, name := range members {
		if m, ok := t.members[name]; ok && m.version >= 1 && m.version < v {
			v = m.version
		}
	}
	return v
}

// publish makes the assignment for members current and offers it on
// Updates, replacing a value the reader has not taken yet.
func (t *Tracker) publish(members []string) {
	version := t.assignVersion(members)
	own := AssignVersion(version, t.partitions, members)[t.pod]
	t.mu.Lock()
	prev := t.cur
	next := Assignment{
		Epoch:   prev.Epoch + 1,
		Members: members,
		Owned:   own,
		Gained:  diff(own, prev.Owned),
		Lost:    diff(prev.Owned, own),
		Version: version,
	}
	t.cur = next
	t.mu.Unlock()
	t.log.Info().Uint64("epoch", next.Epoch).Strs("members", members).Int("version", version).Int("owned", len(own)).
		Ints("gained", next.Gained).Ints("lost", next.Lost).Msg("partition assignment")

	base := t.lastSent.Owned
	select {
	case <-t.updates: // not taken: the reader last saw the value before it
		base = t.pendingBase
	default:
	}
	out := next.clone()
	out.Gained, out.Lost = diff(own, base), diff(base, own)
	t.pendingBase, t.lastSent = base, out
	t.updates <- out // never blocks: this goroutine is the only sender and just emptied the buffer
}
