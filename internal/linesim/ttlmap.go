package linesim

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// ttlMap remembers values for ttl nanoseconds of linesim time after they were
// put, in insertion order, so expiry pops from the front. It never holds more
// than max entries: beyond that the oldest is evicted (and counted).
// Not safe for concurrent use; see shardedTTL.
type ttlMap[K comparable, V any] struct {
	m       map[K]ttlEntry[V]
	q       []ttlItem[K] // ring, oldest at head
	head, n int
	ttl     int64
	max     int
}

type ttlEntry[V any] struct {
	v  V
	at int64
}

type ttlItem[K comparable] struct {
	k  K
	at int64
}

func (t *ttlMap[K, V]) init(ttl int64, max int) {
	t.m = map[K]ttlEntry[V]{}
	t.ttl, t.max = ttl, max
}

// get returns the live value for k at time now.
func (t *ttlMap[K, V]) get(k K, now int64) (V, int64, bool) {
	e, ok := t.m[k]
	if !ok || e.at+t.ttl <= now {
		var zero V
		return zero, 0, false
	}
	return e.v, e.at, true
}

// put stores v for k at time now (replacing any value) and returns how many
// live entries were evicted early because of the bound.
func (t *ttlMap[K, V]) put(k K, v V, now int64) (evicted int) {
	t.expire(now)
	t.m[k] = ttlEntry[V]{v, now}
	if t.n == len(t.q) {
		t.grow()
	}
	i := t.head + t.n
	if i >= len(t.q) {
		i -= len(t.q)
	}
	t.q[i] = ttlItem[K]{k, now}
	t.n++
	// Bound the map, and the queue too (replaced keys leave stale items).
	for (len(t.m) > t.max || t.n > 2*t.max+16) && t.n > 0 {
		if t.pop() {
			evicted++
		}
	}
	return evicted
}

// del forgets k.
func (t *ttlMap[K, V]) del(k K) { delete(t.m, k) }

// expire drops entries whose time is up.
func (t *ttlMap[K, V]) expire(now int64) {
	for t.n > 0 && t.q[t.head].at+t.ttl <= now {
		t.pop()
	}
	if t.n == 0 && len(t.q) > 1024 { // release a large idle ring
		t.q, t.head = nil, 0
	}
}

// pop removes the oldest queue item and its map entry if that entry is still
// the one the item stands for. It reports whether a map entry was removed.
func (t *ttlMap[K, V]) pop() bool {
	it := t.q[t.head]
	var zero ttlItem[K]
	t.q[t.head] = zero
	t.head++
	if t.head == len(t.q) {
		t.head = 0
	}
	t.n--
	if e, ok := t.m[it.k]; ok && e.at == it.at {
		delete(t.m, it.k)
		return true
	}
	return false
}

func (t *ttlMap[K, V]) grow() {
	size := 2 * len(t.q)
	if size < 16 {
		size = 16
	}
	nq := make([]ttlItem[K], size)
	for i := 0; i < t.n; i++ {
		j := t.head + i
		if j >= len(t.q) {
			j -= len(t.q)
		}
		nq[i] = t.q[j]
	}
	t.q, t.head = nq, 0
}

const ttlShards = 64

// shardedTTL is a concurrent ttlMap split into shards by key hash.
type shardedTTL[K comparable, V any] struct {
	seed    maphash.Seed
	shards  [ttlShards]ttlShard[K, V]
	evicted atomic.Int64
}

type ttlShard[K comparable, V any] struct {
	mu sync.Mutex
	ttlMap[K, V]
	_ [40]byte // keep shards on separate cache lines
}

func newShardedTTL[K comparable, V any](ttl int64, max int) *shardedTTL[K, V] {
	s := &shardedTTL[K, V]{seed: maphash.MakeSeed()}
	per := max / ttlShards
	if per < 1 {
		per = 1
	}
	for i := range s.shards {
		s.shards[i].init(ttl, per)
	}
	return s
}

func (s *shardedTTL[K, V]) shard(k K) *ttlShard[K, V] {
	return &s.shards[maphash.Comparable(s.seed, k)%ttlShards]
}

// getOrPut returns the live value for k if there is one; otherwise it stores v.
func (s *shardedTTL[K, V]) getOrPut(k K, v V, now int64) (old V, oldAt int64, found bool) {
	sh := s.shard(k)
	sh.mu.Lock()
	old, oldAt, found = sh.get(k, now)
	if !found {
		if n := sh.put(k, v, now); n > 0 {
			s.evicted.Add(int64(n))
		}
	}
	sh.mu.Unlock()
	return old, oldAt, found
}

// swap stores v for k and returns the live value it replaced, if any.
func (s *shardedTTL[K, V]) swap(k K, v V, now int64) (old V, oldAt int64, found bool) {
	sh := s.shard(k)
	sh.mu.Lock()
	old, oldAt, found = sh.get(k, now)
	if n := sh.ttlMap.put(k, v, now); n > 0 {
		s.evicted.Add(int64(n))
	}
	sh.mu.Unlock()
	return old, oldAt, found
}

// put stores v for k.
func (s *shardedTTL[K, V]) put(k K, v V, now int64) {
	sh := s.shard(k)
	sh.mu.Lock()
	if n := sh.ttlMap.put(k, v, now); n > 0 {
		s.evicted.Add(int64(n))
	}
	sh.mu.Unlock()
}

// get returns the live value for k.
func (s *shardedTTL[K, V]) get(k K, now int64) (V, int64, bool) {
	sh := s.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.ttlMap.get(k, now)
}

// take returns the live value for k and forgets it (single use).
func (s *shardedTTL[K, V]) take(k K, now int64) (V, bool) {
	sh := s.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	v, _, ok := sh.ttlMap.get(k, now)
	if ok {
		sh.del(k)
	}
	return v, ok
}

// delIf forgets k if pred approves its value.
func (s *shardedTTL[K, V]) delIf(k K, pred func(V) bool) {
	sh := s.shard(k)
	sh.mu.Lock()
	if e, ok := sh.m[k]; ok && pred(e.v) {
		sh.del(k)
	}
	sh.mu.Unlock()
}

// len expires what is due at now and returns the number of live entries.
func (s *shardedTTL[K, V]) len(now int64) int {
	n := 0
	for i := range s.shards {
		s.shards[i].mu.Lock()
		s.shards[i].expire(now)
		n += len(s.shards[i].m)
		s.shards[i].mu.Unlock()
	}
	return n
}
