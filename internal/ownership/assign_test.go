package ownership

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The weights are part of the protocol: pods of different builds must agree
// on them. These values were also computed by an independent implementation
// (FNV-1a 64 of member || le64(p/2), murmur3 fmix64, complemented for odd p).
func TestWeightGolden(t *testing.T) {
	for _, c := range []struct {
		member    string
		partition int
		want      uint64
	}{
		{"pod-0", 0, 0xc26eb13ddfa87ff8},
		{"pod-0", 1, 0x3d914ec220578007},
		{"pod-1", 0, 0x779320e515e93138},
		{"linedispatch-0", 63, 0x76b323a107e203dd},
		{"", 0, 0x7bd3144f29c0cc9e},
		{"a", 1023, 0xe9ab6db21e574127},
	} {
		if got := weight(memberSeed(c.member), c.partition); got != c.want {
			t.Errorf("weight(%q, %d) = %#016x, want %#016x", c.member, c.partition, got, c.want)
		}
	}
	got := Assign(16, []string{"pod-2", "pod-0", "pod-1"})
	want := map[string][]int{"pod-0": {0, 2, 14}, "pod-1": {1, 3, 5, 7, 9, 10, 12, 15}, "pod-2": {4, 6, 8, 11, 13}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Assign(16, pod-0..2) = %v, want %v", got, want)
	}
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// randomNames returns n distinct Kubernetes-like pod names.
func randomNames(r *rand.Rand, n int) []string {
	const letters = "bcdfghjklmnpqrstvwxz2456789"
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		b := make([]byte, 5)
		for i := range b {
			b[i] = letters[r.IntN(len(letters))]
		}
		name := "linedispatch-7d9f8c6b5-" + string(b)
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// checkPartition checks that a is a partition of 0..partitions-1 over
// exactly the distinct members, consistent with Owner.
func checkPartition(t *testing.T, partitions int, members []string, a map[string][]int) {
	t.Helper()
	ms := distinct(members)
	if len(a) != len(ms) {
		t.Fatalf("Assign has %d members, want %d", len(a), len(ms))
	}
	owner := make([]string, partitions)
	owned := make([]bool, partitions)
	for m, ps := range a {
		if _, ok := slices.BinarySearch(ms, m); !ok {
			t.Fatalf("Assign invented member %q", m)
		}
		if !slices.IsSorted(ps) {
			t.Fatalf("partitions of %q not sorted: %v", m, ps)
		}
		for _, p := range ps {
			if p < 0 || p >= partitions {
				t.Fatalf("partition %d out of range", p)
			}
			if owned[p] {
				t.Fatalf("partition %d owned by %q and %q", p, owner[p], m)
			}
			owner[p], owned[p] = m, true
		}
	}
	for p, m := range owner {
		if len(ms) > 0 && !owned[p] {
			t.Fatalf("partition %d has no owner", p)
		}
		if got := Owner(p, members); got != m {
			t.Fatalf("Owner(%d) = %q, Assign says %q", p, got, m)
		}
	}
}

func TestAssignEveryPartitionHasOneOwner(t *testing.T) {
	for _, c := range []struct {
		name       string
		partitions int
		members    []string
	}{
		{"no members", 8, nil},
		{"one member", 64, []string{"a"}},
		{"duplicates and order", 64, []string{"b", "a", "b", "c", "a"}},
		{"more members than partitions", 4, names("pod-", 10)},
		{"odd partition count", 63, names("pod-", 3)},
		{"one partition", 1, names("pod-", 5)},
		{"default", 64, names("linedispatch-", 8)},
		{"many", 1024, names("linedispatch-", 30)},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := Assign(c.partitions, c.members)
			checkPartition(t, c.partitions, c.members, a)
			if len(c.members) == 0 && Owner(0, nil) != "" {
				t.Error("Owner without members is not empty")
			}
			shuffled := slices.Clone(c.members)
			slices.Reverse(shuffled)
			if !reflect.DeepEqual(a, Assign(c.partitions, shuffled)) {
				t.Error("Assign depends on the order of members")
			}
		})
	}
}

// With two members every antithetic pair splits: an exact half each.
func TestAssignSplitsTwoMembersExactly(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 1000; i++ {
		ms := randomNames(r, 2)
		a := Assign(64, ms)
		if len(a[ms[0]]) != 32 || len(a[ms[1]]) != 32 {
			t.Fatalf("%v: %d/%d, want 32/32", ms, len(a[ms[0]]), len(a[ms[1]]))
		}
	}
}

// Balance of 64 partitions, table-driven over name sets a deployment would
// use. Rendezvous hashing is balanced in distribution, not exactly: the
// table pins the loads of StatefulSet-style names, and the bounds hold for
// these names.
func TestAssignBalanceFixedNames(t *testing.T) {
	for _, c := range []struct {
		members  []string
		maxRatio float64
	}{
		{names("linedispatch-", 1), 1},
		{names("linedispatch-", 2), 1},
		{names("linedispatch-", 3), 1.5},
		{names("linedispatch-", 4), 1.8},
		{names("linedispatch-", 5), 3.1},
		{names("linedispatch-", 6), 3.1},
		{names("linedispatch-", 7), 3.1},
		{names("pod-", 3), 1.5},
		{names("pod-", 5), 1.5},
		{names("pod-", 8), 3.3},
	} {
		t.Run(fmt.Sprintf("%s%d", strings.TrimSuffix(c.members[0], "0"), len(c.members)), func(t *testing.T) {
			a := Assign(64, c.members)
			lo, hi := 64, 0
			for _, m := range c.members {
				lo, hi = min(lo, len(a[m])), max(hi, len(a[m]))
			}
			if lo == 0 || float64(hi)/float64(lo) > c.maxRatio {
				t.Errorf("loads %d..%d, max/min above %.1f", lo, hi, c.maxRatio)
			}
			if len(c.members) == 3 && (lo < 17 || hi > 25) {
				t.Errorf("3 members: loads %d..%d, want 21±4", lo, hi)
			}
		})
	}
}

// Balance over random names: the loads are about as even as a stable hash
// allows (see docs/ownership.md for the figures).
func TestAssignBalanceRandomNames(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct {
		members int
		// share of name sets whose loads are all within mean±4 (n=3) or
		// whose max/min is at most maxRatio
		minShare float64
		maxRatio float64
	}{
		{2, 1, 1},
		{3, 0.95, 2},
		{4, 0.85, 2.2},
		{5, 0.85, 2.8},
		{6, 0.85, 3.3},
		{8, 0.85, 5},
	} {
		t.Run(fmt.Sprint(c.members), func(t *testing.T) {
			const trials = 2000
			ok, within4 := 0, 0
			for i := 0; i < trials; i++ {
				ms := randomNames(r, c.members)
				a := Assign(64, ms)
				lo, hi := 64, 0
				for _, m := range ms {
					lo, hi = min(lo, len(a[m])), max(hi, len(a[m]))
				}
				if lo > 0 && float64(hi)/float64(lo) <= c.maxRatio {
					ok++
				}
				if c.members == 3 && lo >= 17 && hi <= 25 {
					within4++
				}
			}
			share := float64(ok) / trials
			t.Logf("%d members: max/min <= %.1f in %.1f%% of name sets", c.members, c.maxRatio, 100*share)
			if share < c.minShare {
				t.Errorf("max/min <= %.1f in only %.1f%% of name sets, want >= %.0f%%", c.maxRatio, 100*share, 100*c.minShare)
			}
			if c.members == 3 {
				s4 := float64(within4) / trials
				t.Logf("3 members: every load within 21±4 in %.1f%% of name sets", 100*s4)
				if s4 < 0.65 {
					t.Errorf("21±4 in only %.1f%% of name sets", 100*s4)
				}
			}
		})
	}
}

// moved returns the partitions whose owner differs between a and b.
func moved(partitions int, before, after []string) (moves map[int][2]string) {
	moves = map[int][2]string{}
	for p := 0; p < partitions; p++ {
		if x, y := Owner(p, before), Owner(p, after); x != y {
			moves[p] = [2]string{x, y}
		}
	}
	return moves
}

func TestAssignStable(t *testing.T) {
	const P = 64
	r := rand.New(rand.NewPCG(3, 4))
	total := 0
	const trials = 500
	for i := 0; i < trials; i++ {
		ms := randomNames(r, 4)
		three, four := ms[:3], ms
		// Join: only moves to the newcomer.
		for p, mv := range moved(P, three, four) {
			if mv[1] != ms[3] {
				t.Fatalf("%v + %s: partition %d moved %s -> %s", three, ms[3], p, mv[0], mv[1])
			}
			total++
		}
		// Leave: only the leaver's partitions move.
		gone := ms[r.IntN(4)]
		rest := slices.DeleteFunc(slices.Clone(four), func(m string) bool { return m == gone })
		for p, mv := range moved(P, four, rest) {
			if mv[0] != gone {
				t.Fatalf("%v - %s: partition %d moved %s -> %s", four, gone, p, mv[0], mv[1])
			}
		}
		if n := len(moved(P, four, rest)); n != len(Assign(P, four)[gone]) {
			t.Fatalf("leave moved %d partitions, the leaver owned %d", n, len(Assign(P, four)[gone]))
		}
	}
	avg := float64(total) / trials
	t.Logf("a 4th member takes %.1f of 64 partitions on average (P/4 = 16)", avg)
	if avg < 14 || avg > 18 {
		t.Errorf("a 4th member takes %.1f partitions on average, want about 16", avg)
	}
}

func TestAssignJoinFixedNames(t *testing.T) {
	before, after := names("linedispatch-", 3), names("linedispatch-", 4)
	mv := moved(64, before, after)
	for p, m := range mv {
		if m[1] != "linedispatch-3" {
			t.Errorf("partition %d moved %s -> %s", p, m[0], m[1])
		}
	}
	if len(mv) < 10 || len(mv) > 22 {
		t.Errorf("the 4th member took %d partitions, want about 16", len(mv))
	}
}

// Property test: for random member sets and partition counts, Assign
// partitions exactly and is monotone under joins and leaves.
func TestAssignProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 300; i++ {
		P := 1 + r.IntN(300)
		ms := randomNames(r, 1+r.IntN(10))
		checkPartition(t, P, ms, Assign(P, ms))
		checkMonotone(t, P, ms)
	}
}

// checkMonotone checks that removing the first member moves only its
// partitions (equivalently, adding it back moves only to it).
func checkMonotone(t *testing.T, partitions int, members []string) {
	t.Helper()
	ms := distinct(members)
	if len(ms) < 2 {
		return
	}
	gone := members[0]
	rest := slices.DeleteFunc(slices.Clone(ms), func(m string) bool { return m == gone })
	for p, mv := range moved(partitions, ms, rest) {
		if mv[0] != gone {
			t.Fatalf("removing %q moved partition %d from %q to %q", gone, p, mv[0], mv[1])
		}
	}
}

func FuzzAssign(f *testing.F) {
	f.Add(64, "pod-0,pod-1,pod-2")
	f.Add(1, "a")
	f.Add(7, "x,,x,y")
	f.Add(300, "linedispatch-7d9f8c6b5-abcde,linedispatch-7d9f8c6b5-fghij")
	f.Fuzz(func(t *testing.T, partitions int, list string) {
		if partitions < 0 || partitions > 2048 || len(list) > 2000 {
			t.Skip()
		}
		members := strings.Split(list, ",")
		a := Assign(partitions, members)
		checkPartition(t, partitions, members, a)
		checkMonotone(t, partitions, members)
	})
}

func BenchmarkAssign(b *testing.B) {
	ms := names("linedispatch-", 8)
	for b.Loop() {
		Assign(64, ms)
	}
}
