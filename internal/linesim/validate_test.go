package linesim

import (
	"strings"
	"testing"
)

func TestValidation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	msg := func(m string) string { return `"messages":[` + m + `]` }
	text := func(s string) string { return `{"type":"text","text":` + jsonString(s) + `}` }
	const (
		push   = "/v2/bot/message/push"
		multi  = "/v2/bot/message/multicast"
		narrow = "/v2/bot/message/narrowcast"
		broad  = "/v2/bot/message/broadcast"
		read   = "/v2/bot/message/markAsRead"
	)
	users := func(n int) string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = `"U` + strings.Repeat("0", 32-len(itoa(i))) + itoa(i) + `"`
		}
		return `[` + strings.Join(ids, ",") + `]`
	}
	emoji := strings.Repeat("😀", 2500) // 5,000 UTF-16 code units, 2,500 runes
	five := strings.Repeat(text("x")+",", 4) + text("x")
	tests := []struct {
		name string
		path string
		body string
		want int
		prop string // a property named in details
	}{
		{"push ok", push, `{"to":"` + userU + `",` + msg(text("hi")) + `}`, 200, ""},
		{"push to L ID", push, `{"to":"` + userL + `",` + msg(text("hi")) + `}`, 200, ""},
		{"push to group", push, `{"to":"` + group + `",` + msg(text("hi")) + `}`, 200, ""},
		{"push to 67-char L ID", push, `{"to":"` + userL[:67] + `",` + msg(text("hi")) + `}`, 400, "to"},
		{"push to short U ID", push, `{"to":"U123",` + msg(text("hi")) + `}`, 400, "to"},
		{"push to upper-case U ID", push, `{"to":"` + strings.ToUpper(userU) + `",` + msg(text("hi")) + `}`, 400, "to"},
		{"push without to", push, `{` + msg(text("hi")) + `}`, 400, "to"},
		{"push without messages", push, `{"to":"` + userU + `"}`, 400, "messages"},
		{"push 0 messages", push, `{"to":"` + userU + `","messages":[]}`, 400, "messages"},
		{"push 5 messages", push, `{"to":"` + userU + `",` + msg(five) + `}`, 200, ""},
		{"push 6 messages", push, `{"to":"` + userU + `",` + msg(five+","+text("x")) + `}`, 400, "messages"},
		{"text of 5000 UTF-16 units", push, `{"to":"` + userU + `",` + msg(text(emoji)) + `}`, 200, ""},
		{"text of 5001 UTF-16 units", push, `{"to":"` + userU + `",` + msg(text(emoji+"a")) + `}`, 400, "messages[0].text"},
		{"text of 5000 ASCII", push, `{"to":"` + userU + `",` + msg(text(strings.Repeat("a", 5000))) + `}`, 200, ""},
		{"text of 5001 ASCII", push, `{"to":"` + userU + `",` + msg(text(strings.Repeat("a", 5001))) + `}`, 400, "messages[0].text"},
		{"empty text", push, `{"to":"` + userU + `",` + msg(text("")) + `}`, 400, "messages[0].text"},
		{"unknown message type", push, `{"to":"` + userU + `",` + msg(`{"type":"hologram"}`) + `}`, 400, "messages[0].type"},
		{"message not an object", push, `{"to":"` + userU + `",` + msg(`"hi"`) + `}`, 400, "messages[0]"},
		{"sticker", push, `{"to":"` + userU + `",` + msg(`{"type":"sticker","packageId":"446","stickerId":"1988"}`) + `}`, 200, ""},
		{"image over http", push, `{"to":"` + userU + `",` + msg(`{"type":"image","originalContentUrl":"http://x/a.jpg","previewImageUrl":"https://x/p.jpg"}`) + `}`, 400, "messages[0].originalContentUrl"},
		{"flex without altText", push, `{"to":"` + userU + `",` + msg(`{"type":"flex","contents":{"type":"bubble"}}`) + `}`, 400, "messages[0].altText"},
		{"one unit", push, `{"to":"` + userU + `",` + msg(text("u")) + `,"customAggregationUnits":["promo_2026"]}`, 200, ""},
		{"two units", push, `{"to":"` + userU + `",` + msg(text("u")) + `,"customAggregationUnits":["a","b"]}`, 400, "customAggregationUnits"},
		{"unit with a dash", push, `{"to":"` + userU + `",` + msg(text("u")) + `,"customAggregationUnits":["bad-name"]}`, 400, "customAggregationUnits[0]"},
		{"unit of 31 chars", push, `{"to":"` + userU + `",` + msg(text("u")) + `,"customAggregationUnits":["` + strings.Repeat("a", 31) + `"]}`, 400, "customAggregationUnits[0]"},
		{"notificationDisabled not boolean", push, `{"to":"` + userU + `",` + msg(text("n")) + `,"notificationDisabled":"yes"}`, 400, "notificationDisabled"},
		{"multicast 500", multi, `{"to":` + users(500) + `,` + msg(text("m")) + `}`, 200, ""},
		{"multicast 501", multi, `{"to":` + users(501) + `,` + msg(text("m")) + `}`, 400, "to"},
		{"multicast empty", multi, `{"to":[],` + msg(text("m")) + `}`, 400, "to"},
		{"multicast to a group", multi, `{"to":["` + group + `"],` + msg(text("m")) + `}`, 400, "to[0]"},
		{"multicast L IDs", multi, `{"to":["` + userL + `","` + userU + `"],` + msg(text("m")) + `}`, 200, ""},
		{"narrowcast", narrow, `{` + msg(text("n")) + `,"limit":{"max":100}}`, 202, ""},
		{"narrowcast max 0", narrow, `{` + msg(text("n")) + `,"limit":{"max":0}}`, 400, "limit.max"},
		{"narrowcast forbidPartialDelivery alone", narrow, `{` + msg(text("n")) + `,"limit":{"forbidPartialDelivery":true}}`, 400, "limit.forbidPartialDelivery"},
		{"broadcast", broad, `{` + msg(text("b")) + `}`, 200, ""},
		{"broadcast without messages", broad, `{}`, 400, "messages"},
		{"markAsRead", read, `{"chat":{"userId":"` + userL + `"}}`, 200, ""},
		{"markAsRead group", read, `{"chat":{"userId":"` + group + `"}}`, 400, "chat.userId"},
		{"markAsRead without chat", read, `{}`, 400, "chat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(req{path: tt.path, body: tt.body})
			wantStatus(t, r, tt.want)
			if tt.want != 400 {
				return
			}
			var er ErrorResponse
			if err := jsonUnmarshal(r.body, &er); err != nil || !strings.HasPrefix(er.Message, "The request body has ") {
				t.Fatalf("error body %s", r.body)
			}
			for _, d := range er.Details {
				if d.Property == tt.prop && d.Message != "" {
					return
				}
			}
			t.Fatalf("details %+v do not name %q", er.Details, tt.prop)
		})
	}
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	e := setup(t)
	big := func(n int) string { // a JSON body of exactly n bytes
		head := `{"to":"` + userU + `","messages":[{"type":"text","text":"`
		tail := `"}]}`
		return head + strings.Repeat("a", n-len(head)-len(tail)) + tail
	}
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		ctype  string
		want   int
		msg    string
	}{
		{"2 MB body is not too large", "", "/v2/bot/message/push", big(MaxBodyBytes), "", 400, ""},
		{"2 MB + 1 is too large", "", "/v2/bot/message/push", big(MaxBodyBytes + 1), "", 413, msgTooLarge},
		{"form body", "", "/v2/bot/message/push", "to=x", "application/x-www-form-urlencoded", 415, msgMediaType},
		{"JSON with charset", "", "/v2/bot/message/push", pushBody(userU, "cs"), "application/json; charset=utf-8", 200, ""},
		{"malformed JSON", "", "/v2/bot/message/push", `{"to":`, "", 400, msgBadJSON},
		{"trailing data", "", "/v2/bot/message/push", pushBody(userU, "t") + `{}`, "", 400, msgBadJSON},
		{"array body", "", "/v2/bot/message/push", `[]`, "", 400, ""},
		{"unknown path", "", "/v2/bot/message/pushh", pushBody(userU, "x"), "", 404, msgNotFound},
		{"unknown root", "GET", "/", "", "", 404, msgNotFound},
		{"wrong method", "GET", "/v2/bot/message/push", "", "", 405, msgMethod},
		{"chat control typo", "", "/v2/bot/chat/" + userU + "/control/grab", `{}`, "", 404, msgNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(req{method: tt.method, path: tt.path, body: tt.body, ctype: tt.ctype})
			wantStatus(t, r, tt.want)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			if tt.msg != "" && r.message(t) != tt.msg {
				t.Fatalf("message %q, want %q", r.message(t), tt.msg)
			}
		})
	}
	if got := e.report().Totals.NotFound; got != 4 {
		t.Fatalf("NotFound %d, want 4", got)
	}
}

func TestLenientPartsAreViolations(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		name   string
		path   string
		body   string
		want   int
		reason string
	}{
		{"unknown property", "/v2/bot/message/push", `{"to":"` + userU + `",` + textMessages("a") + `,"notificationDisable":true}`, 200, "unknown property"},
		{"unit on broadcast", "/v2/bot/message/broadcast", `{` + textMessages("b") + `,"customAggregationUnits":["u"]}`, 200, "customAggregationUnits"},
		{"repeated recipient", "/v2/bot/message/multicast", multicastBody([]string{userU2, userU2}, "c"), 200, "more than once"},
	}
	for i, tt := range tests {
		r := e.do(req{path: tt.path, body: tt.body})
		wantStatus(t, r, tt.want)
		cv := e.report().ContractViolations
		if len(cv) != i+1 || !strings.Contains(cv[i].Reason, tt.reason) || cv[i].RequestID != r.header.Get("X-Line-Request-Id") {
			t.Fatalf("%s: violations %+v", tt.name, cv)
		}
	}
	if got := e.sim.Deliveries(userU2); got != 1 {
		t.Fatalf("a repeated recipient got %d deliveries, want 1", got)
	}
}

func TestUTF16Len(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]int{"": 0, "abc": 3, "日本語": 3, "😀": 2, "a😀b": 4, "\xff": 1} {
		if got := utf16Len(s); got != want {
			t.Errorf("utf16Len(%q) = %d, want %d", s, got, want)
		}
	}
}
