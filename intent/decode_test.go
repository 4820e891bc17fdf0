package intent

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"
)

// envelope renders a valid push intent document with extra raw members
// appended (extra must start with a comma) for Parse/Decode tests.
func envelope(extra string) string {
	return `{"id":"` + testID + `","channel":"2001234567","bot":"` + testBot + `","endpoint":"push",` +
		`"body":` + validBodies[Push] + `,"createdAt":"2025-01-31T09:00:00Z"` + extra + `}`
}

func TestDecodeExamples(t *testing.T) {
	t.Parallel()
	for _, path := range exampleFiles(t) {
		in, err := DecodeAt(readFile(t, path), testNow)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if !strings.Contains(path, string(in.Endpoint)) {
			t.Errorf("%s: endpoint %q does not match the file name", path, in.Endpoint)
		}
	}
}

// TestDecodeStrict covers Parse's strictness and the codes it reports.
func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		doc      string
		field    string // "" = the whole document
		code     string // "" = valid
		nilIntnt bool   // the document was unreadable
	}{
		{name: "valid", doc: envelope("")},
		{name: "valid with whitespace", doc: "\n  " + envelope("") + "\n\t"},
		{name: "null optionals are absent", doc: envelope(`,"unit":null,"notAfter":null,"labels":null,"retryKey":null`)},
		{name: "empty", doc: "", field: "", code: ReasonInvalidJSON, nilIntnt: true},
		{name: "not an object", doc: `[1,2]`, field: "", code: ReasonInvalidJSON, nilIntnt: true},
		{name: "null document", doc: `null`, field: "", code: ReasonInvalidJSON, nilIntnt: true},
		{name: "truncated", doc: envelope("")[:40], field: "id", code: ReasonInvalidJSON, nilIntnt: true},
		{name: "syntax error in body", doc: strings.Replace(envelope(""), `"messages":[`, `"messages":[,`, 1), field: "body", code: ReasonInvalidJSON, nilIntnt: true},
		{name: "trailing object", doc: envelope("") + `{}`, field: "", code: ReasonInvalidJSON, nilIntnt: true},
		{name: "trailing garbage", doc: envelope("") + `x`, field: "", code: ReasonInvalidJSON, nilIntnt: true},
		{name: "invalid utf8", doc: strings.Replace(envelope(""), "hi", "h\xffi", 1), field: "", code: ReasonInvalidJSON, nilIntnt: true},
		{name: "too large", doc: envelope(`,"labels":{"k":"` + strings.Repeat("a", MaxSize) + `"}`), field: "", code: ReasonInvalidJSON, nilIntnt: true},
		{name: "unknown field", doc: envelope(`,"priority":1`), field: "priority", code: ReasonInvalidIntent},
		{name: "typo field", doc: envelope(`,"untit":"x"`), field: "untit", code: ReasonInvalidIntent},
		{name: "wrong case field", doc: envelope(`,"Unit":"x"`), field: "Unit", code: ReasonInvalidIntent},
		{name: "odd field name", doc: envelope(`,"a b":1`), field: `["a b"]`, code: ReasonInvalidIntent},
		{name: "duplicate field", doc: envelope(`,"bot":"` + testBot + `"`), field: "bot", code: ReasonInvalidJSON},
		{name: "channel number", doc: strings.Replace(envelope(""), `"2001234567"`, `2001234567`, 1), field: "channel", code: ReasonInvalidIntent},
		{name: "id number", doc: envelope(`,"retryKey":12`), field: "retryKey", code: ReasonInvalidIntent},
		{name: "labels not strings", doc: envelope(`,"labels":{"a":1}`), field: "labels", code: ReasonInvalidIntent},
		{name: "labels array", doc: envelope(`,"labels":["a"]`), field: "labels", code: ReasonInvalidIntent},
		{name: "createdAt not RFC 3339", doc: strings.Replace(envelope(""), `2025-01-31T09:00:00Z`, `2025-01-31 09:00:00`, 1), field: "createdAt", code: ReasonInvalidIntent},
		{name: "createdAt unix number", doc: strings.Replace(envelope(""), `"2025-01-31T09:00:00Z"`, `1738314000`, 1), field: "createdAt", code: ReasonInvalidIntent},
		{name: "notAfter bad", doc: envelope(`,"notAfter":"tomorrow"`), field: "notAfter", code: ReasonInvalidIntent},
		{name: "body missing", doc: strings.Replace(envelope(""), `"body":`+validBodies[Push]+`,`, ``, 1), field: "body", code: ReasonInvalidIntent},
		{name: "rules checked after parse", doc: envelope(`,"unit":"bad unit"`), field: "unit", code: ReasonInvalidIntent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, err := DecodeAt([]byte(tc.doc), testNow)
			checkProblem(t, err, tc.field, tc.code)
			if tc.code == "" {
				return
			}
			if (in == nil) != tc.nilIntnt {
				t.Errorf("intent nil = %v, want %v", in == nil, tc.nilIntnt)
			}
			if ve := mustValidationError(t, err); ve.Reason() != tc.code {
				t.Errorf("Reason() = %q, want %q (%v)", ve.Reason(), tc.code, err)
			}
		})
	}
}

func TestDecodeSuggestsField(t *testing.T) {
	t.Parallel()
	_, err := DecodeAt([]byte(envelope(`,"notafter":"2025-01-31T10:00:00Z"`)), testNow)
	if err == nil || !strings.Contains(err.Error(), `did you mean "notAfter"?`) {
		t.Fatalf("error %v does not suggest notAfter", err)
	}
}

func TestDecodeKeepsFieldsOnRuleErrors(t *testing.T) {
	t.Parallel()
	doc := strings.Replace(envelope(""), `"endpoint":"push"`, `"endpoint":"richmenu"`, 1)
	in, err := DecodeAt([]byte(doc), testNow)
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Reason() != ReasonUnknownEndpoint {
		t.Fatalf("err = %v, want unknown_endpoint", err)
	}
	if in == nil || in.Channel != "2001234567" || in.Bot != testBot || ve.ID != testID {
		t.Fatalf("decoded intent not returned with the error: %+v", in)
	}
}

func TestDecodeExpired(t *testing.T) {
	t.Parallel()
	_, err := DecodeAt([]byte(envelope("")), testNow.Add(DefaultMaxAge))
	if ve := mustValidationError(t, err); ve.Reason() != ReasonExpired {
		t.Fatalf("Reason() = %q, want expired (%v)", ve.Reason(), err)
	}
}

func TestDecodeUsesWallClock(t *testing.T) {
	t.Parallel()
	in := validIntent(t, Push)
	in.CreatedAt = time.Now().UTC()
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(data); err != nil {
		t.Fatal(err)
	}
}

func TestMarshalOmitsUnsetOptionals(t *testing.T) {
	t.Parallel()
	data, err := json.Marshal(validIntent(t, Push))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"notAfter", "retryKey", "unit", "labels"} {
		if bytes.Contains(data, []byte(`"`+f+`"`)) {
			t.Errorf("unset %s is encoded: %s", f, data)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	body := map[string]any{"to": testUser, "messages": []any{map[string]string{"type": "text", "text": "hi"}}}
	in, err := New("2001234567", testBot, Push, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.ID) != 36 || in.ID[14] != '4' {
		t.Errorf("ID %q is not a v4 UUID", in.ID)
	}
	if d := time.Since(in.CreatedAt); d < 0 || d > time.Minute {
		t.Errorf("CreatedAt %v is not now", in.CreatedAt)
	}
	raw, err := New("2001234567", testBot, Push, json.RawMessage(validBodies[Push]))
	if err != nil || string(raw.Body) != validBodies[Push] {
		t.Errorf("RawMessage body not kept verbatim: %v %s", err, raw.Body)
	}
	if _, err := New("2001234567", testBot, Push, []byte(validBodies[Push])); err != nil {
		t.Errorf("[]byte body: %v", err)
	}
	_, err = New("2001234567", testBot, Multicast, body)
	if ve := mustValidationError(t, err); !ve.Has("body.to") {
		t.Errorf("New did not validate: %v", err)
	}
	if _, err := New("1", testBot, Push, make(chan int)); err == nil {
		t.Error("unencodable body accepted")
	}
}

func TestParseFillValidate(t *testing.T) {
	t.Parallel()
	minimal := `{"channel":"2001234567","bot":"` + testBot + `","endpoint":"push","body":` + validBodies[Push] + `}`
	tests := []struct {
		name   string
		doc    string
		fields []string // problems expected after FillDefaults + Validate
	}{
		{"minimal", minimal, nil},
		{"minimal with typo", strings.TrimSuffix(minimal, "}") + `,"lables":{}}`, []string{"lables"}},
		{"type error reported once", strings.Replace(minimal, `"2001234567"`, `2001234567`, 1), []string{"channel"}},
		{"parse and rule problems", strings.Replace(minimal, `"push"`, `"nope"`, 1)[:len(minimal)-1] + `,"x":1}`, []string{"x", "endpoint"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, err := Parse([]byte(tc.doc))
			if in == nil {
				t.Fatalf("unreadable: %v", err)
			}
			if id, created := in.FillDefaults(testNow); !id || !created {
				t.Errorf("FillDefaults = %v, %v; want both filled", id, created)
			}
			if id, created := in.FillDefaults(testNow); id || created {
				t.Errorf("second FillDefaults filled again")
			}
			err = in.Validate(testNow)
			if tc.fields == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			ve := mustValidationError(t, err)
			var got []string
			for _, p := range ve.Problems {
				got = append(got, p.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("problems at %v, want %v:\n\t%s", got, tc.fields, fields(ve))
			}
		})
	}
}

// labelsCases seed TestDecodeLabelsLikeJSON and FuzzDecodeLabels.
var labelsCases = []string{
	`{}`, `{"a":"b"}`, `{"a":"b","c":"d"}`, `{"a":null}`, `{"a":"x","a":"y"}`,
	`{"a\u0062":"\u00e9\n"}`, `{"a":1}`, `{"a":"x","b":true,"c":"z"}`, `{"a":{"b":"c"}}`,
	`["a"]`, `"a"`, `1`, ` { "a" : "b" } `, `{"":""}`, `{"a":"\ud800"}`,
}

func TestDecodeLabelsLikeJSON(t *testing.T) {
	t.Parallel()
	for _, raw := range labelsCases {
		checkLabelsLikeJSON(t, []byte(raw))
	}
}

// checkLabelsLikeJSON compares decodeLabels with json.Unmarshal on raw, a
// valid JSON value other than null (Parse treats null as absent).
func checkLabelsLikeJSON(t *testing.T, raw []byte) {
	t.Helper()
	var want map[string]string
	jerr := json.Unmarshal(raw, &want)
	var got map[string]string
	var ps problems
	decodeLabels(&ps, "labels", raw, &got)
	if (jerr != nil) != (len(ps.list) > 0) {
		t.Fatalf("%s: encoding/json error %v, decodeLabels problems %v", raw, jerr, ps.list)
	}
	if jerr == nil && !maps.Equal(got, want) || jerr != nil && want != nil && !maps.Equal(got, want) {
		t.Fatalf("%s: decodeLabels %q, encoding/json %q", raw, got, want)
	}
}

// A body Parse read is not scanned for validity again, but one replaced
// after Parse is, even when it has the same length.
func TestValidateChecksReplacedBody(t *testing.T) {
	t.Parallel()
	in, err := Parse([]byte(envelope("")))
	if err != nil {
		t.Fatal(err)
	}
	if !in.bodyIsParsed() {
		t.Fatal("bodyIsParsed = false right after Parse")
	}
	broken := bytes.Repeat([]byte{'{'}, len(in.Body))
	for name, body := range map[string]json.RawMessage{
		"same length, other bytes": broken,
		"invalid UTF-8":            json.RawMessage("{\"to\":\"\xff\"}"),
	} {
		in.Body = body
		var ve *ValidationError
		if err := in.Validate(testNow); !errors.As(err, &ve) || ve.Problems[0].Field != "body" || ve.Problems[0].Code != ReasonInvalidJSON {
			t.Errorf("%s: Validate = %v, want body %s", name, err, ReasonInvalidJSON)
		}
	}
}
