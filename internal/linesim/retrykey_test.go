package linesim

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRetryKey409(t *testing.T) {
	t.Parallel()
	const (
		pushPath  = "/v2/bot/message/push"
		multiPath = "/v2/bot/message/multicast"
		narrow    = "/v2/bot/message/narrowcast"
		broad     = "/v2/bot/message/broadcast"
	)
	type step struct {
		path      string
		body      string
		bot       string
		key       string
		want      int
		setup     func(e *env) // before the step
		accepted  int          // for 409: index of the step whose request ID must be X-Line-Accepted-Request-Id
		violation bool         // the step adds a contract violation
	}
	push := pushBody(userU, "hello")
	tests := []struct {
		name       string
		cfg        func(*Config)
		steps      []step
		deliveries int64 // to userU
	}{
		{name: "push: same key, same body", steps: []step{
			{path: pushPath, body: push, key: retryKey1, want: 200},
			{path: pushPath, body: push, key: retryKey1, want: 409, accepted: 0},
			{path: pushPath, body: push, key: retryKey1, want: 409, accepted: 0},
		}, deliveries: 1},
		{name: "push: same key, different body is a contract violation", steps: []step{
			{path: pushPath, body: push, key: retryKey1, want: 200},
			{path: pushPath, body: pushBody(userU, "other"), key: retryKey1, want: 409, accepted: 0, violation: true},
		}, deliveries: 1},
		{name: "same key for another bot", steps: []step{
			{path: pushPath, body: push, key: retryKey1, want: 200},
			{path: pushPath, body: push, bot: botB, key: retryKey1, want: 409, accepted: 0, violation: true},
		}, deliveries: 1},
		{name: "same key on another endpoint", steps: []step{
			{path: pushPath, body: push, key: retryKey1, want: 200},
			{path: multiPath, body: multicastBody([]string{userU}, "hello"), key: retryKey1, want: 409, accepted: 0, violation: true},
		}, deliveries: 1},
		{name: "different keys deliver twice", steps: []step{
			{path: pushPath, body: push, key: retryKey1, want: 200},
			{path: pushPath, body: push, key: retryKey2, want: 200},
		}, deliveries: 2},
		{name: "a 400 does not consume the key", steps: []step{
			{path: pushPath, body: `{"to":"` + userU + `","messages":[]}`, key: retryKey1, want: 400},
			{path: pushPath, body: push, key: retryKey1, want: 200},
		}, deliveries: 1},
		{name: "a 500 fault does not consume the key", steps: []step{
			{path: pushPath, body: push, key: retryKey1, want: 500, setup: func(e *env) {
				_ = e.sim.SetFaults(EPPush, Faults{ErrorRatio: 1})
			}},
			{path: pushPath, body: push, key: retryKey1, want: 200, setup: func(e *env) { _ = e.sim.SetFaults(EPPush, Faults{}) }},
		}, deliveries: 1},
		{name: "an outage does not consume the key", steps: []step{
			{path: pushPath, body: push, key: retryKey1, want: 500, setup: func(e *env) { e.sim.SetOutage(true) }},
			{path: pushPath, body: push, key: retryKey1, want: 200, setup: func(e *env) { e.sim.SetOutage(false) }},
			{path: pushPath, body: push, key: retryKey1, want: 409, accepted: 1},
		}, deliveries: 1},
		{name: "a quota 429 does not consume the key", cfg: func(c *Config) { c.MonthlyQuota = 1 }, steps: []step{
			{path: pushPath, body: pushBody(userU2, "first"), want: 200},
			{path: pushPath, body: push, key: retryKey1, want: 429},
			{path: pushPath, body: push, key: retryKey1, want: 200, setup: func(e *env) { e.clock.Advance(31 * 24 * time.Hour) }},
		}, deliveries: 1},
		{name: "accept-then-fail consumes the key", steps: []step{
			{path: pushPath, body: push, key: retryKey1, want: 500, setup: func(e *env) {
				_ = e.sim.SetFaults(EPPush, Faults{AcceptThenFailRatio: 1})
			}},
			{path: pushPath, body: push, key: retryKey1, want: 409, accepted: 0, setup: func(e *env) { _ = e.sim.SetFaults(EPPush, Faults{}) }},
		}, deliveries: 1},
		{name: "multicast", steps: []step{
			{path: multiPath, body: multicastBody([]string{userU, userL}, "m"), key: retryKey1, want: 200},
			{path: multiPath, body: multicastBody([]string{userU, userL}, "m"), key: retryKey1, want: 409, accepted: 0},
		}, deliveries: 1},
		{name: "narrowcast", steps: []step{
			{path: narrow, body: `{` + textMessages("n") + `}`, key: retryKey1, want: 202},
			{path: narrow, body: `{` + textMessages("n") + `}`, key: retryKey1, want: 409, accepted: 0},
		}},
		{name: "broadcast", steps: []step{
			{path: broad, body: `{` + textMessages("b") + `}`, key: retryKey1, want: 200},
			{path: broad, body: `{` + textMessages("b") + `}`, key: retryKey1, want: 409, accepted: 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var cfgs []func(*Config)
			if tt.cfg != nil {
				cfgs = append(cfgs, tt.cfg)
			}
			e := setup(t, cfgs...)
			var ids []string
			violations := int64(0)
			for i, s := range tt.steps {
				if s.setup != nil {
					s.setup(e)
				}
				r := e.do(req{path: s.path, body: s.body, bot: s.bot, retryKey: s.key})
				wantStatus(t, r, s.want)
				ids = append(ids, r.header.Get("X-Line-Request-Id"))
				if s.violation {
					violations++
				}
				if s.want != 409 {
					if r.header.Get("X-Line-Accepted-Request-Id") != "" {
						t.Fatalf("step %d: X-Line-Accepted-Request-Id on %d", i, s.want)
					}
					continue
				}
				if got := r.header.Get("X-Line-Accepted-Request-Id"); got != ids[s.accepted] {
					t.Fatalf("step %d: X-Line-Accepted-Request-Id %q, want %q", i, got, ids[s.accepted])
				}
				if r.message(t) != msgRetryAccepted {
					t.Fatalf("step %d: body %s", i, r.body)
				}
				sent, err := SentMessages(r.body)
				if err != nil {
					t.Fatal(err)
				}
				if s.path == pushPath && tt.steps[s.accepted].path == pushPath {
					if len(sent) != 1 || sent[0].ID == "" {
						t.Fatalf("step %d: push 409 without the original sentMessages: %s", i, r.body)
					}
				} else if len(sent) != 0 {
					t.Fatalf("step %d: sentMessages on a non-push 409: %s", i, r.body)
				}
			}
			if got := e.sim.Deliveries(userU); got != tt.deliveries {
				t.Fatalf("deliveries to userU: %d, want %d", got, tt.deliveries)
			}
			if got := e.report().Totals.ContractViolations; got != violations {
				t.Fatalf("contract violations %d, want %d", got, violations)
			}
		})
	}
}

func TestPush409CarriesOriginalSentMessages(t *testing.T) {
	t.Parallel()
	e := setup(t)
	body := `{"to":"` + userU + `","messages":[{"type":"text","text":"a"},{"type":"location","title":"t","address":"a","latitude":35.6,"longitude":139.7}]}`
	first := e.push(body, retryKey1)
	wantStatus(t, first, 200)
	again := e.push(body, retryKey1)
	wantStatus(t, again, 409)
	a, _ := SentMessages(first.body)
	b, _ := SentMessages(again.body)
	if len(a) != 2 || len(b) != 2 || a[0] != b[0] || a[1] != b[1] {
		t.Fatalf("sentMessages differ: %s vs %s", first.body, again.body)
	}
	if a[0].QuoteToken == "" || a[1].QuoteToken != "" {
		t.Fatalf("quote tokens: text should have one, location not: %s", first.body)
	}
}

func TestRetryKeyHeaderRules(t *testing.T) {
	t.Parallel()
	e := setup(t)
	replyTok := func() string {
		tok, err := e.cli.IssueReplyToken(context.Background(), testChannel, botA, userU)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name   string
		method string
		path   string
		body   func() string
		key    string
		want   int
		msg    string
	}{
		{"push, malformed", "", "/v2/bot/message/push", func() string { return pushBody(userU, "a") }, "not-a-uuid", 400, msgRetryInvalid},
		{"push, empty", "", "/v2/bot/message/push", func() string { return pushBody(userU, "b") }, "", 400, msgRetryInvalid},
		{"push, no dashes", "", "/v2/bot/message/push", func() string { return pushBody(userU, "c") }, "123e4567e89b12d3a456426614174000", 400, msgRetryInvalid},
		{"push, braces", "", "/v2/bot/message/push", func() string { return pushBody(userU, "d") }, "{123e4567-e89b-12d3-a456-426614174000}", 400, msgRetryInvalid},
		{"push, upper case UUID", "", "/v2/bot/message/push", func() string { return pushBody(userU, "e") }, strings.ToUpper(retryKey2), 200, ""},
		{"reply", "", "/v2/bot/message/reply", func() string { return `{"replyToken":"` + replyTok() + `",` + textMessages("r") + `}` }, retryKey1, 400, msgRetryNotAllowed},
		{"markAsRead", "", "/v2/bot/message/markAsRead", func() string { return `{"chat":{"userId":"` + userU + `"}}` }, retryKey1, 400, msgRetryNotAllowed},
		{"bot info", "GET", "/v2/bot/info", func() string { return "" }, retryKey1, 400, msgRetryNotAllowed},
		{"aggregation info", "GET", "/v2/bot/message/aggregation/info", func() string { return "" }, retryKey1, 400, msgRetryNotAllowed},
		{"bot list", "GET", "/v2/bot/list", func() string { return "" }, retryKey1, 400, msgRetryNotAllowed},
		{"detach", "", "/v2/bot/channel/detach", func() string { return `{"botId":"` + botB + `"}` }, retryKey1, 400, msgRetryNotAllowed},
		{"acquire", "", "/v2/bot/chat/" + userU + "/control/acquire", func() string { return `{}` }, retryKey1, 400, msgRetryNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// An empty key still sends the header (as some SDKs do).
			r := e.do(req{method: tt.method, path: tt.path, body: tt.body(), headers: map[string]string{"X-Line-Retry-Key": tt.key}})
			wantStatus(t, r, tt.want)
			if tt.msg != "" && r.message(t) != tt.msg {
				t.Fatalf("message %q, want %q", r.message(t), tt.msg)
			}
		})
	}
	if e.sim.Deliveries(userU) != 1 {
		t.Fatalf("deliveries %d: a rejected request delivered", e.sim.Deliveries(userU))
	}
}

func TestRetryKeyExpires24h(t *testing.T) {
	t.Parallel()
	e := setup(t)
	body := pushBody(userU, "once a day")
	first := e.push(body, retryKey1)
	wantStatus(t, first, 200)
	e.clock.Advance(24*time.Hour - time.Nanosecond)
	wantStatus(t, e.push(body, retryKey1), 409)
	e.clock.Advance(time.Nanosecond) // 24 h after the first acceptance: LINE forgot the key
	again := e.push(body, retryKey1)
	wantStatus(t, again, 200)
	wantStatus(t, e.push(body, retryKey1), 409) // remembered anew
	r := e.report()
	// The 24 h duplicate memory forgot the first delivery at the same instant.
	if r.DuplicateDeliveries != 0 || e.sim.Deliveries(userU) != 2 {
		t.Fatalf("duplicates %d deliveries %d", r.DuplicateDeliveries, e.sim.Deliveries(userU))
	}
}

func TestRetryKeyExpiryDeliversDuplicate(t *testing.T) {
	t.Parallel()
	e := setup(t)
	body := pushBody(userU, "late retry")
	wantStatus(t, e.push(body, retryKey1), 200)
	e.clock.Advance(23 * time.Hour)
	wantStatus(t, e.push(body, retryKey2), 200) // same payload, another key: a duplicate
	e.clock.Advance(time.Hour)
	wantStatus(t, e.push(body, retryKey1), 200) // key 1 forgotten: a duplicate of the second
	r := e.report()
	if r.DuplicateDeliveries != 2 || len(r.Duplicates) != 2 {
		t.Fatalf("duplicates %d %+v", r.DuplicateDeliveries, r.Duplicates)
	}
	d := r.Duplicates[1]
	if d.RetryKey != retryKey1 || d.FirstRetryKey != retryKey2 || d.Recipient != userU || d.FirstEndpoint != EPPush {
		t.Fatalf("duplicate %+v", d)
	}
}

func TestRetryKeyConcurrent(t *testing.T) {
	t.Parallel()
	e := setup(t)
	body := pushBody(userU, "race")
	codes := make([]int, 20)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = e.push(body, retryKey1).status
		}()
	}
	wg.Wait()
	n200, n409 := 0, 0
	for _, c := range codes {
		switch c {
		case 200:
			n200++
		case 409:
			n409++
		}
	}
	if n200 != 1 || n409 != 19 || e.sim.Deliveries(userU) != 1 {
		t.Fatalf("200s %d 409s %d deliveries %d", n200, n409, e.sim.Deliveries(userU))
	}
}

func TestMemoryExpires(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i := 0; i < 50; i++ {
		key := retryKey1[:24] + strings.Repeat("0", 10) + itoa(10+i)
		wantStatus(t, e.push(pushBody(userU, "m"+itoa(i)), key), 200)
	}
	r := e.report()
	if r.Totals.RetryKeys != 50 || r.Totals.Deliveries != 50 {
		t.Fatalf("before: %+v", r.Totals)
	}
	e.clock.Advance(24 * time.Hour)
	r = e.report()
	if r.Totals.RetryKeys != 0 || r.Totals.Deliveries != 0 {
		t.Fatalf("after 24 h: retry keys %d deliveries %d still held", r.Totals.RetryKeys, r.Totals.Deliveries)
	}
}
