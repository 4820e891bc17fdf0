package linesim

import (
	"testing"
	"time"
)

func TestDuplicateDeliveries(t *testing.T) {
	t.Parallel()
	type send struct {
		path    string
		body    string
		bot     string
		key     string
		advance time.Duration
	}
	push := func(to, text string) string { return pushBody(to, text) }
	tests := []struct {
		name  string
		sends []send
		dups  int64
		// checks on the first duplicate
		firstKey, key string
	}{
		{"different retry keys", []send{
			{body: push(userU, "a"), key: retryKey1}, {body: push(userU, "a"), key: retryKey2},
		}, 1, retryKey1, retryKey2},
		{"no retry key", []send{{body: push(userU, "a")}, {body: push(userU, "a")}}, 1, "", ""},
		{"same key is a 409, not a duplicate", []send{
			{body: push(userU, "a"), key: retryKey1}, {body: push(userU, "a"), key: retryKey1},
		}, 0, "", ""},
		{"different text", []send{{body: push(userU, "a")}, {body: push(userU, "b")}}, 0, "", ""},
		{"different recipients", []send{{body: push(userU, "a")}, {body: push(userU2, "a")}}, 0, "", ""},
		{"different bots", []send{{body: push(userU, "a")}, {body: push(userU, "a"), bot: botB}}, 0, "", ""},
		{"key order does not matter", []send{
			{body: `{"to":"` + userU + `","messages":[{"type":"text","text":"a"}]}`},
			{body: `{"messages":[ {"text":"a", "type":"text"} ], "to":"` + userU + `"}`},
		}, 1, "", ""},
		{"notificationDisabled does not matter", []send{
			{body: push(userU, "a")},
			{body: `{"to":"` + userU + `",` + textMessages("a") + `,"notificationDisabled":true}`},
		}, 1, "", ""},
		{"push then multicast", []send{
			{body: push(userU, "a")},
			{path: "/v2/bot/message/multicast", body: multicastBody([]string{userU2, userU, userL}, "a")},
		}, 1, "", ""},
		{"two broadcasts", []send{
			{path: "/v2/bot/message/broadcast", body: `{` + textMessages("a") + `}`},
			{path: "/v2/bot/message/broadcast", body: `{` + textMessages("a") + `}`},
		}, 1, "", ""},
		{"24 h apart", []send{{body: push(userU, "a")}, {body: push(userU, "a"), advance: 24 * time.Hour}}, 0, "", ""},
		{"just under 24 h apart", []send{{body: push(userU, "a")}, {body: push(userU, "a"), advance: 24*time.Hour - 1}}, 1, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			var ids []string
			for _, s := range tt.sends {
				e.clock.Advance(s.advance)
				path := s.path
				if path == "" {
					path = "/v2/bot/message/push"
				}
				r := e.do(req{path: path, body: s.body, bot: s.bot, retryKey: s.key})
				if r.status != 200 && r.status != 409 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				ids = append(ids, r.header.Get("X-Line-Request-Id"))
			}
			rep := e.report()
			if rep.DuplicateDeliveries != tt.dups || int64(len(rep.Duplicates)) != tt.dups || rep.Totals.DuplicateDeliveries != tt.dups {
				t.Fatalf("duplicates %d %+v, want %d", rep.DuplicateDeliveries, rep.Duplicates, tt.dups)
			}
			if tt.dups == 0 {
				return
			}
			d := rep.Duplicates[0]
			if d.FirstRequestID != ids[0] || d.RequestID != ids[1] || d.FirstRetryKey != tt.firstKey || d.RetryKey != tt.key || d.Channel != testChannel {
				t.Fatalf("duplicate %+v (requests %v)", d, ids)
			}
		})
	}
}

func TestDeliveriesPerRecipient(t *testing.T) {
	t.Parallel()
	e := setup(t)
	wantStatus(t, e.do(req{path: "/v2/bot/message/multicast", body: multicastBody([]string{userU, userU2, userL}, "m")}), 200)
	wantStatus(t, e.push(pushBody(userU, "p"), ""), 200)
	for rcpt, want := range map[string]int{userU: 2, userU2: 1, userL: 1, group: 0} {
		got, err := e.cli.Deliveries(t.Context(), rcpt)
		if err != nil || got != want {
			t.Fatalf("Deliveries(%s) = %d, %v; want %d", rcpt, got, err, want)
		}
	}
	if ks := e.key(botA, EPMulticast); ks.Accepted != 1 || ks.Recipients != 3 {
		t.Fatalf("multicast key %+v", ks)
	}
}
