package intent

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateValidIntents(t *testing.T) {
	t.Parallel()
	for _, e := range Endpoints {
		if err := validIntent(t, e).Validate(testNow); err != nil {
			t.Errorf("%s: %v", e, err)
		}
	}
}

// TestValidateEnvelope covers every envelope rule: each case breaks one rule
// of an otherwise valid intent and names the exact field and code expected.
func TestValidateEnvelope(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 257)
	tests := []struct {
		name     string
		endpoint Endpoint // default push
		mutate   func(in *Intent)
		field    string // "" = valid
		code     string
	}{
		{name: "id missing", mutate: func(in *Intent) { in.ID = "" }, field: "id", code: ReasonInvalidIntent},
		{name: "id not uuid", mutate: func(in *Intent) { in.ID = "hello" }, field: "id", code: ReasonInvalidIntent},
		{name: "id without hyphens", mutate: func(in *Intent) { in.ID = "6f1c2b1e8a4f4c3e9d2a1b7e5c9f0a11" }, field: "id", code: ReasonInvalidIntent},
		{name: "id in braces", mutate: func(in *Intent) { in.ID = "{6f1c2b1e-8a4f-4c3e-9d2a-1b7e5c9f0a1}" }, field: "id", code: ReasonInvalidIntent},
		{name: "id uppercase hex ok", mutate: func(in *Intent) { in.ID = strings.ToUpper(testID) }},
		{name: "channel missing", mutate: func(in *Intent) { in.Channel = "" }, field: "channel", code: ReasonInvalidIntent},
		{name: "channel letters", mutate: func(in *Intent) { in.Channel = "12a4" }, field: "channel", code: ReasonInvalidIntent},
		{name: "channel 20 digits ok", mutate: func(in *Intent) { in.Channel = strings.Repeat("9", 20) }},
		{name: "channel 21 digits", mutate: func(in *Intent) { in.Channel = strings.Repeat("9", 21) }, field: "channel", code: ReasonInvalidIntent},
		{name: "channel subject wildcard", mutate: func(in *Intent) { in.Channel = "*" }, field: "channel", code: ReasonInvalidIntent},
		{name: "bot missing", mutate: func(in *Intent) { in.Bot = "" }, field: "bot", code: ReasonInvalidIntent},
		{name: "bot uppercase hex", mutate: func(in *Intent) { in.Bot = strings.ToUpper(testBot) }, field: "bot", code: ReasonInvalidIntent},
		{name: "bot too short", mutate: func(in *Intent) { in.Bot = testBot[:32] }, field: "bot", code: ReasonInvalidIntent},
		{name: "bot is a group", mutate: func(in *Intent) { in.Bot = testGroup }, field: "bot", code: ReasonInvalidIntent},
		{name: "bot module user", mutate: func(in *Intent) { in.Bot = testModUser }, field: "bot", code: ReasonInvalidIntent},
		{name: "endpoint missing", mutate: func(in *Intent) { in.Endpoint = "" }, field: "endpoint", code: ReasonUnknownEndpoint},
		{name: "endpoint unknown", mutate: func(in *Intent) { in.Endpoint = "richmenu" }, field: "endpoint", code: ReasonUnknownEndpoint},
		{name: "endpoint wrong case", mutate: func(in *Intent) { in.Endpoint = "Push" }, field: "endpoint", code: ReasonUnknownEndpoint},
		{name: "retryKey ok on push", mutate: func(in *Intent) { in.RetryKey = "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6" }},
		{name: "retryKey ok on broadcast", endpoint: Broadcast, mutate: func(in *Intent) { in.RetryKey = "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6" }},
		{name: "retryKey not uuid", mutate: func(in *Intent) { in.RetryKey = "abc" }, field: "retryKey", code: ReasonInvalidIntent},
		{name: "retryKey on reply", endpoint: Reply, mutate: func(in *Intent) { in.RetryKey = "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6" }, field: "retryKey", code: ReasonInvalidIntent},
		{name: "retryKey on markasread", endpoint: MarkAsRead, mutate: func(in *Intent) { in.RetryKey = "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6" }, field: "retryKey", code: ReasonInvalidIntent},
		{name: "unit ok on push", mutate: func(in *Intent) { in.Unit = "Spring_2025" }},
		{name: "unit ok on multicast", endpoint: Multicast, mutate: func(in *Intent) { in.Unit = strings.Repeat("a", 30) }},
		{name: "unit too long", mutate: func(in *Intent) { in.Unit = strings.Repeat("a", 31) }, field: "unit", code: ReasonInvalidIntent},
		{name: "unit hyphen", mutate: func(in *Intent) { in.Unit = "spring-sale" }, field: "unit", code: ReasonInvalidIntent},
		{name: "unit on narrowcast", endpoint: Narrowcast, mutate: func(in *Intent) { in.Unit = "u" }, field: "unit", code: ReasonInvalidIntent},
		{name: "unit on reply", endpoint: Reply, mutate: func(in *Intent) { in.Unit = "u" }, field: "unit", code: ReasonInvalidIntent},
		{name: "createdAt missing", mutate: func(in *Intent) { in.CreatedAt = time.Time{} }, field: "createdAt", code: ReasonInvalidIntent},
		{name: "createdAt skew ok", mutate: func(in *Intent) { in.CreatedAt = testNow.Add(MaxClockSkew) }},
		{name: "createdAt too far ahead", mutate: func(in *Intent) { in.CreatedAt = testNow.Add(MaxClockSkew + time.Second) }, field: "createdAt", code: ReasonInvalidIntent},
		{name: "notAfter at max age ok", mutate: func(in *Intent) { in.NotAfter = in.CreatedAt.Add(MaxAge) }},
		{name: "notAfter past max age", mutate: func(in *Intent) { in.NotAfter = in.CreatedAt.Add(MaxAge + time.Second) }, field: "notAfter", code: ReasonInvalidIntent},
		{name: "notAfter equals createdAt", mutate: func(in *Intent) { in.CreatedAt, in.NotAfter = testNow, testNow }, field: "notAfter", code: ReasonInvalidIntent},
		{name: "expired default deadline", mutate: func(in *Intent) { in.CreatedAt = testNow.Add(-DefaultMaxAge - time.Second) }, field: "createdAt", code: ReasonExpired},
		{name: "expired notAfter", mutate: func(in *Intent) { in.NotAfter = testNow.Add(-time.Second); in.CreatedAt = testNow.Add(-time.Hour) }, field: "notAfter", code: ReasonExpired},
		{name: "deadline exactly now ok", mutate: func(in *Intent) { in.NotAfter = testNow }},
		{name: "labels ok", mutate: func(in *Intent) { in.Labels = map[string]string{"campaign": "spring", "a.b/c-d_e": ""} }},
		{name: "label value 256 runes ok", mutate: func(in *Intent) { in.Labels = map[string]string{"k": strings.Repeat("é", 256)} }},
		{name: "label value too long", mutate: func(in *Intent) { in.Labels = map[string]string{"campaign": long} }, field: "labels.campaign", code: ReasonInvalidIntent},
		{name: "label key empty", mutate: func(in *Intent) { in.Labels = map[string]string{"": "v"} }, field: `labels[""]`, code: ReasonInvalidIntent},
		{name: "label key space", mutate: func(in *Intent) { in.Labels = map[string]string{"a b": "v"} }, field: `labels["a b"]`, code: ReasonInvalidIntent},
		{name: "label key too long", mutate: func(in *Intent) { in.Labels = map[string]string{strings.Repeat("k", 65): "v"} }, field: "labels." + strings.Repeat("k", 65), code: ReasonInvalidIntent},
		{name: "too many labels", mutate: func(in *Intent) {
			in.Labels = map[string]string{}
			for i := range MaxLabels + 1 {
				in.Labels[string(rune('a'+i))] = "v"
			}
		}, field: "labels", code: ReasonInvalidIntent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			endpoint := tc.endpoint
			if endpoint == "" {
				endpoint = Push
			}
			in := validIntent(t, endpoint)
			tc.mutate(in)
			checkProblem(t, in.Validate(testNow), tc.field, tc.code)
		})
	}
}

// checkProblem asserts err is nil when code is "", else a *ValidationError
// with a problem at field ("" = the whole document) whose code is code.
func checkProblem(t *testing.T, err error, field, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error; want a problem at %q", field)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	for _, p := range ve.Problems {
		if p.Field == field {
			if p.Code != code {
				t.Errorf("%s: code %q, want %q", field, p.Code, code)
			}
			if p.Reason == "" {
				t.Errorf("%s: empty reason", field)
			}
			return
		}
	}
	t.Fatalf("no problem at %q; got:\n\t%s", field, fields(ve))
}

func TestValidationErrorReasonPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		codes []string
		want  string
	}{
		{"single invalid", []string{ReasonInvalidIntent}, ReasonInvalidIntent},
		{"expired beats invalid", []string{ReasonInvalidIntent, ReasonExpired}, ReasonExpired},
		{"endpoint beats expired", []string{ReasonExpired, ReasonUnknownEndpoint, ReasonInvalidIntent}, ReasonUnknownEndpoint},
		{"json beats all", []string{ReasonUnknownEndpoint, ReasonInvalidJSON, ReasonExpired}, ReasonInvalidJSON},
	}
	for _, tc := range tests {
		ve := &ValidationError{}
		for _, c := range tc.codes {
			ve.Problems = append(ve.Problems, Problem{Field: "f", Reason: "r", Code: c})
		}
		if got := ve.Reason(); got != tc.want {
			t.Errorf("%s: Reason() = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestValidationErrorMessage(t *testing.T) {
	t.Parallel()
	in := validIntent(t, Multicast)
	in.Bot = "nope"
	in.Body = []byte(`{"to":["a","b","c","d","e","f"],"messages":[]}`)
	err := in.Validate(testNow)
	ve := mustValidationError(t, err)
	msg := err.Error()
	for _, want := range []string{"intent " + testID, "(invalid_intent)", `bot: must be "U"`, "body.to[0]", "; and 3 more"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Error() = %q, missing %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("Error() is not one line: %q", msg)
	}
	if len(ve.Problems) != 8 { // bot, to[0..5], messages
		t.Errorf("got %d problems, want 8:\n\t%s", len(ve.Problems), fields(ve))
	}
	if !ve.Has("body.messages") || ve.Has("body.to[6]") {
		t.Errorf("Has() disagrees with Problems:\n\t%s", fields(ve))
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	in := &Intent{Endpoint: "nope", Body: []byte(`{}`), Unit: "x y", Labels: map[string]string{"a b": "c"}}
	ve := mustValidationError(t, in.Validate(testNow))
	for _, f := range []string{"id", "channel", "bot", "endpoint", "unit", "createdAt", `labels["a b"]`} {
		if !ve.Has(f) {
			t.Errorf("missing problem at %q; got:\n\t%s", f, fields(ve))
		}
	}
	if ve.Reason() != ReasonUnknownEndpoint {
		t.Errorf("Reason() = %q, want %q", ve.Reason(), ReasonUnknownEndpoint)
	}
}

func TestIDShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id         string
		user, push bool
	}{
		{testUser, true, true},
		{testModUser, true, true},
		{testGroup, false, true},
		{testRoom, false, true},
		{"U" + strings.Repeat("g", 32), false, false},
		{"X1b2c3d4e5f60718293a4b5c6d7e8f901", false, false},
		{testModUser[:67], false, false},
		{testModUser + "0", false, false},
		{strings.Replace(testModUser, "-", "_", 1), false, false},
		{"M" + testModUser[1:], false, false},
		{"", false, false},
	}
	for _, tc := range tests {
		if got := isRecipientUser(tc.id); got != tc.user {
			t.Errorf("isRecipientUser(%q) = %v, want %v", tc.id, got, tc.user)
		}
		if got := isPushTarget(tc.id); got != tc.push {
			t.Errorf("isPushTarget(%q) = %v, want %v", tc.id, got, tc.push)
		}
	}
}
