package intent

import (
	"bytes"
	"encoding/json"
)

// A minimal walker over JSON that json.Valid has already accepted. Validation
// runs on every intent in the dispatcher's hot path; walking the bytes and
// looking at the few members that matter avoids building maps and decoding
// values nobody reads (a 500-recipient multicast would otherwise allocate
// a string per recipient, twice). It also matches member names exactly,
// where encoding/json's struct decoding folds case and LINE does not.
//
// Every function tolerates malformed input without panicking (it stops
// early), but only gives meaningful results for valid JSON.

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string starting at data[i] == '"'.
func skipString(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(data)
}

// skipValue returns the index after the value starting at data[i].
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				j = skipString(data, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(data)
	}
	j := i
	for j < len(data) {
		switch data[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return j
		}
		j++
	}
	return j
}

// members calls fn with the name (unescaped) and the raw value of each member
// of the object data, until fn returns false.
func members(data []byte, fn func(name, value []byte) bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return
	}
	i = skipSpace(data, i+1)
	for i < len(data) && data[i] == '"' {
		end := skipString(data, i)
		name := data[i+1 : max(end-1, i+1)]
		if bytes.IndexByte(name, '\\') >= 0 { // rare: "t\u006f" is "to" to LINE too
			name = []byte(unquote(name))
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return
		}
		start := skipSpace(data, i+1)
		end = skipValue(data, start)
		if !fn(name, data[start:end]) {
			return
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ',' {
			return
		}
		i = skipSpace(data, i+1)
	}
}

// elements calls fn with the index and raw value of each element of the
// array data, until fn returns false.
func elements(data []byte, fn func(i int, value []byte) bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return
	}
	for n := 0; i < len(data); n++ {
		end := skipValue(data, i)
		if end == i || !fn(n, data[i:end]) {
			return
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ',' {
			return
		}
		i = skipSpace(data, i+1)
	}
}

// count returns the number of elements of the array data.
func count(data []byte) int {
	n := 0
	elements(data, func(int, []byte) bool { n++; return true })
	return n
}

// unquote returns the string a raw JSON string value or member name (without
// its quotes) holds. Strings without escapes, the common case, are copied
// directly.
func unquote(inner []byte) string {
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner)
	}
	var s string
	quoted := make([]byte, 0, len(inner)+2)
	quoted = append(append(append(quoted, '"'), inner...), '"')
	if json.Unmarshal(quoted, &s) != nil {
		return string(inner)
	}
	return s
}

// str decodes a JSON string value; ok is false for anything else (including
// an absent value).
func str(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	return unquote(raw[1 : len(raw)-1]), true
}

func firstByte(raw []byte) byte {
	if i := skipSpace(raw, 0); i < len(raw) {
		return raw[i]
	}
	return 0
}

func isObject(raw []byte) bool { return firstByte(raw) == '{' }
func isArray(raw []byte) bool  { return firstByte(raw) == '[' }
func isNull(raw []byte) bool   { return firstByte(raw) == 'n' }
