package intent

import (
	"strconv"
	"strings"
)

// Reasons are the short machine-readable causes of a refused intent. The
// dispatcher uses them as the last token of dead-letter subjects
// (line.dead.<channel>.<bot>.<endpoint>.<reason>), so they are subject-safe and
// stable: adding one is a wire-format change.
const (
	// ReasonInvalidJSON: the document (or its body) is not well-formed JSON,
	// not an object, not UTF-8, has duplicate or trailing data, or is too big.
	ReasonInvalidJSON = "invalid_json"
	// ReasonUnknownEndpoint: endpoint is missing or names no supported endpoint.
	ReasonUnknownEndpoint = "unknown_endpoint"
	// ReasonExpired: the intent's deadline (Deadline) has passed.
	ReasonExpired = "expired"
	// ReasonInvalidIntent: any other rule is broken.
	ReasonInvalidIntent = "invalid_intent"
)

// reasonRank orders reasons from most to least specific; a ValidationError
// reports the most specific reason among its problems.
func reasonRank(code string) int {
	switch code {
	case ReasonInvalidJSON:
		return 0
	case ReasonUnknownEndpoint:
		return 1
	case ReasonExpired:
		return 2
	}
	return 3
}

// Problem is one broken rule.
type Problem struct {
	// Field is the JSON path of the offending value, e.g. "bot",
	// "body.messages[5].text" or `labels["campaign"]`; "" means the whole
	// document.
	Field string `json:"field"`
	// Reason says what is wrong, for humans.
	Reason string `json:"reason"`
	// Code is one of the Reason* constants.
	Code string `json:"code"`
}

// String renders the problem as "field: reason".
func (p Problem) String() string {
	if p.Field == "" {
		return p.Reason
	}
	return p.Field + ": " + p.Reason
}

// ValidationError lists every problem found in one intent. Decode, Parse,
// Validate, New and Publish return it (use errors.As to get at it).
type ValidationError struct {
	// ID is the intent's ID when it was readable, for logs.
	ID string
	// Problems holds at least one problem, in document order where possible.
	Problems []Problem
}

// maxProblemsInMessage bounds Error(): a multicast with 500 bad recipients must
// not produce a 500-clause log line. Problems holds them all.
const maxProblemsInMessage = 5

// Error is a one-line summary: the reason, the intent ID, and the first few
// problems.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("intent")
	if e.ID != "" {
		b.WriteByte(' ')
		b.WriteString(e.ID)
	}
	b.WriteString(" is invalid (")
	b.WriteString(e.Reason())
	b.WriteString("): ")
	for i, p := range e.Problems {
		if i == maxProblemsInMessage {
			b.WriteString("; and ")
			b.WriteString(strconv.Itoa(len(e.Problems) - i))
			b.WriteString(" more")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Reason returns the most specific Code among the problems: invalid_json,
// then unknown_endpoint, then expired, then invalid_intent.
func (e *ValidationError) Reason() string {
	best := ReasonInvalidIntent
	for _, p := range e.Problems {
		if reasonRank(p.Code) < reasonRank(best) {
			best = p.Code
		}
	}
	return best
}

// Has reports whether some problem concerns field (exact path match). It is
// meant for tests and for callers that react to one field.
func (e *ValidationError) Has(field string) bool {
	for _, p := range e.Problems {
		if p.Field == field {
			return true
		}
	}
	return false
}

// problems collects Problems while validating; the zero value is ready.
type problems struct {
	list []Problem
}

func (ps *problems) add(field, code, reason string) {
	ps.list = append(ps.list, Problem{Field: field, Reason: reason, Code: code})
}

// invalid records an invalid_intent problem, the common case.
func (ps *problems) invalid(field, reason string) {
	ps.add(field, ReasonInvalidIntent, reason)
}

// err returns nil without problems, else a *ValidationError. The explicit nil
// avoids the typed-nil-in-interface trap.
func (ps *problems) err(id string) error {
	if len(ps.list) == 0 {
		return nil
	}
	return &ValidationError{ID: id, Problems: ps.list}
}

// index appends "[i]" to a JSON path.
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// member appends a member name to a JSON path: ".name" for identifier-like
// names, `["odd name"]` otherwise, so every path is unambiguous.
func member(path, name string) string {
	plain := name != ""
	for i := 0; i < len(name) && plain; i++ {
		c := name[i]
		plain = c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
	}
	switch {
	case !plain:
		return path + "[" + strconv.Quote(name) + "]"
	case path == "":
		return name
	}
	return path + "." + name
}
