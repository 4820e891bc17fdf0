package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/linedispatch/linedispatch/intent"
)

func runSendCmd(t *testing.T, url string, args ...string) (int, string, string) {
	t.Helper()
	std, out, errb := testStdio(map[string]string{"LINEDISPATCH_NATS_URL": url})
	code := runSend(context.Background(), args, std)
	return code, out.String(), errb.String()
}

var sendOutput = regexp.MustCompile(`^id=(\S+) stream=LINE_INTENTS seq=(\d+)( duplicate=true)?\n$`)

func TestSendPublishes(t *testing.T) {
	t.Parallel()
	ctx, q := setupQueue(t)
	const id = "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"
	args := []string{"--channel", testChannel, "--bot", testBot, "--to", testUser, "--text", "hello, world",
		"--unit", "cli_test", "--label", "campaign=cli", "--label", "run=1", "--not-after", "2h", "--id", id}
	code, stdout, stderr := runSendCmd(t, q.URL(), args...)
	m := sendOutput.FindStringSubmatch(stdout)
	if code != exitOK || m == nil || m[1] != id || m[2] != "1" || m[3] != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// Same --id again: stored once, reported as a duplicate.
	code, stdout, _ = runSendCmd(t, q.URL(), args...)
	if m := sendOutput.FindStringSubmatch(stdout); code != exitOK || m == nil || m[3] == "" {
		t.Fatalf("re-send: exit %d, stdout %q", code, stdout)
	}
	st := stored(t, ctx, q.JS)
	if len(st) != 1 {
		t.Fatalf("%d stored, want 1", len(st))
	}
	in := st[0].in
	if in.Unit != "cli_test" || in.Labels["campaign"] != "cli" || in.Labels["run"] != "1" ||
		in.NotAfter.Sub(in.CreatedAt).Hours() != 2 || !strings.Contains(string(in.Body), `"text":"hello, world"`) {
		t.Errorf("stored %+v body %s", in, in.Body)
	}
}

func TestSendBuildsBodies(t *testing.T) {
	t.Parallel()
	bodyFile := filepath.Join(t.TempDir(), "body.json")
	writeFile(t, bodyFile, `{"messages":[{"type":"sticker","packageId":"446","stickerId":"1988"}]}`)
	tests := []struct {
		name string
		args []string
		want string // a substring of the body JSON
	}{
		{"push", []string{"--to", testUser, "--text", "a", "--text", "b,c"}, `"messages":[{"text":"a","type":"text"},{"text":"b,c","type":"text"}],"to":"` + testUser + `"`},
		{"multicast comma list", []string{"--endpoint", "multicast", "--to", testUser + "," + testBot, "--text", "a"}, `"to":["` + testUser + `","` + testBot + `"]`},
		{"broadcast", []string{"--endpoint", "broadcast", "--text", "a"}, `{"messages":[{"text":"a","type":"text"}]}`},
		{"reply", []string{"--endpoint", "reply", "--reply-token", "tok", "--text", "a"}, `"replyToken":"tok"`},
		{"markasread", []string{"--endpoint", "markasread", "--to", testUser}, `{"chat":{"userId":"` + testUser + `"}}`},
		{"body file", []string{"--endpoint", "narrowcast", "--body-file", bodyFile}, `"stickerId":"1988"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--channel", testChannel, "--bot", testBot, "--dry-run"}, tc.args...)
			code, stdout, stderr := runSendCmd(t, "nats://127.0.0.1:1", args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			in, err := intent.Decode([]byte(stdout))
			if err != nil {
				t.Fatalf("dry-run output is not a valid intent: %v\n%s", err, stdout)
			}
			var compact strings.Builder
			_ = json.NewEncoder(&compact).Encode(json.RawMessage(in.Body))
			if !strings.Contains(compact.String(), tc.want) {
				t.Errorf("body %s lacks %s", compact.String(), tc.want)
			}
		})
	}
}

func TestSendRefusesBadInput(t *testing.T) {
	t.Parallel()
	base := []string{"--channel", testChannel, "--bot", testBot}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no bot", []string{"--channel", "1", "--to", testUser, "--text", "a"}, "bot: required"},
		{"no text", append(base, "--to", testUser), "no message"},
		{"two to for push", append(base, "--to", testUser+","+testUser, "--text", "a"), "push takes one --to"},
		{"body file and text", append(base, "--body-file", "x.json", "--text", "a"), "excludes"},
		{"bad unit", append(base, "--to", testUser, "--text", "a", "--unit", "a b"), "unit: must match"},
		{"unit on reply", append(base, "--endpoint", "reply", "--reply-token", "t", "--text", "a", "--unit", "u"), "unit: not allowed on reply"},
		{"not-after too far", append(base, "--to", testUser, "--text", "a", "--not-after", "21h"), "notAfter: must be at most"},
		{"bad label", append(base, "--to", testUser, "--text", "a", "--label", "nokey"), "key=value"},
		{"unknown endpoint", append(base, "--endpoint", "richmenu", "--text", "a"), "unknown endpoint"},
		{"stray argument", append(base, "extra"), "unexpected arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runSendCmd(t, "nats://127.0.0.1:1", tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tc.want)
			}
		})
	}
}

func TestSendNATSDown(t *testing.T) {
	t.Parallel()
	code, _, stderr := runSendCmd(t, "nats://127.0.0.1:1", "--channel", testChannel, "--bot", testBot, "--to", testUser, "--text", "a")
	if code != exitFail || !strings.Contains(stderr, "connect to NATS at nats://127.0.0.1:1") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestHelpDocumentsEveryFlag: each command's --help lists every flag with a
// description (and the defaults the flag package prints).
func TestHelpDocumentsEveryFlag(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		std, _, errb := testStdio(nil)
		if code := c.run(context.Background(), []string{"--help"}, std); code != exitOK {
			t.Errorf("%s --help: exit %d", c.name, code)
		}
		help := errb.String()
		for _, flagName := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(help, -1) {
			if !regexp.MustCompile(`(?m)^  -` + flagName[1] + `\b.*\n    \t?\S`).MatchString(help) {
				t.Errorf("%s: flag -%s has no description", c.name, flagName[1])
			}
		}
		for _, want := range []string{"usage: producer " + c.name, "-nats-url", "default \"nats://127.0.0.1:4222\""} {
			if !strings.Contains(help, want) {
				t.Errorf("%s --help lacks %q:\n%s", c.name, want, help)
			}
		}
	}
}

func TestNATSURLFromEnvironment(t *testing.T) {
	t.Parallel()
	std, _, errb := testStdio(map[string]string{"LINEDISPATCH_NATS_URL": "nats://example.invalid:4222"})
	runSend(context.Background(), []string{"--help"}, std)
	if !strings.Contains(errb.String(), `default "nats://example.invalid:4222"`) {
		t.Errorf("env LINEDISPATCH_NATS_URL not used as the default:\n%s", errb.String())
	}
}

func TestRunDispatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{nil, exitUsage, "usage: producer"},
		{[]string{"nope"}, exitUsage, `unknown command "nope"`},
		{[]string{"help"}, exitOK, "commands:"},
	}
	for _, tc := range tests {
		std, out, errb := testStdio(nil)
		if code := run(context.Background(), tc.args, std); code != tc.code || !strings.Contains(out.String()+errb.String(), tc.out) {
			t.Errorf("run %q: exit %d, output %q", tc.args, code, out.String()+errb.String())
		}
	}
}

var _ = os.Stdin
