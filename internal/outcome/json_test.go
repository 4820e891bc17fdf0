package outcome

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// full returns an outcome with every field set, strings taken from s.
func full(s string) *Outcome {
	return &Outcome{
		IntentID: s, Channel: s, Bot: s, Endpoint: s, Result: Result(s),
		Reason: s, Detail: s, Unit: s, UnitAction: s, Recipients: 500,
		Status: 400, Conflict: true, RequestID: s, AcceptedRequestID: s,
		Attempts: 3, Throttled: 1,
		LineError: &LineError{Status: 400, Message: s, Details: []LineDetail{{Message: s, Property: s}, {Message: s}}},
		CreatedAt: time.Date(2026, 11, 22, 9, 0, 0, 123456789, time.FixedZone("JST", 9*3600)),
		At:        time.Date(2026, 11, 22, 9, 0, 1, 0, time.UTC),
		Labels:    map[string]string{s: s, "b": "2", "a": "1"},
		Pod:       s,
	}
}

// checkLikeMarshal fails unless AppendJSON writes what json.Marshal writes.
func checkLikeMarshal(t *testing.T, o *Outcome) {
	t.Helper()
	want, werr := json.Marshal(o)
	got, gerr := o.AppendJSON([]byte("prefix"))
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("json.Marshal error %v, AppendJSON error %v", werr, gerr)
	}
	if werr != nil {
		return
	}
	if !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("AppendJSON\n %s\njson.Marshal\n %s", got[len("prefix"):], want)
	}
	if got, _ := o.JSON(); !bytes.Equal(got, want) {
		t.Fatalf("JSON\n %s\njson.Marshal\n %s", got, want)
	}
}

func TestAppendJSONMatchesMarshal(t *testing.T) {
	t.Parallel()
	sent := &Outcome{IntentID: "01J", Channel: "2001234567", Bot: "Uabc", Endpoint: "push", Result: Sent,
		Recipients: 1, Status: 200, RequestID: "req", Attempts: 1, At: time.Unix(1_800_000_000, 5).UTC()}
	tests := map[string]*Outcome{
		"zero":                    {},
		"sent":                    sent,
		"every field":             full("x"),
		"escapes":                 full("a\"b\\c\n\r\t\b\f\x00\x1f<>&\u2028\u2029 é 日本"),
		"invalid UTF-8":           full("a\xffb\xc3"),
		"empty line error":        {LineError: &LineError{}},
		"empty details, labels":   {LineError: &LineError{Details: []LineDetail{}}, Labels: map[string]string{}},
		"year out of range":       {At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"created out of range":    {CreatedAt: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		"negative numbers":        {Recipients: -1, Status: -2, Attempts: -3, Throttled: -4},
		"unit actions":            {Unit: "campaign", UnitAction: UnitStripped},
		"dead with reason detail": {Result: Dead, Reason: ReasonRejected, Detail: "LINE said no"},
	}
	for name, o := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkLikeMarshal(t, o)
		})
	}
}

// FuzzAppendJSON: for any string in every string field, AppendJSON and
// json.Marshal agree byte for byte.
func FuzzAppendJSON(f *testing.F) {
	for _, s := range []string{"", "x", "<&>", "\u2028", "\xff", "a\"\\\n", "日本語", "\x7f"} {
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, s string, nanos int64) {
		o := full(s)
		o.At = time.Unix(0, nanos).UTC()
		checkLikeMarshal(t, o)
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	o := full("01JDQ5X4ZB7KQ8M1N2P3R4S5T6")
	o.LineError = nil
	b.Run("JSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := o.JSON(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(o); err != nil {
				b.Fatal(err)
			}
		}
	})
}
