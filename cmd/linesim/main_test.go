package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/logtest"
)

const (
	bot1 = "U0123456789abcdef0123456789abcdef"
	bot2 = "Ufedcba9876543210fedcba9876543210"
)

func TestHelpDocumentsEveryFlag(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, io.Discard, nil); code != 0 {
		t.Fatalf("--help exit code %d", code)
	}
	help := out.String()
	names := []string{"addr", "admin-addr", "config", "channel", "static-token", "bot-header", "limit", "period-scale",
		"unit-cap", "monthly-quota", "reply-token-ttl", "narrowcast-duration", "max-tracked", "fault", "outage", "log-level"}
	for _, n := range names {
		i := strings.Index(help, "  -"+n+" ")
		if i < 0 {
			i = strings.Index(help, "  -"+n+"\n")
		}
		if i < 0 {
			t.Errorf("--help does not document --%s", n)
			continue
		}
		entry := help[i:]
		if j := strings.Index(entry[3:], "\n  -"); j >= 0 {
			entry = entry[:j+3]
		}
		if !strings.Contains(entry, "default") {
			t.Errorf("--help does not give the default of --%s:\n%s", n, entry)
		}
	}
	// Every flag the command defines is in the list above.
	count := strings.Count(help, "\n  -")
	if count != len(names) {
		t.Errorf("--help shows %d flags, the test knows %d", count, len(names))
	}
	for _, ep := range linesim.EndpointTokens() {
		if !strings.Contains(help, ep) {
			t.Errorf("--help does not list endpoint %s", ep)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "linesim.yaml")
	yml := "admin_addr: 127.0.0.1:9999\nperiod_scale: 0.5\nunit_cap: 7\nchannels:\n  - id: \"111\"\n    secret: s1\n    bots: [" + bot1 + "]\nlimits:\n  push: 10/1s\n  multicast: 5/1s\nfaults:\n  reply: \"error=0.5\"\n"
	if err := os.WriteFile(file, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o *options)
	}{
		{name: "flags only", args: []string{"--channel", "222:s2:" + bot1 + "," + bot2, "--static-token", "dev",
			"--limit", "narrowcast=60/1m", "--fault", "push:error=0.1,latency=5ms+-2ms", "--fault", "*:accept_then_fail=0.2",
			"--period-scale", "0.001", "--monthly-quota", "100", "--bot-header", "X-Module-Bot", "--outage"},
			check: func(t *testing.T, o *options) {
				c := o.cfg
				if len(c.Channels) != 1 || len(c.Channels[0].Bots) != 2 || c.Channels[0].StaticTokens[0] != "dev" {
					t.Fatalf("channels %+v", c.Channels)
				}
				if c.Limits["narrowcast"].String() != "60/1m" || c.Faults["push"].LatencyMean != 5*time.Millisecond ||
					c.Faults["*"].AcceptThenFailRatio != 0.2 || c.PeriodScale != 0.001 || c.MonthlyQuota != 100 ||
					c.BotHeader != "X-Module-Bot" || !c.Outage || o.addr != "127.0.0.1:8081" {
					t.Fatalf("config %+v", c)
				}
			}},
		{name: "file plus flags", args: []string{"--config", file, "--channel", "222:s2", "--static-token", "222:tok",
			"--limit", "push=20/1s", "--unit-cap", "3"},
			check: func(t *testing.T, o *options) {
				c := o.cfg
				if len(c.Channels) != 2 || c.Channels[1].StaticTokens[0] != "tok" || o.adminAddr != "127.0.0.1:9999" {
					t.Fatalf("channels %+v admin %s", c.Channels, o.adminAddr)
				}
				if c.Limits["push"].String() != "20/1s" || c.Limits["multicast"].String() != "5/1s" || c.UnitCap != 3 ||
					c.PeriodScale != 0.5 || c.Faults["reply"].ErrorRatio != 0.5 {
					t.Fatalf("config %+v", c)
				}
			}},
		{name: "no channel", args: nil, wantErr: "no channel"},
		{name: "bad channel", args: []string{"--channel", "abc"}, wantErr: "id:secret"},
		{name: "bad bot", args: []string{"--channel", "1:s:Ubad"}, wantErr: "Channels[0].Bots[0]"},
		{name: "bad limit", args: []string{"--channel", "1:s", "--limit", "push=fast"}, wantErr: "limit"},
		{name: "unknown limit endpoint", args: []string{"--channel", "1:s", "--limit", "pushh=1/1s"}, wantErr: "unknown endpoint"},
		{name: "bad fault", args: []string{"--channel", "1:s", "--fault", "push:error=3"}, wantErr: "ErrorRatio"},
		{name: "ambiguous static token", args: []string{"--channel", "1:s", "--channel", "2:s", "--static-token", "t"}, wantErr: "name the channel"},
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "nope.yaml")}, wantErr: "nope.yaml"},
		{name: "stray argument", args: []string{"--channel", "1:s", "extra"}, wantErr: "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parse(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parse = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *linesim.Server, 1)
	done := make(chan int, 1)
	var logs logtest.Buffer
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--channel", "1234567890:secret-value:" + bot1,
			"--static-token", "dev-token", "--log-level", "debug"}, io.Discard, &logs, func(s *linesim.Server) { ready <- s })
	}()
	var srv *linesim.Server
	select {
	case srv = <-ready:
	case code := <-done:
		t.Fatalf("exited with %d: %s", code, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("not ready")
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v2/bot/message/push",
		strings.NewReader(`{"to":"U1111111111111111111111111111111a","messages":[{"type":"text","text":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer dev-token")
	req.Header.Set("X-Line-Bot-Id", bot1)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("push: %d", res.StatusCode)
	}
	if err := linesim.NewClient(srv.AdminURL()).Healthy(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit code %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no shutdown")
	}
	out := logs.String()
	if !strings.Contains(out, `"message":"linesim ready"`) || !strings.Contains(out, `"message":"request"`) {
		t.Fatalf("logs: %s", out)
	}
	if strings.Contains(out, "dev-token") || strings.Contains(out, "secret-value") {
		t.Fatalf("logs leak a secret: %s", out)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"--channel", "x"}, io.Discard, &errOut, nil); code != 2 {
		t.Fatalf("exit code %d", code)
	}
	if code := run(context.Background(), []string{"--channel", "1:s", "--log-level", "loud"}, io.Discard, &errOut, nil); code != 2 {
		t.Fatalf("exit code %d", code)
	}
}
