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
	want := map[string][]int{"pod-0": {0, 2, 9, 10, 14}, "pod-1": {1, 3, 5, 7, 12, 15}, "pod-2": {4, 6, 8, 11, 13}}
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
	owner := checkCover(t, partitions, members, a)
	for p := 0; p < partitions; p += sampleEvery(partitions) {
		if got := Owner(partitions, p, members); got != owner[p] {
			t.Fatalf("Owner(%d) = %q, Assign says %q", p, got, owner[p])
		}
	}
}

// checkCover checks that a is a partition of 0..partitions-1 over exactly
// the distinct members and returns each partition's owner.
func checkCover(t *testing.T, partitions int, members []string, a map[string][]int) []string {
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
	for p := range owner {
		if len(ms) > 0 && !owned[p] {
			t.Fatalf("partition %d has no owner", p)
		}
	}
	return owner
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
			if len(c.members) == 0 && Owner(c.partitions, 0, nil) != "" {
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

// Version 1 is plain rendezvous hashing, the assignment of pods before
// 2026-11-22: a version-2 pod must compute exactly what they compute while
// one of them is a member (the golden value is version 1's own).
func TestAssignVersionOneIsPlainRendezvous(t *testing.T) {
	got := AssignVersion(1, 16, []string{"pod-2", "pod-0", "pod-1"})
	want := map[string][]int{"pod-0": {0, 2, 14}, "pod-1": {1, 3, 5, 7, 9, 10, 12, 15}, "pod-2": {4, 6, 8, 11, 13}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AssignVersion(1, 16, pod-0..2) = %v, want %v", got, want)
	}
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 200; i++ {
		ms := distinct(randomNames(r, 1+r.IntN(8)))
		P := 1 + r.IntN(100)
		a := AssignVersion(1, P, ms)
		checkCover(t, P, ms, a)
		for m, ps := range a {
			for _, p := range ps {
				if want := ms[rendezvousBest(p, ms)]; m != want {
					t.Fatalf("%v: partition %d to %s, its highest-weight member is %s", ms, p, m, want)
				}
			}
		}
	}
	if !reflect.DeepEqual(AssignVersion(ProtocolVersion, 64, names("pod-", 5)), Assign(64, names("pod-", 5))) {
		t.Error("AssignVersion(ProtocolVersion) is not Assign")
	}
}

// sampleEvery keeps checkPartition's calls of Owner (each a whole Assign)
// to about 8 per check.
func sampleEvery(partitions int) int { return max(1, partitions/8) }

// With two members every antithetic pair splits, so the bound never bites:
// plain rendezvous hashing already gives an exact half each.
func TestAssignSplitsTwoMembersExactly(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 1000; i++ {
		ms := randomNames(r, 2)
		a := Assign(64, ms)
		if len(a[ms[0]]) != 32 || len(a[ms[1]]) != 32 {
			t.Fatalf("%v: %d/%d, want 32/32", ms, len(a[ms[0]]), len(a[ms[1]]))
		}
		for m, ps := range a {
			for _, p := range ps {
				if want := ms[rendezvousBest(p, ms)]; m != want {
					t.Fatalf("%v: partition %d to %s, its highest-weight member is %s", ms, p, m, want)
				}
			}
		}
	}
}

// rendezvousBest is the index of the highest-weight member of p (ties to
// the smaller name), plain rendezvous hashing without a bound.
func rendezvousBest(p int, members []string) int {
	best := 0
	for i, m := range members {
		if w, bw := weight(memberSeed(m), p), weight(memberSeed(members[best]), p); w > bw || (w == bw && m < members[best]) {
			best = i
		}
	}
	return best
}

// checkBounded checks that every member owns floor(P/n) or ceil(P/n).
func checkBounded(t *testing.T, partitions int, members []string, a map[string][]int) {
	t.Helper()
	n := len(distinct(members))
	if n == 0 {
		return
	}
	lo, hi := partitions/n, (partitions+n-1)/n
	for m, ps := range a {
		if len(ps) < lo || len(ps) > hi {
			t.Fatalf("Assign(%d, %d members): %q owns %d, want %d..%d", partitions, n, m, len(ps), lo, hi)
		}
	}
}

// checkStable checks the greedy's defining property: no member m and
// partition p prefer each other to what they got. If m ranks above p's
// owner for p, m must be full of partitions it weighs above p.
func checkStable(t *testing.T, partitions int, members []string, a map[string][]int) {
	t.Helper()
	ms := distinct(members)
	index := make(map[string]int, len(ms))
	w := make([][]uint64, len(ms)) // w[i][p] = weight(ms[i], p)
	for i, m := range ms {
		index[m] = i
		seed := memberSeed(m)
		w[i] = make([]uint64, partitions)
		for p := range w[i] {
			w[i][p] = weight(seed, p)
		}
	}
	owner := make([]int, partitions)
	lowest := make([]int, len(ms)) // each member's least-preferred own partition
	for m, ps := range a {
		i := index[m]
		lowest[i] = -1
		for _, p := range ps {
			owner[p] = i
			if lowest[i] < 0 || before(w, i, lowest[i], i, p) {
				lowest[i] = p
			}
		}
	}
	for p := 0; p < partitions; p++ {
		for i := range ms {
			if i == owner[p] || !before(w, i, p, owner[p], p) {
				continue
			}
			if q := lowest[i]; q >= 0 && !before(w, i, q, i, p) {
				t.Fatalf("Assign(%d, %v): %s weighs partition %d above its own %d and above %d's owner %s", partitions, ms, ms[i], p, q, p, ms[owner[p]])
			}
		}
	}
}

// before reports whether the pair (member i, partition p) comes before
// (member j, partition q) in Assign's order: higher weight, then smaller
// member (members are sorted), then smaller partition.
func before(w [][]uint64, i, p, j, q int) bool {
	if w[i][p] != w[j][q] {
		return w[i][p] > w[j][q]
	}
	if i != j {
		return i < j
	}
	return p < q
}

// The bound holds for every partition count and member count, including
// more members than partitions (then each member owns at most one).
func TestAssignBoundedLoads(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	for _, partitions := range []int{1, 7, 16, 32, 63, 64, 256} {
		for _, n := range []int{1, 2, 3, 4, 5, 6, 8, 12, 20} {
			t.Run(fmt.Sprintf("P%d/n%d", partitions, n), func(t *testing.T) {
				for i := 0; i < 20; i++ {
					ms := randomNames(r, n)
					a := Assign(partitions, ms)
					checkPartition(t, partitions, ms, a)
					checkBounded(t, partitions, ms, a)
					checkStable(t, partitions, ms, a)
				}
			})
		}
	}
}

// ownerOf inverts an assignment: each partition's member.
func ownerOf(partitions int, a map[string][]int) []string {
	owner := make([]string, partitions)
	for m, ps := range a {
		for _, p := range ps {
			owner[p] = m
		}
	}
	return owner
}

// moved returns the partitions whose owner differs between a and b.
func moved(partitions int, before, after []string) (moves map[int][2]string) {
	moves = map[int][2]string{}
	x, y := ownerOf(partitions, Assign(partitions, before)), ownerOf(partitions, Assign(partitions, after))
	for p := range x {
		if x[p] != y[p] {
			moves[p] = [2]string{x[p], y[p]}
		}
	}
	return moves
}

// A join or leave moves the newcomer's or the leaver's partitions and, where
// the bound bites differently, a few more. The averages are pinned near the
// figures in docs/ownership.md (Balance) so a change of the algorithm that
// churns more fails here.
func TestAssignMoves(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		partitions, before int
		maxJoin, maxLeave  float64 // average partitions moved
	}{
		{16, 2, 6.5, 6.5},
		{16, 3, 5.6, 5.6},
		{16, 4, 4.7, 4.7},
		{64, 3, 20, 20},
		{64, 4, 16.8, 16.8},
		{64, 7, 13.2, 13.2},
	} {
		t.Run(fmt.Sprintf("P%d/n%d", c.partitions, c.before), func(t *testing.T) {
			const trials = 500
			join, leave, minJoin := 0, 0, 0
			for i := 0; i < trials; i++ {
				ms := randomNames(r, c.before+1)
				newcomer := ms[c.before]
				mv := moved(c.partitions, ms[:c.before], ms)
				join += len(mv)
				minJoin += len(Assign(c.partitions, ms)[newcomer])
				gone := ms[r.IntN(len(ms))]
				rest := slices.DeleteFunc(slices.Clone(ms), func(m string) bool { return m == gone })
				leave += len(moved(c.partitions, ms, rest))
			}
			j, l, mj := float64(join)/trials, float64(leave)/trials, float64(minJoin)/trials
			t.Logf("%d partitions, %d -> %d members: a join moves %.2f (the newcomer's %.2f), a leave %.2f", c.partitions, c.before, c.before+1, j, mj, l)
			if j > c.maxJoin || l > c.maxLeave {
				t.Errorf("a join moves %.2f (max %.2f), a leave %.2f (max %.2f)", j, c.maxJoin, l, c.maxLeave)
			}
		})
	}
}

// StatefulSet-style names: the 4th pod takes its quota, and the pins below
// are the moves of this algorithm for these names.
func TestAssignJoinFixedNames(t *testing.T) {
	for _, c := range []struct {
		partitions int
		maxMoves   int
	}{
		{16, 4},
		{64, 21},
	} {
		before, after := names("linedispatch-", 3), names("linedispatch-", 4)
		mv := moved(c.partitions, before, after)
		took := 0
		for _, m := range mv {
			if m[1] == "linedispatch-3" {
				took++
			}
		}
		if want := c.partitions / 4; took != want || len(mv) > c.maxMoves {
			t.Errorf("%d partitions: the 4th member took %d (want %d), %d moved (max %d)", c.partitions, took, want, len(mv), c.maxMoves)
		}
	}
}

// Property test: for random member sets and partition counts, Assign
// partitions exactly, within the bound, with no pair that prefers each other.
func TestAssignProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 300; i++ {
		P := 1 + r.IntN(300)
		ms := randomNames(r, 1+r.IntN(10))
		a := Assign(P, ms)
		checkPartition(t, P, ms, a)
		checkBounded(t, P, ms, a)
		checkStable(t, P, ms, a)
	}
}

func FuzzAssign(f *testing.F) {
	f.Add(64, "pod-0,pod-1,pod-2")
	f.Add(1, "a")
	f.Add(7, "x,,x,y")
	f.Add(300, "linedispatch-7d9f8c6b5-abcde,linedispatch-7d9f8c6b5-fghij")
	f.Fuzz(func(t *testing.T, partitions int, list string) {
		if partitions < 0 || partitions > MaxPartitionsChecked || len(list) > 400 {
			t.Skip()
		}
		members := strings.Split(list, ",")
		a := Assign(partitions, members)
		checkPartition(t, partitions, members, a)
		checkBounded(t, partitions, members, a)
		checkStable(t, partitions, members, a)
	})
}

// MaxPartitionsChecked bounds FuzzAssign's partition count (the stability
// check is quadratic).
const MaxPartitionsChecked = 1024

func BenchmarkAssign(b *testing.B) {
	for _, c := range []struct{ partitions, members int }{{16, 3}, {64, 8}, {1024, 30}} {
		ms := names("linedispatch-", c.members)
		b.Run(fmt.Sprintf("P%d/n%d", c.partitions, c.members), func(b *testing.B) {
			for b.Loop() {
				Assign(c.partitions, ms)
			}
		})
	}
}
