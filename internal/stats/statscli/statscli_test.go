package statscli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/outcome"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/queue/queuetest"
	"github.com/linedispatch/linedispatch/internal/stats"
	"github.com/linedispatch/linedispatch/internal/stats/statscli"
	"github.com/linedispatch/linedispatch/internal/unit"
)

const channel = "1234567890"

var (
	botA = fmt.Sprintf("U%032x", 0xa)
	nov  = time.Date(2026, 11, 10, 3, 0, 0, 0, time.UTC)
)

// setup starts JetStream, publishes a few outcomes for bot A in November
// 2026 and folds them.
func setup(t *testing.T) (context.Context, *queue.Conn) {
	t.Helper()
	c := queuetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	os := []outcome.Outcome{
		{Endpoint: "push", Result: outcome.Sent, Unit: "promo_a", Recipients: 1},
		{Endpoint: "multicast", Result: outcome.Sent, Unit: "promo_a", Recipients: 250},
		{Endpoint: "multicast", Result: outcome.Dead, Reason: outcome.ReasonQuota, Unit: "promo_a", Recipients: 3},
		{Endpoint: "push", Result: outcome.Sent, Unit: "promo_b", UnitAction: outcome.UnitStripped, Recipients: 1},
		{Endpoint: "reply", Result: outcome.Sent, Recipients: 1},
	}
	for i, o := range os {
		o.IntentID, o.Channel, o.Bot, o.At = fmt.Sprintf("00000000-0000-4000-8000-%012d", i), channel, botA, nov.Add(time.Duration(i)*time.Minute)
		b, _ := json.Marshal(o)
		if _, err := c.JS.Publish(ctx, o.Subject(), b, jetstream.WithMsgID(o.IntentID)); err != nil {
			t.Fatal(err)
		}
	}
	p, err := stats.StartProjector(ctx, c.JS, stats.ProjectorConfig{Linger: time.Millisecond}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	if err := p.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx, c
}

func run(ctx context.Context, fn func(context.Context, []string, *bytes.Buffer) error, args ...string) (string, error) {
	var out bytes.Buffer
	err := fn(ctx, args, &out)
	return out.String(), err
}

func statsCmd(ctx context.Context, args []string, out *bytes.Buffer) error {
	return statscli.RunStats(ctx, args, out)
}

func TestStatsCommand(t *testing.T) {
	t.Parallel()
	ctx, c := setup(t)
	base := []string{"--nats-url", c.URL(), "--channel", channel, "--bot", botA, "--month", "2026-11"}

	out, err := run(ctx, statsCmd, base...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"month 2026-11", "UNIT", "promo_a", "promo_b", "(no unit)", "TOTAL", "quota 1", "2026-11-10 12:00:00"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "promo_a") || !regexpRow(out, "promo_a", "3", "251", "2", "1") {
		t.Errorf("promo_a row wrong:\n%s", out)
	}

	out, err = run(ctx, statsCmd, append(base, "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var d stats.Doc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("--json output is not a document: %v\n%s", err, out)
	}
	if d.Totals.Requests != 5 || d.Totals.Recipients != 253 || d.Units["promo_b"].Stripped != 1 {
		t.Errorf("document totals %+v", d.Totals)
	}

	out, err = run(ctx, statsCmd, append(base, "--unit", "-", "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var u stats.UnitDetail
	if err := json.Unmarshal([]byte(out), &u); err != nil || u.Unit != "" || u.Requests != 1 {
		t.Errorf("--unit - --json = %s (%v)", out, err)
	}
	if out, err = run(ctx, statsCmd, append(base, "--unit", "promo_b")...); err != nil || strings.Contains(out, "TOTAL") || !strings.Contains(out, "promo_b") {
		t.Errorf("--unit promo_b table = %v\n%s", err, out)
	}
}

// regexpRow reports whether a table row starts with name followed by the
// given columns.
func regexpRow(out, name string, cols ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > len(cols) && f[0] == name {
			for i, c := range cols {
				if f[i+1] != c {
					return false
				}
			}
			return true
		}
	}
	return false
}

func TestStatsCommandErrors(t *testing.T) {
	t.Parallel()
	ctx, c := setup(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no channel", []string{"--bot", botA}, "--channel is required"},
		{"bad bot", []string{"--channel", channel, "--bot", "U1"}, "--bot"},
		{"bad month", []string{"--channel", channel, "--bot", botA, "--month", "2026-13"}, "--month"},
		{"bad unit", []string{"--channel", channel, "--bot", botA, "--unit", "a.b"}, "--unit"},
		{"no document", []string{"--nats-url", c.URL(), "--channel", channel, "--bot", botA, "--month", "2026-01"}, "no statistics"},
		{"no unit", []string{"--nats-url", c.URL(), "--channel", channel, "--bot", botA, "--month", "2026-11", "--unit", "zzz"}, "no statistics for unit"},
		{"stray argument", []string{"--channel", channel, "extra"}, "unexpected argument"},
		{"no server", []string{"--nats-url", "nats://127.0.0.1:1", "--channel", channel, "--bot", botA}, "connect to NATS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := run(ctx, statsCmd, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestHelpDocumentsFlags(t *testing.T) {
	t.Parallel()
	for name, fn := range map[string]func(context.Context, []string, *bytes.Buffer) error{
		"stats":   statsCmd,
		"rebuild": func(ctx context.Context, a []string, o *bytes.Buffer) error { return statscli.RunRebuild(ctx, a, o) },
		"reconcile": func(ctx context.Context, a []string, o *bytes.Buffer) error {
			return statscli.RunReconcile(ctx, a, o)
		},
	} {
		out, err := run(context.Background(), fn, "--help")
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(out, "Usage: dispatcher") || !strings.Contains(out, "-nats-url") {
			t.Errorf("%s --help = %v\n%s", name, err, out)
		}
	}
}

func TestRebuildCommand(t *testing.T) {
	t.Parallel()
	ctx, c := setup(t)
	out, err := run(ctx, func(ctx context.Context, a []string, o *bytes.Buffer) error { return statscli.RunRebuild(ctx, a, o) },
		"--nats-url", c.URL())
	if err != nil || !strings.Contains(out, "1 documents, 1 identical") {
		t.Errorf("rebuild = %v\n%s", err, out)
	}
	out, err = run(ctx, func(ctx context.Context, a []string, o *bytes.Buffer) error { return statscli.RunRebuild(ctx, a, o) },
		"--nats-url", c.URL(), "--json")
	var rep stats.RebuildReport
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || !rep.OK() || rep.Identical != 1 {
		t.Errorf("rebuild --json = %v\n%s", err, out)
	}
}

// fakeLINE issues a token for the channel secret "s3cret" and serves the
// aggregation endpoints for bot A.
func fakeLINE(t *testing.T, names ...string) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/v3/token", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("client_id") != channel || r.FormValue("client_secret") != "s3cret" || r.FormValue("grant_type") != "client_credentials" {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"bad"}`))
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"issued","expires_in":900,"token_type":"Bearer"}`))
	})
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer issued" || r.Header.Get("X-Bot") != botA {
				w.WriteHeader(401)
				_, _ = w.Write([]byte(`{"message":"Authentication failed"}`))
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /v2/bot/message/aggregation/info", auth(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]int{"numOfCustomAggregationUnits": len(names)})
	}))
	mux.HandleFunc("GET /v2/bot/message/aggregation/list", auth(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"customAggregationUnits": names})
	}))
	mux.HandleFunc("GET /v2/bot/insight/message/event/aggregation", auth(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"overview":{"uniqueImpression":120,"uniqueClick":null},"messages":[],"clicks":[]}`))
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestReconcileCommand(t *testing.T) {
	t.Parallel()
	ctx, c := setup(t)
	now := time.Now()
	reg, err := unit.NewRegistry(ctx, c.JS, unit.Config{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Admit(ctx, channel, botA, "promo_a", now); err != nil {
		t.Fatal(err)
	}
	lineURL := fakeLINE(t, "promo_a", "legacy_campaign")
	rc := func(ctx context.Context, a []string, o *bytes.Buffer) error { return statscli.RunReconcile(ctx, a, o) }
	base := []string{"--nats-url", c.URL(), "--line-base-url", lineURL, "--channel", channel, "--bot", botA, "--bot-header", "X-Bot", "--channel-secret", "s3cret"}

	out, err := run(ctx, rc, base...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LINE counts 2 names", "the registry has 1", "only at LINE (1): legacy_campaign", "--import"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}

	out, err = run(ctx, rc, append(base, "--import", "--insight", "--insight-units", "promo_a", "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var rep stats.ReconcileReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Imported) != 1 || rep.Imported[0] != "legacy_campaign" || len(rep.Insight) != 1 || *rep.Insight[0].UniqueImpression != 120 {
		t.Errorf("report = %+v", rep)
	}
	if names, _ := reg.Names(ctx, channel, botA, unit.Month(now)); len(names) != 2 {
		t.Errorf("registry after --import = %v", names)
	}

	if _, err := run(ctx, rc, append(base[:len(base)-2], "--channel-secret", "wrong")...); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Errorf("bad secret: err = %v (must fail without echoing the secret)", err)
	}
	if _, err := run(ctx, rc, base[:len(base)-2]...); err == nil || !strings.Contains(err.Error(), "--token or --channel-secret") {
		t.Errorf("no credentials: err = %v", err)
	}
}
