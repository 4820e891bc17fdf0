package ownership

import (
	"slices"
)

// FNV-1a 64-bit parameters.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// memberSeed is the FNV-1a state after hashing the member's bytes. It is
// computed once per member and extended with each partition.
func memberSeed(member string) uint64 {
	h := uint64(fnvOffset64)
	for i := 0; i < len(member); i++ {
		h ^= uint64(member[i])
		h *= fnvPrime64
	}
	return h
}

// weight is the rendezvous weight of (member, partition).
//
// Partitions come in antithetic pairs (2g, 2g+1): both use the pair's hash
// h = fmix64(FNV-1a-64(member || le64(g))), partition 2g ranks members by h
// and partition 2g+1 by ^h, the exact reverse order. Each partition still has
// a fixed ranking of all possible members, so the rendezvous guarantees hold
// (a join only moves partitions to the newcomer, a leave only moves the
// leaver's), while the pair splits its two partitions between the top and
// the bottom member of the same ranking: with 2 members every pair gives one
// partition to each (an exact split), and with more members the spread of
// loads is smaller than with independent weights (see docs/ownership.md).
//
// The byte string member || le64(g) is injective; the murmur3 finaliser
// makes every input bit reach every output bit (FNV alone mixes its last
// bytes poorly). Nothing depends on the Go runtime, so weights are the same
// in every process, architecture and Go version; tests pin golden values.
func weight(seed uint64, partition int) uint64 {
	h := seed
	g := uint64(partition) >> 1
	for i := 0; i < 8; i++ {
		h ^= g & 0xff
		h *= fnvPrime64
		g >>= 8
	}
	h = fmix64(h)
	if partition&1 == 1 {
		h = ^h
	}
	return h
}

// fmix64 is murmur3's 64-bit finaliser.
func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// distinct returns the members sorted, without duplicates.
func distinct(members []string) []string {
	out := slices.Clone(members)
	slices.Sort(out)
	return slices.Compact(out)
}

// Assign spreads partitions 0..partitions-1 over members by rendezvous
// (highest-random-weight) hashing: partition p belongs to the member with the
// highest weight(member, p), ties to the smaller member name. The weights of
// partitions 2g and 2g+1 are antithetic (one ranking and its reverse), which
// evens the loads without weakening the rendezvous guarantees. The result
// has one entry per distinct member (possibly with no partitions), each list
// ascending; every partition appears exactly once. Adding a member only moves
// partitions to it (about partitions/(n+1) of them) and removing one only
// moves that member's partitions, so a join or leave disturbs few pullers.
//
// Assign is pure: the order of members and duplicates in it do not matter.
func Assign(partitions int, members []string) map[string][]int {
	ms := distinct(members)
	out := make(map[string][]int, len(ms))
	for _, m := range ms {
		out[m] = nil
	}
	if len(ms) == 0 || partitions <= 0 {
		return out
	}
	seeds := make([]uint64, len(ms))
	for i, m := range ms {
		seeds[i] = memberSeed(m)
	}
	for p := 0; p < partitions; p++ {
		best := bestOf(seeds, p)
		out[ms[best]] = append(out[ms[best]], p)
	}
	return out
}

// bestOf returns the index of the highest weight for partition p; members
// are sorted, so keeping the first of equal weights prefers the smaller name.
func bestOf(seeds []uint64, p int) int {
	best, bestW := 0, weight(seeds[0], p)
	for i := 1; i < len(seeds); i++ {
		if w := weight(seeds[i], p); w > bestW {
			best, bestW = i, w
		}
	}
	return best
}

// Owner is the member that Assign gives partition to, or "" when there are
// no members.
func Owner(partition int, members []string) string {
	ms := distinct(members)
	if len(ms) == 0 {
		return ""
	}
	seeds := make([]uint64, len(ms))
	for i, m := range ms {
		seeds[i] = memberSeed(m)
	}
	return ms[bestOf(seeds, partition)]
}

// owned is the sorted list of partitions member owns among members.
func owned(partitions int, members []string, member string) []int {
	ms := distinct(members)
	if _, ok := slices.BinarySearch(ms, member); !ok || partitions <= 0 {
		return nil
	}
	seeds := make([]uint64, len(ms))
	for i, m := range ms {
		seeds[i] = memberSeed(m)
	}
	var out []int
	for p := 0; p < partitions; p++ {
		if ms[bestOf(seeds, p)] == member {
			out = append(out, p)
		}
	}
	return out
}
