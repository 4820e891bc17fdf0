package intent

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecode: Decode never panics, and whatever it accepts survives a
// marshal/Decode round trip unchanged — the producer marshals what it
// validated and the dispatcher decodes it again, so both must agree. The same
// holds for Parse, which accepts far more documents and so explores deeper.
//
// DecodeAt with the fixtures' clock stands in for Decode (which only adds
// time.Now()), so that seeds do not expire.
func FuzzDecode(f *testing.F) {
	for _, path := range exampleFiles(f) {
		f.Add(readFile(f, path))
	}
	for _, e := range Endpoints {
		f.Add([]byte(`{"id":"` + testID + `","channel":"1","bot":"` + testBot + `","endpoint":"` + string(e) +
			`","body":` + validBodies[e] + `,"createdAt":"2025-01-31T09:00:00Z"}`))
	}
	f.Add([]byte(envelope(`,"labels":{}`)))
	f.Add([]byte(envelope(`,"notAfter":null,"unit":null`)))
	f.Add([]byte(envelope(`,"bot":"` + testBot + `"`)))
	f.Add([]byte(envelope("") + " {}"))
	f.Add([]byte(`{"\u0069d":"` + testID + `"}`))
	f.Add([]byte(`{"id":1,"channel":[],"bot":{},"endpoint":null,"body":"x","createdAt":5}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`"\ud800"`))

	f.Fuzz(func(t *testing.T, data []byte) {
		if in, err := DecodeAt(data, testNow); err == nil {
			roundTrip(t, in, func(b []byte) (*Intent, error) { return DecodeAt(b, testNow) })
		} else if _, ok := err.(*ValidationError); !ok {
			t.Fatalf("error is %T, not *ValidationError: %v", err, err)
		}
		if in, err := Parse(data); err == nil {
			roundTrip(t, in, Parse)
		}
	})
}

func roundTrip(t *testing.T, in *Intent, decode func([]byte) (*Intent, error)) {
	t.Helper()
	enc, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("accepted intent does not marshal: %v\n%+v", err, in)
	}
	back, err := decode(enc)
	if err != nil {
		t.Fatalf("re-decode of %s: %v", enc, err)
	}
	if d := intentDiff(in, back); d != "" {
		t.Fatalf("round trip changed %s\nbefore: %+v\nafter:  %+v", d, in, back)
	}
	again, err := json.Marshal(back)
	if err != nil || !bytes.Equal(again, enc) {
		t.Fatalf("encoding is not stable: %s\nthen:      %s", enc, again)
	}
}

// intentDiff names the first field that differs, comparing times as
// instants (offsets may be re-spelled), labels with nil == empty, and bodies
// as JSON values (marshalling compacts and escapes them).
func intentDiff(a, b *Intent) string {
	switch {
	case a.ID != b.ID:
		return "id"
	case a.Channel != b.Channel:
		return "channel"
	case a.Bot != b.Bot:
		return "bot"
	case a.Endpoint != b.Endpoint:
		return "endpoint"
	case a.RetryKey != b.RetryKey:
		return "retryKey"
	case a.Unit != b.Unit:
		return "unit"
	case !a.CreatedAt.Equal(b.CreatedAt):
		return "createdAt"
	case !a.NotAfter.Equal(b.NotAfter):
		return "notAfter"
	case len(a.Labels) != len(b.Labels) || len(a.Labels) > 0 && !reflect.DeepEqual(a.Labels, b.Labels):
		return "labels"
	case !sameJSON(a.Body, b.Body):
		return "body"
	}
	return ""
}

func sameJSON(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	va, errA := decodeNumbers(a)
	vb, errB := decodeNumbers(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

func decodeNumbers(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// TestFuzzCorpusClassified keeps the checked-in seed corpus honest: seeds
// named valid-* decode, every other seed is refused.
func TestFuzzCorpusClassified(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecode", "*"))
	if err != nil || len(paths) < 10 {
		t.Fatalf("seed corpus missing: %v (%d files)", err, len(paths))
	}
	for _, path := range paths {
		lines := strings.SplitN(string(readFile(t, path)), "\n", 3)
		if len(lines) < 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") {
			t.Errorf("%s: not a fuzz corpus file", path)
			continue
		}
		data, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		_, err = DecodeAt([]byte(data), testNow)
		if valid := strings.HasPrefix(filepath.Base(path), "valid-"); valid != (err == nil) {
			t.Errorf("%s: valid = %v, Decode error = %v", path, valid, err)
		}
	}
}

// FuzzDecodeLabels: the labels reader agrees with json.Unmarshal into a
// map[string]string on every valid JSON value: same map, same verdict.
func FuzzDecodeLabels(f *testing.F) {
	for _, s := range labelsCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Parse refuses invalid UTF-8 and treats null as absent before
		// labels are read.
		if !json.Valid(raw) || !utf8.Valid(raw) || isNull(raw) {
			return
		}
		checkLabelsLikeJSON(t, raw)
	})
}
