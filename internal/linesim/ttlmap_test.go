package linesim

import "testing"

func TestTTLMap(t *testing.T) {
	t.Parallel()
	var m ttlMap[string, int]
	m.init(100, 3)
	m.put("a", 1, 0)
	m.put("b", 2, 10)
	if v, _, ok := m.get("a", 99); !ok || v != 1 {
		t.Fatalf("a at 99: %v %v", v, ok)
	}
	if _, _, ok := m.get("a", 100); ok {
		t.Fatal("a alive at its ttl")
	}
	m.put("c", 3, 100) // expires a
	if len(m.m) != 2 {
		t.Fatalf("len %d after expiry, want 2", len(m.m))
	}
	m.put("d", 4, 101)
	if n := m.put("e", 5, 102); n != 1 || len(m.m) != 3 { // over the bound: b evicted early
		t.Fatalf("evicted %d len %d", n, len(m.m))
	}
	if _, _, ok := m.get("b", 102); ok {
		t.Fatal("b survived eviction")
	}
	m.put("c", 30, 150) // replace: the stale queue item must not remove the new value
	m.expire(201)
	if v, _, ok := m.get("c", 201); !ok || v != 30 {
		t.Fatalf("c = %v %v after its first item expired", v, ok)
	}
	m.expire(1000)
	if len(m.m) != 0 || m.n != 0 {
		t.Fatalf("len %d queue %d after everything expired", len(m.m), m.n)
	}
}

func TestShardedTTLBound(t *testing.T) {
	t.Parallel()
	s := newShardedTTL[int, int](1000, 640)
	for i := 0; i < 10000; i++ {
		s.put(i, i, int64(i%10))
	}
	if n := s.len(10); n > 640 {
		t.Fatalf("holds %d entries, bound 640", n)
	}
	if s.evicted.Load() < 10000-640 {
		t.Fatalf("evicted %d", s.evicted.Load())
	}
	if _, ok := s.take(9999, 10); !ok {
		t.Fatal("take missed the newest entry")
	}
	if _, ok := s.take(9999, 10); ok {
		t.Fatal("take is not single use")
	}
	if n := s.len(2000); n != 0 {
		t.Fatalf("%d entries alive after their ttl", n)
	}
}
