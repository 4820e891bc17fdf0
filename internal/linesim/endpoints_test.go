package linesim

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestReplyTokens(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) { c.ReplyTokenTTL = 30 * time.Second })
	ctx := context.Background()
	issue := func(bot string) string {
		tok, err := e.cli.IssueReplyToken(ctx, testChannel, bot, userL)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	reply := func(tok, bot string) resp {
		return e.do(req{path: "/v2/bot/message/reply", bot: bot, body: `{"replyToken":"` + tok + `",` + textMessages("thanks") + `}`})
	}
	tok := issue(botA)
	wrongBot := reply(tok, botB) // another bot cannot use it, and does not burn it
	wantStatus(t, wrongBot, 400)
	if wrongBot.message(t) != msgInvalidReply {
		t.Fatalf("body %s", wrongBot.body)
	}
	ok := reply(tok, botA)
	wantStatus(t, ok, 200)
	if sent, _ := SentMessages(ok.body); len(sent) != 1 || sent[0].QuoteToken == "" {
		t.Fatalf("reply body %s", ok.body)
	}
	wantStatus(t, reply(tok, botA), 400) // single use
	late := issue(botA)
	e.clock.Advance(30 * time.Second)
	wantStatus(t, reply(late, botA), 400) // expired
	wantStatus(t, reply("never-issued", botA), 400)
	if got := e.sim.Deliveries(userL); got != 1 {
		t.Fatalf("deliveries %d", got)
	}
	if _, err := e.cli.IssueReplyToken(ctx, testChannel, botC, userL); err == nil {
		t.Fatal("issued a reply token for a bot that is not attached")
	}
	if _, err := e.cli.IssueReplyToken(ctx, testChannel, botA, "nobody"); err == nil {
		t.Fatal("issued a reply token for a bad user ID")
	}
}

func TestNarrowcastProgress(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) { c.NarrowcastDuration = time.Minute })
	r := e.do(req{path: "/v2/bot/message/narrowcast", body: `{` + textMessages("n") + `,"limit":{"max":50}}`})
	wantStatus(t, r, 202)
	if string(r.body) != "{}" {
		t.Fatalf("narrowcast body %s", r.body)
	}
	id := r.header.Get("X-Line-Request-Id")
	progress := func(id, bot string) resp {
		return e.do(req{method: "GET", path: "/v2/bot/message/progress/narrowcast?requestId=" + id, bot: bot})
	}
	p := progress(id, botA)
	wantStatus(t, p, 200)
	if m := p.json(t); m["phase"] != "sending" || m["acceptedTime"] != "2026-07-15T12:00:00Z" || m["completedTime"] != nil {
		t.Fatalf("progress %s", p.body)
	}
	e.clock.Advance(time.Minute)
	p = progress(id, botA)
	if m := p.json(t); m["phase"] != "succeeded" || m["completedTime"] != "2026-07-15T12:01:00Z" || m["successCount"] != 50.0 {
		t.Fatalf("progress %s", p.body)
	}
	wantStatus(t, progress(id, botB), 404)
	wantStatus(t, progress(retryKey1, botA), 404)
	wantStatus(t, progress("", botA), 400)
	if got := e.sim.Deliveries(RecipientNarrowcast); got != 1 {
		t.Fatalf("narrowcast deliveries %d", got)
	}
}

func TestBroadcast(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do(req{path: "/v2/bot/message/broadcast", body: `{` + textMessages("all") + `,"notificationDisabled":true}`})
	wantStatus(t, r, 200)
	if string(r.body) != "{}" || e.sim.Deliveries(RecipientBroadcast) != 1 {
		t.Fatalf("body %s deliveries %d", r.body, e.sim.Deliveries(RecipientBroadcast))
	}
}

func TestBotListAndDetach(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	if err := e.cli.Attach(ctx, testChannel, botC); err != nil {
		t.Fatal(err)
	}
	list := func(query string) ([]string, string) {
		r := e.do(req{method: "GET", path: "/v2/bot/list" + query, bot: "-"})
		wantStatus(t, r, 200)
		m := r.json(t)
		var ids []string
		for _, b := range m["bots"].([]any) {
			bot := b.(map[string]any)
			if bot["basicId"] == "" || bot["displayName"] == "" {
				t.Fatalf("bot %v", bot)
			}
			ids = append(ids, bot["userId"].(string))
		}
		next, _ := m["next"].(string)
		return ids, next
	}
	page1, next := list("?limit=2")
	page2, last := list("?limit=2&start=" + next)
	if strings.Join(append(page1, page2...), ",") != botA+","+botB+","+botC || last != "" {
		t.Fatalf("pages %v %v next %q", page1, page2, last)
	}
	for _, bad := range []string{"?limit=101", "?limit=0", "?start=xyz"} {
		wantStatus(t, e.do(req{method: "GET", path: "/v2/bot/list" + bad, bot: "-"}), 400)
	}

	detach := func(bot string) resp {
		return e.do(req{path: "/v2/bot/channel/detach", bot: "-", body: `{"botId":"` + bot + `"}`})
	}
	wantStatus(t, detach(botB), 200)
	wantStatus(t, detach(botB), 400)
	wantStatus(t, detach("U1"), 400)
	all, _ := list("")
	if strings.Join(all, ",") != botA+","+botC {
		t.Fatalf("after detach: %v", all)
	}
	wantStatus(t, e.do(req{path: "/v2/bot/message/push", bot: botB, body: pushBody(userU, "late")}), 403)
	if ks := e.key(botB, EPPush); ks.ContractViolations != 1 {
		t.Fatalf("push to a detached bot: %+v", ks)
	}
	if ks := e.key("", EPDetach); ks.Accepted != 1 || ks.Received != 3 {
		t.Fatalf("detach key %+v", ks)
	}
	if err := e.cli.Reset(ctx); err != nil { // restores the configured attachments
		t.Fatal(err)
	}
	all, _ = list("")
	if strings.Join(all, ",") != botA+","+botB {
		t.Fatalf("after reset: %v", all)
	}
}

func TestModuleEndpoints(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		want   int
		check  func(t *testing.T, r resp)
	}{
		{"bot info", "GET", "/v2/bot/info", "", 200, func(t *testing.T, r resp) {
			m := r.json(t)
			if m["userId"] != botA || m["chatMode"] != "bot" || m["markAsReadMode"] != "auto" {
				t.Fatalf("bot info %s", r.body)
			}
		}},
		{"acquire", "POST", "/v2/bot/chat/" + userL + "/control/acquire", `{"expired":true,"ttl":3600}`, 200, nil},
		{"acquire without body", "POST", "/v2/bot/chat/" + group + "/control/acquire", "", 200, nil},
		{"acquire ttl too long", "POST", "/v2/bot/chat/" + userU + "/control/acquire", `{"ttl":31536001}`, 400, nil},
		{"acquire bad chat", "POST", "/v2/bot/chat/nobody/control/acquire", `{}`, 400, nil},
		{"release", "POST", "/v2/bot/chat/" + userU + "/control/release", "", 200, nil},
		{"release bad chat", "POST", "/v2/bot/chat/x/control/release", "", 400, nil},
		{"markAsRead", "POST", "/v2/bot/message/markAsRead", `{"chat":{"userId":"` + userU + `"}}`, 200, func(t *testing.T, r resp) {
			if string(r.body) != "{}" {
				t.Fatalf("body %s", r.body)
			}
		}},
		{"aggregation info", "GET", "/v2/bot/message/aggregation/info", "", 200, func(t *testing.T, r resp) {
			if string(r.body) != `{"numOfCustomAggregationUnits":0}` {
				t.Fatalf("body %s", r.body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(req{method: tt.method, path: tt.path, body: tt.body})
			wantStatus(t, r, tt.want)
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
	if ks := e.key(botA, EPChatControlAcquire); ks.Received != 4 || ks.Accepted != 2 {
		t.Fatalf("acquire key %+v", ks)
	}
}
