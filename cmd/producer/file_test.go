package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/linedispatch/linedispatch/internal/retrykey"
)

var intentsFile = filepath.Join("testdata", "intents.jsonl")

func runFileCmd(t *testing.T, url string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	std, out, errb := testStdio(map[string]string{"LINEDISPATCH_NATS_URL": url})
	code = runFile(context.Background(), args, std)
	return code, out.String(), errb.String()
}

func TestFileCommand(t *testing.T) {
	t.Parallel()
	ctx, q := setupQueue(t)
	// Flags after the file name work too.
	code, stdout, stderr := runFileCmd(t, q.URL(), intentsFile, "--print-ids", "--progress", "none")
	if code != exitFail {
		t.Errorf("exit %d, want %d (lines were rejected)", code, exitFail)
	}
	for _, want := range []string{
		"9 lines: 3 accepted, 1 duplicate, 5 rejected, 0 failed",
		"line 4: invalid_json: ",
		"line 6: invalid_intent: bot: ",
		"line 7: unknown_endpoint: endpoint: unknown endpoint \"richmenu\"",
		"line 8: expired: createdAt: deadline 2020-01-01T12:00:00Z passed",
		`line 9: invalid_intent: untit: unknown field; did you mean "unit"?`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	// Minted IDs of published lines (1 and 10), nothing for line 2's own ID.
	m := regexp.MustCompile(`(?m)^(\d+)\t(\S+)$`).FindAllStringSubmatch(stdout, -1)
	if len(m) != 2 || m[0][1] != "1" || m[1][1] != "10" || retrykey.Validate(m[0][2]) != nil {
		t.Fatalf("--print-ids output %q", stdout)
	}
	st := stored(t, ctx, q.JS)
	if len(st) != 3 {
		t.Fatalf("%d stored, want 3", len(st))
	}
	if st[0].in.ID != m[0][2] || st[1].in.ID != "0c8e1a9d-52b7-4f61-a3c4-7d2e9b5f6a80" || st[2].in.ID != m[1][2] {
		t.Errorf("stored IDs %s %s %s", st[0].in.ID, st[1].in.ID, st[2].in.ID)
	}
	if d := time.Since(st[0].in.CreatedAt); d < 0 || d > time.Minute {
		t.Errorf("filled createdAt %v is not now", st[0].in.CreatedAt)
	}
}

func TestFileCommandNoFill(t *testing.T) {
	t.Parallel()
	_, q := setupQueue(t)
	code, _, stderr := runFileCmd(t, q.URL(), "--fill=false", "--show-errors", "2", "--progress", "none", intentsFile)
	if code != exitFail {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{"0 accepted, 0 duplicate, 9 rejected", "line 1: invalid_intent: id: required", "… and 7 more"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
}

func TestFileCommandAllGoodLogsProgress(t *testing.T) {
	t.Parallel()
	_, q := setupQueue(t)
	path := filepath.Join(t.TempDir(), "good.jsonl")
	var b strings.Builder
	for i := range 2500 {
		b.WriteString(minimal("m"+strings.Repeat("x", i%7)) + "\n")
	}
	writeFile(t, path, b.String())
	code, stdout, stderr := runFileCmd(t, q.URL(), "--batch", "1000", "--max-in-flight", "64", "--progress", "log", "--log-every", "1ms", path)
	if code != exitOK || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "2500 lines: 2500 accepted, 0 duplicate, 0 rejected, 0 failed") {
		t.Errorf("summary:\n%s", stderr)
	}
	if !strings.Contains(stderr, `"message":"progress"`) {
		t.Errorf("no progress log line:\n%.500s", stderr)
	}
}

func TestFileCommandUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{}, exitUsage, "exactly one FILE"},
		{[]string{"a", "b"}, exitUsage, "exactly one FILE"},
		{[]string{"--progress", "fancy", "x"}, exitUsage, "--progress"},
		{[]string{"--help"}, exitOK, "-max-in-flight"},
		{[]string{"--nats-url", "nats://127.0.0.1:1", "testdata/intents.jsonl"}, exitFail, "connect to NATS"},
		{[]string{"/does/not/exist.jsonl"}, exitFail, "no such file"},
	}
	for _, tc := range tests {
		code, _, stderr := runFileCmd(t, "nats://127.0.0.1:1", tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("file %q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

func TestProgressBar(t *testing.T) {
	t.Parallel()
	var c fileCounts
	c.lines.Store(10)
	c.accepted.Store(8)
	c.rejected.Store(2)
	c.bytes.Store(50)
	p := &progress{counts: &c, total: 100, start: time.Now().Add(-time.Second)}
	bar := p.bar()
	for _, want := range []string{"[============            ]  50%", "10 lines", "8 accepted", "2 rejected", "/s"} {
		if !strings.Contains(bar, want) {
			t.Errorf("bar %q lacks %q", bar, want)
		}
	}
}
