package intent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxSize is the largest encoded intent: a body of MaxBodySize plus room for
// the envelope. The NATS server's max_payload must be at least this large for
// the biggest bodies to be publishable (the NATS default is 1 MiB).
const MaxSize = 2<<20 + 64<<10

// fieldNames lists the envelope's JSON names in document order; it backs
// unknown-field suggestions and is checked against the struct tags and the
// JSON Schema by tests.
var fieldNames = []string{"id", "channel", "bot", "endpoint", "body", "retryKey", "unit", "createdAt", "notAfter", "labels"}

// Decode reads one intent strictly and validates it at time.Now(). See DecodeAt.
func Decode(data []byte) (*Intent, error) { return DecodeAt(data, time.Now()) }

// DecodeAt reads one intent strictly (see Parse) and validates it at time now.
// Every error is a *ValidationError. When the document was readable but broke
// a rule, the decoded Intent is returned along with the error, so callers can
// log it or dead-letter it under its channel, bot and endpoint; otherwise the
// Intent is nil.
func DecodeAt(data []byte, now time.Time) (*Intent, error) {
	in, err := Parse(data)
	if in == nil {
		return nil, err
	}
	// Validate repeats Parse's problems and adds the rule checks.
	if err := in.Validate(now); err != nil {
		return in, err
	}
	return in, nil
}

// Parse decodes one intent without checking the rules that Validate checks.
// It is stricter than encoding/json: the document must be a single UTF-8 JSON
// object of at most MaxSize bytes, field names match exactly (case-sensitive),
// unknown and duplicate fields are errors (a typo must not silently drop
// data), and trailing data is an error. A null value counts as absent.
//
// Errors are *ValidationErrors. A nil Intent means the document was not
// readable at all (Reason invalid_json). Otherwise the Intent holds every
// field that decoded, and its Validate reports Parse's problems too, so that
// callers can fill in defaults before validating:
//
//	in, err := intent.Parse(data)
//	if in == nil {
//		return err // not an intent at all
//	}
//	in.FillDefaults(now)
//	err = in.Validate(now) // every problem, Parse's included
func Parse(data []byte) (*Intent, error) {
	if len(data) > MaxSize {
		return nil, jsonError("", fmt.Sprintf("intent is %d bytes; at most %d", len(data), MaxSize))
	}
	// encoding/json would replace invalid UTF-8 with U+FFFD in envelope
	// strings and pass it through untouched inside body; refuse it instead.
	if !utf8.Valid(data) {
		return nil, jsonError("", "not valid UTF-8")
	}
	if !json.Valid(data) {
		return nil, syntaxError(data)
	}
	if !isObject(data) {
		return nil, jsonError("", "must be a JSON object")
	}

	in := &Intent{}
	var ps problems
	var seen [16]bool // by index in fieldNames
	members(data, func(name, value []byte) bool {
		i := fieldIndex(name)
		switch {
		case i < 0:
			ps.invalid(member("", string(name)), unknownField(string(name)))
		case seen[i]:
			ps.add(fieldNames[i], ReasonInvalidJSON, "duplicate field")
		default:
			seen[i] = true
			in.setField(&ps, fieldNames[i], value)
		}
		return true
	})
	if err := ps.err(in.ID); err != nil {
		in.parseProblems = ps.list
		return in, err
	}
	return in, nil
}

// fieldIndex returns name's index in fieldNames, or -1. The switch on
// string(name) does not allocate.
func fieldIndex(name []byte) int {
	switch string(name) {
	case "id":
		return 0
	case "channel":
		return 1
	case "bot":
		return 2
	case "endpoint":
		return 3
	case "body":
		return 4
	case "retryKey":
		return 5
	case "unit":
		return 6
	case "createdAt":
		return 7
	case "notAfter":
		return 8
	case "labels":
		return 9
	}
	return -1
}

func unknownField(key string) string {
	if s := suggest(key); s != "" {
		return fmt.Sprintf("unknown field; did you mean %q?", s)
	}
	return "unknown field; an intent has only the fields " + strings.Join(fieldNames, ", ")
}

// setField decodes one envelope field. Body is kept verbatim (a copy: data
// may be a buffer the caller reuses).
func (in *Intent) setField(ps *problems, key string, raw []byte) {
	if isNull(raw) {
		return
	}
	switch key {
	case "id":
		decodeString(ps, key, raw, &in.ID, "a string")
	case "channel":
		decodeString(ps, key, raw, &in.Channel, "a string of digits")
	case "bot":
		decodeString(ps, key, raw, &in.Bot, "a string")
	case "endpoint":
		var s string
		decodeString(ps, key, raw, &s, "a string")
		in.Endpoint = Endpoint(s)
	case "body":
		in.Body = append(json.RawMessage(nil), raw...)
		in.parsedBody = in.Body
	case "retryKey":
		decodeString(ps, key, raw, &in.RetryKey, "a string")
	case "unit":
		decodeString(ps, key, raw, &in.Unit, "a string")
	case "createdAt":
		decodeTime(ps, key, raw, &in.CreatedAt)
	case "notAfter":
		decodeTime(ps, key, raw, &in.NotAfter)
	case "labels":
		decodeLabels(ps, key, raw, &in.Labels)
	}
}

func decodeString(ps *problems, field string, raw []byte, dst *string, want string) {
	s, ok := str(raw)
	if !ok {
		ps.invalid(field, "must be "+want)
		return
	}
	*dst = s
}

// syntaxError explains why data is not one well-formed JSON value. It is the
// slow path (a token decoder), so it can name the top-level member in which
// the syntax breaks.
func syntaxError(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return jsonError("", "malformed JSON: "+syntaxMsg(err))
	}
	if tok != json.Delim('{') {
		return jsonError("", "must be a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonError("", "malformed JSON: "+syntaxMsg(err))
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonError(member("", key), "malformed JSON: "+syntaxMsg(err))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return jsonError("", "malformed JSON: "+syntaxMsg(err))
	}
	return jsonError("", "trailing data after the intent object")
}

// decodeLabels reads an object of string values without reflection, as
// json.Unmarshal into a map[string]string would: a later duplicate wins, and
// a null value or one of another type (reported) is stored as "".
func decodeLabels(ps *problems, field string, raw []byte, dst *map[string]string) {
	if !isObject(raw) {
		ps.invalid(field, "must be an object of string values")
		return
	}
	m := make(map[string]string)
	bad := false
	members(raw, func(name, value []byte) bool {
		v, ok := str(value)
		bad = bad || !ok && !isNull(value)
		m[string(name)] = v
		return true
	})
	*dst = m
	if bad {
		ps.invalid(field, "must be an object of string values")
	}
}

func decodeTime(ps *problems, field string, raw []byte, dst *time.Time) {
	s, ok := str(raw)
	if !ok {
		ps.invalid(field, "must be an RFC 3339 timestamp string")
		return
	}
	// UnmarshalText parses RFC 3339 as strictly as MarshalJSON writes it, so
	// whatever Parse accepts re-encodes.
	var t time.Time
	if t.UnmarshalText([]byte(s)) != nil {
		ps.invalid(field, fmt.Sprintf("must be an RFC 3339 timestamp such as 2025-01-31T09:00:00Z, got %q", clip(s)))
		return
	}
	*dst = t
}

func jsonError(field, reason string) error {
	return &ValidationError{Problems: []Problem{{Field: field, Reason: reason, Code: ReasonInvalidJSON}}}
}

// syntaxMsg adds the byte offset of a syntax error, which encoding/json keeps
// out of the message.
func syntaxMsg(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

// suggest returns the field name key most likely misspells, or "".
func suggest(key string) string {
	best, bestDist := "", 3 // more than two edits is not a typo
	for _, name := range fieldNames {
		if d := editDistance(lower(key), lower(name)); d < bestDist {
			best, bestDist = name, d
		}
	}
	return best
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

// editDistance is the Levenshtein distance, bounded to short keys (field
// names are short; anything long is not a typo of one).
func editDistance(a, b string) int {
	if len(a) > 32 || len(b) > 32 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
