package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/devstack"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/outcome"
)

func TestParseK6Summary(t *testing.T) {
	// A --summary-export of k6 v1.8.1 running loadtest/k6/intents.js.
	b, err := os.ReadFile("testdata/k6-summary.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parseK6Summary(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Accepted != 171 || f.Requests != 39 || f.DroppedIterations != 0 || f.GatewayErrorRate != 0 {
		t.Errorf("figures %+v", f)
	}
	if f.DurationP95 <= 0 || len(f.ThresholdsFailed) != 0 {
		t.Errorf("p95 %v, failed thresholds %v", f.DurationP95, f.ThresholdsFailed)
	}

	// The newer layout nests figures under "values"; thresholds {"ok": bool}.
	f, err = parseK6Summary([]byte(`{"metrics":{"intents_accepted":{"values":{"count":7}},` +
		`"gateway_errors":{"values":{"rate":0.5},"thresholds":{"rate<=0.001":{"ok":false}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Accepted != 7 || f.GatewayErrorRate != 0.5 || len(f.ThresholdsFailed) != 1 {
		t.Errorf("nested figures %+v", f)
	}
	if _, err := parseK6Summary([]byte(`{"metrics":{"http_reqs":{"count":3}}}`)); err == nil {
		t.Error("a summary without intents_accepted was accepted")
	}
}

func TestParseGatewayAccepted(t *testing.T) {
	text := `# HELP linedispatch_gateway_intents_total intents
# TYPE linedispatch_gateway_intents_total counter
linedispatch_gateway_intents_total{result="duplicate"} 2
linedispatch_gateway_intents_total{result="accepted"} 60021
`
	n, err := parseGatewayAccepted(strings.NewReader(text))
	if err != nil || n != 60021 {
		t.Fatalf("got %d, %v", n, err)
	}
}

func TestJudge(t *testing.T) {
	col := newCollector("r1")
	add := func(id, seq string, res outcome.Result, throttled int) {
		o := outcome.Outcome{IntentID: id, Bot: devstack.BotID(0), Endpoint: "push", Result: res, Throttled: throttled,
			Labels: map[string]string{labelRun: "r1", labelSeq: seq}}
		if res == outcome.Dead {
			o.Reason = outcome.ReasonExpired
		}
		b, _ := json.Marshal(o)
		col.add(b)
	}
	add("a", "s0", outcome.Sent, 0)
	add("a", "s0", outcome.Sent, 0) // the same intent twice
	add("b", "s1", outcome.Dead, 0)
	add("c", "s2", outcome.Sent, 1)
	other, _ := json.Marshal(outcome.Outcome{IntentID: "x", Labels: map[string]string{labelRun: "r2"}})
	col.add(other) // another run: ignored

	rep := &Report{Accepted: 4, Dead: map[string]int{}}
	lrep := &linesim.Report{Keys: []linesim.KeyStats{
		{Channel: "1", Bot: devstack.BotID(0), Endpoint: "push", Violations: 1, Throttled: 2, MaxInWindow: 9},
		{Channel: "1", Bot: devstack.BotID(9), Endpoint: "push", Violations: 5, Throttled: 5}, // not the run's bot
	}, DuplicateDeliveries: 1}
	o := options{Global: true, CheckRecipients: true}
	fold(rep, col, lrep, o)
	judge(rep, o)
	if rep.Intents != 3 || rep.Outcomes != 4 || rep.Lost != 1 || rep.OutcomeDuplicates != 1 {
		t.Errorf("intents %d outcomes %d lost %d outcome duplicates %d", rep.Intents, rep.Outcomes, rep.Lost, rep.OutcomeDuplicates)
	}
	if rep.Duplicates != 2 || rep.OverWindow != 2 || rep.IntentsHit429 != 1 || rep.Dead[outcome.ReasonExpired] != 1 {
		t.Errorf("duplicates %d over-window %d hit429 %d dead %v", rep.Duplicates, rep.OverWindow, rep.IntentsHit429, rep.Dead)
	}
	if rep.Pass || len(rep.Failures) != 4 {
		t.Errorf("pass %v failures %q", rep.Pass, rep.Failures)
	}
	var buf bytes.Buffer
	rep.Print(&buf)
	if !strings.Contains(buf.String(), "RESULT: FAIL") {
		t.Errorf("report:\n%s", buf.String())
	}
}

// TestVerifyAgainstStack runs a real stack (embedded JetStream, linesim, a
// pod), publishes marked intents the way the k6 script does, and checks that
// verify passes, then that it catches a lost intent, a duplicate delivery and
// requests over the window.
func TestVerifyAgainstStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a stack")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := devstack.Start(ctx, devstack.Options{
		DataDir: t.TempDir(),
		Bots:    2,
		// linesim allows 30 pushes a second; the pod paces at 20.
		Sim:    linesim.Config{Limits: map[string]linesim.Limit{linesim.EPPush: {Count: 30, Period: time.Second}}},
		Limits: map[string]string{"push": "20/1s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	const run, n = "k6-test-1", 24
	var ins []*intent.Intent
	var recipients []string
	for i := range n {
		to := fmt.Sprintf("U%032x", 0xfeed0000+i)
		endpoint, body := intent.Push, map[string]any{"to": to, "messages": []any{map[string]any{"type": "text", "text": fmt.Sprintf("k6 %s s%d #0", run, i)}}}
		toLabel := to
		if i%4 == 3 {
			to2 := fmt.Sprintf("U%032x", 0xbeef0000+i)
			endpoint, body["to"], toLabel = intent.Multicast, []string{to, to2}, to+","+to2
		}
		in, err := intent.New(st.Channel, st.Bots[i%2], endpoint, body)
		if err != nil {
			t.Fatal(err)
		}
		in.Labels = map[string]string{labelRun: run, labelSeq: fmt.Sprintf("s%d", i), labelTo: toLabel}
		ins = append(ins, in)
		recipients = append(recipients, to)
	}
	if _, err := intent.PublishBatch(ctx, st.Pod.Conn().JS, ins); err != nil {
		t.Fatal(err)
	}
	o := options{
		NATSURL: st.Pod.Conn().URL(), LinesimAdmin: st.Sim.AdminURL(), RunID: run, Channel: st.Channel,
		Accepted: n, Timeout: time.Minute, Settle: 300 * time.Millisecond, CheckRecipients: true, Concurrency: 4, Global: true,
	}
	var log bytes.Buffer
	rep, err := verify(ctx, o, &log)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Pass || rep.Intents != n || rep.RecipientsChecked != n+n/4 || rep.Keys != 3 {
		var b bytes.Buffer
		rep.Print(&b)
		t.Fatalf("clean run did not pass:\n%s", b.String())
	}

	// Two more accepted than there are outcomes: lost.
	o.Accepted, o.Timeout = n+2, 500*time.Millisecond
	if rep, err = verify(ctx, o, &log); err != nil || rep.Pass || rep.Lost != 2 {
		t.Fatalf("lost: err %v, pass %v, lost %d", err, rep != nil && rep.Pass, rep.Lost)
	}

	// Deliver intent 0's message again, past the dispatcher, then burst over
	// the window on bot 0's push key.
	push := func(to, text string) int {
		b, _ := json.Marshal(map[string]any{"to": to, "messages": []any{map[string]any{"type": "text", "text": text}}})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, st.Sim.URL()+"/v2/bot/message/push", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+devstack.DefaultToken)
		req.Header.Set(linesim.DefaultBotHeader, st.Bots[0])
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := push(recipients[0], fmt.Sprintf("k6 %s s0 #0", run)); code != http.StatusOK {
		t.Fatalf("duplicate push: %d", code)
	}
	o.Accepted, o.Global = n, false
	rep, err = verify(ctx, o, &log)
	if err != nil || rep.Pass || rep.DeliveryDuplicates != 1 || rep.Duplicates != 1 || rep.OverWindow != 0 {
		t.Fatalf("duplicate: err %v, report %+v", err, rep)
	}
	throttled := 0
	for i := range 40 {
		if push(fmt.Sprintf("U%032x", 0xabc00000+i), fmt.Sprintf("burst %d", i)) == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled == 0 {
		t.Fatal("the burst was not throttled")
	}
	rep, err = verify(ctx, o, &log)
	if err != nil || rep.Pass || rep.OverWindow < int64(throttled) {
		t.Fatalf("over-window: err %v, throttled %d, report %+v", err, throttled, rep)
	}
}
