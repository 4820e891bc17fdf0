package intent

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The JSON Schema and the field reference in docs/ are hand-written for
// producers in other languages; these tests keep them from drifting away from
// the Go type and its validation.

var (
	schemaPath = filepath.Join("..", "docs", "intent.schema.json")
	docsPath   = filepath.Join("..", "docs", "intent.md")
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", schemaPath, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // date-time is an annotation only unless asserted
	if err := c.AddResource("intent.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("intent.schema.json")
	if err != nil {
		t.Fatalf("compile %s: %v", schemaPath, err)
	}
	return sch
}

func schemaValidate(t *testing.T, sch *jsonschema.Schema, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("instance: %v", err)
	}
	return sch.Validate(inst)
}

// jsonFields returns the Intent struct's JSON names and which are required
// (no omitempty/omitzero).
func jsonFields() (names, required []string) {
	typ := reflect.TypeFor[Intent]()
	for i := range typ.NumField() {
		if !typ.Field(i).IsExported() {
			continue
		}
		tag := typ.Field(i).Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		names = append(names, name)
		if !strings.Contains(opts, "omit") {
			required = append(required, name)
		}
	}
	return names, required
}

func TestSchemaMatchesStruct(t *testing.T) {
	t.Parallel()
	var schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	if err := json.Unmarshal(readFile(t, schemaPath), &schema); err != nil {
		t.Fatal(err)
	}
	var props []string
	for k := range schema.Properties {
		props = append(props, k)
	}
	names, required := jsonFields()
	sortedNames := slices.Sorted(slices.Values(names))
	sort.Strings(props)
	if !slices.Equal(props, sortedNames) {
		t.Errorf("schema properties %v != Intent JSON fields %v", props, sortedNames)
	}
	if !slices.Equal(names, fieldNames) {
		t.Errorf("fieldNames %v != Intent JSON fields %v", fieldNames, names)
	}
	sort.Strings(schema.Required)
	sort.Strings(required)
	if !slices.Equal(schema.Required, required) {
		t.Errorf("schema required %v != Intent fields without omit* %v", schema.Required, required)
	}
}

func TestSchemaAcceptsExamples(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	for _, path := range exampleFiles(t) {
		data := readFile(t, path)
		if err := schemaValidate(t, sch, data); err != nil {
			t.Errorf("%s: schema: %v", path, err)
		}
		if _, err := DecodeAt(data, testNow); err != nil {
			t.Errorf("%s: Decode: %v", path, err)
		}
	}
}

// TestSchemaAgreesOnInvalid: shape errors the schema can express must be
// refused by both the schema and Decode.
func TestSchemaAgreesOnInvalid(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	tests := map[string]string{
		"unknown field":       envelope(`,"priority":1`),
		"bad bot":             strings.Replace(envelope(""), testBot, "Ubad", 1),
		"bad channel":         strings.Replace(envelope(""), "2001234567", "ch-1", 1),
		"unknown endpoint":    strings.Replace(envelope(""), `"push"`, `"richmenu"`, 1),
		"missing createdAt":   strings.Replace(envelope(""), `,"createdAt":"2025-01-31T09:00:00Z"`, "", 1),
		"bad createdAt":       strings.Replace(envelope(""), `2025-01-31T09:00:00Z`, `yesterday`, 1),
		"aggregation in body": strings.Replace(envelope(""), `"messages"`, `"customAggregationUnits":["u"],"messages"`, 1),
		"push to bad id":      strings.Replace(envelope(""), `"to":"`+testUser+`"`, `"to":"Cxyz"`, 1),
		"six messages":        strings.Replace(envelope(""), `"messages":[{"type":"text","text":"hi"}]`, `"messages":`+msgs(6), 1),
		"empty text":          strings.Replace(envelope(""), `"text":"hi"`, `"text":""`, 1),
		"no message type":     strings.Replace(envelope(""), `"type":"text",`, ``, 1),
		"bad unit":            envelope(`,"unit":"a-b"`),
		"bad retryKey":        envelope(`,"retryKey":"nope"`),
		"label key":           envelope(`,"labels":{"a b":"c"}`),
		"unit on broadcast": `{"id":"` + testID + `","channel":"1","bot":"` + testBot + `","endpoint":"broadcast","body":` +
			validBodies[Broadcast] + `,"unit":"u","createdAt":"2025-01-31T09:00:00Z"}`,
		"retryKey on reply": `{"id":"` + testID + `","channel":"1","bot":"` + testBot + `","endpoint":"reply","body":` +
			validBodies[Reply] + `,"retryKey":"` + testID + `","createdAt":"2025-01-31T09:00:00Z"}`,
		"multicast group": `{"id":"` + testID + `","channel":"1","bot":"` + testBot + `","endpoint":"multicast","body":` +
			`{"to":["` + testGroup + `"],"messages":` + msgs(1) + `},"createdAt":"2025-01-31T09:00:00Z"}`,
		"markasread no userId": `{"id":"` + testID + `","channel":"1","bot":"` + testBot + `","endpoint":"markasread","body":` +
			`{"chat":{}},"createdAt":"2025-01-31T09:00:00Z"}`,
	}
	for name, doc := range tests {
		if err := schemaValidate(t, sch, []byte(doc)); err == nil {
			t.Errorf("%s: schema accepts %s", name, doc)
		}
		if _, err := DecodeAt([]byte(doc), testNow); err == nil {
			t.Errorf("%s: Decode accepts %s", name, doc)
		}
	}
	if err := schemaValidate(t, sch, []byte(envelope(""))); err != nil {
		t.Fatalf("the base document is invalid under the schema: %v", err)
	}
}

// jsonBlock matches fenced ```json blocks in Markdown.
var jsonBlock = regexp.MustCompile("(?s)```json\n(.*?)```")

// TestDocsExamples: every intent example in docs/intent.md (a ```json block
// with an "endpoint") must pass both the schema and Decode.
func TestDocsExamples(t *testing.T) {
	t.Parallel()
	sch := compileSchema(t)
	n := 0
	for _, m := range jsonBlock.FindAllSubmatch(readFile(t, docsPath), -1) {
		block := m[1]
		if !bytes.Contains(block, []byte(`"endpoint"`)) || !bytes.Contains(block, []byte(`"createdAt"`)) {
			continue
		}
		n++
		var probe struct {
			CreatedAt time.Time `json:"createdAt"`
		}
		if err := json.Unmarshal(block, &probe); err != nil {
			t.Errorf("docs example %d does not parse: %v\n%s", n, err, block)
			continue
		}
		if err := schemaValidate(t, sch, block); err != nil {
			t.Errorf("docs example %d: schema: %v\n%s", n, err, block)
		}
		if _, err := DecodeAt(block, probe.CreatedAt.Add(time.Minute)); err != nil {
			t.Errorf("docs example %d: Decode: %v\n%s", n, err, block)
		}
	}
	if n < 5 {
		t.Errorf("found %d intent examples in %s, want at least 5 (push, multicast, narrowcast, reply, markasread)", n, docsPath)
	}
}
