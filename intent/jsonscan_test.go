package intent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"unicode/utf8"
)

func TestMembersAndElements(t *testing.T) {
	t.Parallel()
	doc := ` { "a" : "x}\"]" , "t\u006f":[1, {"b":"]"}, [] ,"s"] ,"n":-1.5e3,"z":null,"o":{"p":{}} } `
	var got []string
	members([]byte(doc), func(name, value []byte) bool {
		got = append(got, string(name)+"="+string(value))
		return true
	})
	want := []string{`a="x}\"]"`, `to=[1, {"b":"]"}, [] ,"s"]`, `n=-1.5e3`, `z=null`, `o={"p":{}}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("members:\n got %q\nwant %q", got, want)
	}
	var elems []string
	elements([]byte(`[1, {"b":"]"}, [] ,"s"]`), func(i int, v []byte) bool {
		elems = append(elems, fmt.Sprintf("%d:%s", i, v))
		return true
	})
	if fmt.Sprint(elems) != `[0:1 1:{"b":"]"} 2:[] 3:"s"]` {
		t.Fatalf("elements: %q", elems)
	}
	for doc, n := range map[string]int{`[]`: 0, ` [ ] `: 0, `[null]`: 1, `[[],[]]`: 2, `{}`: 0, `"x"`: 0} {
		if got := count([]byte(doc)); got != n {
			t.Errorf("count(%s) = %d, want %d", doc, got, n)
		}
	}
}

// FuzzMembers: on any valid UTF-8 JSON object (Parse checks both first),
// members sees exactly the members a token decoder sees, with the same values.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":"}","b":[{"c":"\""}]}`, `{"\u0061":true,"b":null}`, ` {"x" : [ ] } `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) || !isObject(data) || !utf8.Valid(data) {
			members(data, func(_, _ []byte) bool { return true }) // must not panic
			elements(data, func(int, []byte) bool { return true })
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		var want []string
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				t.Fatal(err)
			}
			want = append(want, tok.(string)+"="+string(raw))
		}
		var got []string
		members(data, func(name, value []byte) bool {
			if !json.Valid(value) {
				t.Fatalf("member %q: value %q is not valid JSON", name, value)
			}
			got = append(got, string(name)+"="+string(value))
			return true
		})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("members of %s:\n got %q\nwant %q", data, got, want)
		}
	})
}
