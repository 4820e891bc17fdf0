package linesim

import (
	"encoding/binary"
	"encoding/json"
	"hash/maphash"
	"sync"
)

// Canonical identities: instead of re-encoding JSON (slow, reflective),
// linesim hashes an injective, type-tagged serialisation of the decoded
// value with object keys sorted. Two JSON texts get the same identity exactly
// when their canonical JSON (sorted keys, no insignificant whitespace,
// numbers as written) is the same.

var canonPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// canonHash returns the 128-bit identity of v.
func (s *Sim) canonHash(v any) [2]uint64 {
	bp := canonPool.Get().(*[]byte)
	b := appendCanon((*bp)[:0], v)
	h := [2]uint64{maphash.Bytes(s.seed1, b), maphash.Bytes(s.seed2, b)}
	if cap(b) <= 64<<10 {
		*bp = b
		canonPool.Put(bp)
	}
	return h
}

func appendCanon(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 'n')
	case bool:
		if x {
			return append(b, 't')
		}
		return append(b, 'f')
	case string:
		return appendCanonString(append(b, 's'), x)
	case json.Number:
		return appendCanonString(append(b, 'd'), string(x))
	case float64: // values not decoded with UseNumber
		return binary.LittleEndian.AppendUint64(append(b, 'g'), uint64(x))
	case []any:
		b = binary.AppendUvarint(append(b, 'a'), uint64(len(x)))
		for _, e := range x {
			b = appendCanon(b, e)
		}
		return b
	case map[string]any:
		b = binary.AppendUvarint(append(b, 'o'), uint64(len(x)))
		var arr [16]string
		keys := arr[:0]
		for k := range x {
			keys = append(keys, k)
		}
		for i := 1; i < len(keys); i++ { // insertion sort: objects are small
			for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
				keys[j], keys[j-1] = keys[j-1], keys[j]
			}
		}
		for _, k := range keys {
			b = appendCanonString(b, k)
			b = appendCanon(b, x[k])
		}
		return b
	}
	return append(b, '?')
}

func appendCanonString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
