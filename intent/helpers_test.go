package intent

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// testNow is "now" for every fixture: one minute after the examples' createdAt.
var testNow = time.Date(2025, 1, 31, 9, 1, 0, 0, time.UTC)

const (
	testBot     = "U4af4980629e0c6b7a9b1a4f1c5e8d2aa"
	testUser    = "U1b2c3d4e5f60718293a4b5c6d7e8f901"
	testModUser = "LUb577ef3cbe786a8da85ff8e902a03fc6-U5fac33f633e72c192759f09afc41fa28"
	testGroup   = "C1b2c3d4e5f60718293a4b5c6d7e8f901"
	testRoom    = "R1b2c3d4e5f60718293a4b5c6d7e8f901"
	testID      = "6f1c2b1e-8a4f-4c3e-9d2a-1b7e5c9f0a11"
)

// validBodies holds a minimal valid body per endpoint.
var validBodies = map[Endpoint]string{
	Push:       `{"to":"` + testUser + `","messages":[{"type":"text","text":"hi"}]}`,
	Multicast:  `{"to":["` + testUser + `","` + testModUser + `"],"messages":[{"type":"text","text":"hi"}]}`,
	Narrowcast: `{"messages":[{"type":"text","text":"hi"}]}`,
	Broadcast:  `{"messages":[{"type":"text","text":"hi"}]}`,
	Reply:      `{"replyToken":"abc","messages":[{"type":"text","text":"hi"}]}`,
	MarkAsRead: `{"chat":{"userId":"` + testUser + `"}}`,
}

// validIntent returns a valid intent for endpoint at testNow.
func validIntent(t testing.TB, endpoint Endpoint) *Intent {
	t.Helper()
	body, ok := validBodies[endpoint]
	if !ok {
		t.Fatalf("no valid body for %q", endpoint)
	}
	return &Intent{
		ID:        testID,
		Channel:   "2001234567",
		Bot:       testBot,
		Endpoint:  endpoint,
		Body:      []byte(body),
		CreatedAt: testNow.Add(-time.Minute),
	}
}

// exampleFiles returns the paths of testdata/examples/*.json, sorted.
func exampleFiles(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "examples", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	sort.Strings(paths)
	return paths
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// mustValidationError asserts err is a *ValidationError.
func mustValidationError(t testing.TB, err error) *ValidationError {
	t.Helper()
	ve, ok := err.(*ValidationError)
	if !ok {
		t.Fatalf("error = %v (%T), want *ValidationError", err, err)
	}
	return ve
}

// fields lists a ValidationError's problem fields, for failure messages.
func fields(ve *ValidationError) string {
	var fs []string
	for _, p := range ve.Problems {
		fs = append(fs, p.Field+" ("+p.Code+": "+p.Reason+")")
	}
	return strings.Join(fs, "\n\t")
}
