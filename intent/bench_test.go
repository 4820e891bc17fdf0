package intent

import (
	"strings"
	"testing"
)

// The dispatcher decodes and validates every intent it pulls; these bound the
// cost per intent.

func benchDecode(b *testing.B, doc string) {
	b.Helper()
	data := []byte(doc)
	if _, err := DecodeAt(data, testNow); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeAt(data, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePush(b *testing.B) {
	body := `{"to":"` + testUser + `","messages":` + msgs(5) + `}`
	benchDecode(b, strings.Replace(envelope(`,"unit":"u1","labels":{"campaign":"c"}`), validBodies[Push], body, 1))
}

func BenchmarkDecodeMulticast500(b *testing.B) {
	body := `{"to":` + ids(500) + `,"messages":` + msgs(2) + `}`
	doc := strings.Replace(envelope(""), validBodies[Push], body, 1)
	benchDecode(b, strings.Replace(doc, `"endpoint":"push"`, `"endpoint":"multicast"`, 1))
}

func BenchmarkRecipientsMulticast500(b *testing.B) {
	in := &Intent{Endpoint: Multicast, Body: []byte(`{"to":` + ids(500) + `,"messages":` + msgs(2) + `}`)}
	b.ReportAllocs()
	for b.Loop() {
		if in.Recipients() != 500 {
			b.Fatal("wrong count")
		}
	}
}
