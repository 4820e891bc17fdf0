package ownership

import (
	"cmp"
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
// (highest-random-weight) hashing with bounded loads: every member owns
// ⌊partitions/n⌋ or ⌈partitions/n⌉ of them (n distinct members), so the
// busiest pod carries no more than its share. Each (member, partition) pair
// has the rendezvous weight weight(member, partition); the pairs are taken
// from the highest weight down (ties to the smaller member name, then the
// smaller partition), and a pair assigns its partition to its member when the
// partition is still free and the member still has room. Where the bound
// does not bite this is plain rendezvous hashing: the partition goes to its
// highest-weight member. The weights of partitions 2g and 2g+1 are
// antithetic (one ranking and its reverse), which makes the bound bite less
// often. The result has one entry per distinct member (possibly with no
// partitions, when there are more members than partitions), each list
// ascending; every partition appears exactly once.
//
// A join or leave moves partitions to the newcomer or from the leaver, and,
// where the bound then bites differently, a few more between the others
// (measured in docs/ownership.md, Balance). Every move is fenced by the
// engine like any other (docs/ownership.md, What the engine must do).
//
// Assign is pure: the order of members and duplicates in it do not matter.
func Assign(partitions int, members []string) map[string][]int {
	return AssignVersion(ProtocolVersion, partitions, members)
}

// pairWeight is one (member, partition) pair of Assign's greedy matching.
type pairWeight struct {
	w         uint64
	member    int32
	partition int32
}

// ownerIndex returns, for each partition, the index in ms (sorted, distinct,
// not empty) of its owner under the assignment of protocol version version.
func ownerIndex(version, partitions int, ms []string) []int32 {
	if version == 1 {
		return rendezvousIndex(partitions, ms)
	}
	return boundedIndex(partitions, ms)
}

// rendezvousIndex is version 1's ownerIndex: each partition to its
// highest-weight member; ms is sorted, so keeping the first of equal weights
// prefers the smaller name.
func rendezvousIndex(partitions int, ms []string) []int32 {
	seeds := make([]uint64, len(ms))
	for i, m := range ms {
		seeds[i] = memberSeed(m)
	}
	owner := make([]int32, partitions)
	for p := range owner {
		bestW := weight(seeds[0], p)
		for i := 1; i < len(seeds); i++ {
			if w := weight(seeds[i], p); w > bestW {
				owner[p], bestW = int32(i), w
			}
		}
	}
	return owner
}

// boundedIndex is Assign's ownerIndex: the greedy matching with bounded
// loads.
func boundedIndex(partitions int, ms []string) []int32 {
	n := len(ms)
	pairs := make([]pairWeight, 0, partitions*n)
	for i, m := range ms {
		seed := memberSeed(m)
		for p := 0; p < partitions; p++ {
			pairs = append(pairs, pairWeight{w: weight(seed, p), member: int32(i), partition: int32(p)})
		}
	}
	slices.SortFunc(pairs, func(a, b pairWeight) int {
		if c := cmp.Compare(b.w, a.w); c != 0 {
			return c
		}
		if c := cmp.Compare(a.member, b.member); c != 0 {
			return c
		}
		return cmp.Compare(a.partition, b.partition)
	})
	// Every member may own base partitions; extra of them one more.
	base, extra := partitions/n, partitions%n
	load := make([]int, n)
	owner := make([]int32, partitions)
	for p := range owner {
		owner[p] = -1
	}
	free := partitions
	for _, pw := range pairs {
		if owner[pw.partition] >= 0 {
			continue
		}
		switch l := load[pw.member]; {
		case l < base:
		case l == base && extra > 0:
			extra--
		default:
			continue
		}
		owner[pw.partition] = pw.member
		load[pw.member]++
		free--
		if free == 0 {
			break
		}
	}
	return owner
}

// AssignVersion is the assignment of protocol version version: 1 is plain
// rendezvous hashing (each partition to its highest-weight member, the
// assignment of pods before 2026-11-22), 2 and later Assign. A tracker
// assigns by the lowest version among the live members, so pods of both
// versions agree during a rolling upgrade.
func AssignVersion(version, partitions int, members []string) map[string][]int {
	ms := distinct(members)
	out := make(map[string][]int, len(ms))
	for _, m := range ms {
		out[m] = nil
	}
	if len(ms) == 0 || partitions <= 0 {
		return out
	}
	for p, i := range ownerIndex(version, partitions, ms) {
		out[ms[i]] = append(out[ms[i]], p)
	}
	return out
}

// Owner is the member that Assign(partitions, members) gives partition to,
// or "" when there are no members or partition is not in 0..partitions-1.
func Owner(partitions, partition int, members []string) string {
	ms := distinct(members)
	if len(ms) == 0 || partition < 0 || partition >= partitions {
		return ""
	}
	return ms[ownerIndex(ProtocolVersion, partitions, ms)[partition]]
}
