package intent

import (
	"fmt"
	"strings"
	"testing"
)

// textMsg returns a text message object with text JSON-encoded.
func textMsg(text string) string { return fmt.Sprintf(`{"type":"text","text":%q}`, text) }

// msgs returns a messages array of n text messages.
func msgs(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = textMsg("hi")
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// ids returns a JSON array of n distinct user IDs.
func ids(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"U%032x"`, i)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// TestValidateBody covers every body rule per endpoint, each case with the
// exact JSON path of the problem it must report.
func TestValidateBody(t *testing.T) {
	t.Parallel()
	// 4,999 BMP characters plus one emoji is 5,001 UTF-16 units but only
	// 5,000 runes: the rule must count like LINE.
	emojiOver := strings.Repeat("あ", MaxTextLen-1) + "😀"
	emojiAtLimit := strings.Repeat("あ", MaxTextLen-2) + "😀"
	tests := []struct {
		name     string
		endpoint Endpoint
		body     string
		field    string // "" = valid
		code     string
	}{
		// any endpoint
		{"empty body", Push, ``, "body", ReasonInvalidIntent},
		{"body array", Push, `[]`, "body", ReasonInvalidJSON},
		{"body string", Broadcast, `"hi"`, "body", ReasonInvalidJSON},
		{"body null", Broadcast, `null`, "body", ReasonInvalidJSON},
		{"body malformed", Broadcast, `{"messages":[}`, "body", ReasonInvalidJSON},
		{"body too big", Broadcast, `{"messages":` + msgs(1) + `,"x":"` + strings.Repeat("a", MaxBodySize) + `"}`, "body", ReasonInvalidIntent},
		{"customAggregationUnits on push", Push, `{"to":"` + testUser + `","messages":` + msgs(1) + `,"customAggregationUnits":["u"]}`, "body.customAggregationUnits", ReasonInvalidIntent},
		{"customAggregationUnits on broadcast", Broadcast, `{"messages":` + msgs(1) + `,"customAggregationUnits":["u"]}`, "body.customAggregationUnits", ReasonInvalidIntent},
		{"unknown body fields pass through", Push, `{"to":"` + testUser + `","messages":` + msgs(1) + `,"notificationDisabled":true,"future":{}}`, "", ""},

		// push
		{"push user", Push, `{"to":"` + testUser + `","messages":` + msgs(1) + `}`, "", ""},
		{"push module user", Push, `{"to":"` + testModUser + `","messages":` + msgs(5) + `}`, "", ""},
		{"push group", Push, `{"to":"` + testGroup + `","messages":` + msgs(1) + `}`, "", ""},
		{"push room", Push, `{"to":"` + testRoom + `","messages":` + msgs(1) + `}`, "", ""},
		{"push to missing", Push, `{"messages":` + msgs(1) + `}`, "body.to", ReasonInvalidIntent},
		{"push to wrong case key", Push, `{"To":"` + testUser + `","messages":` + msgs(1) + `}`, "body.to", ReasonInvalidIntent},
		{"push to array", Push, `{"to":["` + testUser + `"],"messages":` + msgs(1) + `}`, "body.to", ReasonInvalidIntent},
		{"push to bad id", Push, `{"to":"Uxyz","messages":` + msgs(1) + `}`, "body.to", ReasonInvalidIntent},
		{"push messages missing", Push, `{"to":"` + testUser + `"}`, "body.messages", ReasonInvalidIntent},
		{"push messages empty", Push, `{"to":"` + testUser + `","messages":[]}`, "body.messages", ReasonInvalidIntent},
		{"push 6 messages", Push, `{"to":"` + testUser + `","messages":` + msgs(6) + `}`, "body.messages", ReasonInvalidIntent},
		{"push messages object", Push, `{"to":"` + testUser + `","messages":{"type":"text"}}`, "body.messages", ReasonInvalidIntent},

		// messages (checked through broadcast, the simplest carrier)
		{"message not object", Broadcast, `{"messages":[` + textMsg("a") + `,"hi"]}`, "body.messages[1]", ReasonInvalidIntent},
		{"message type missing", Broadcast, `{"messages":[{"text":"hi"}]}`, "body.messages[0].type", ReasonInvalidIntent},
		{"message type empty", Broadcast, `{"messages":[{"type":""}]}`, "body.messages[0].type", ReasonInvalidIntent},
		{"message type number", Broadcast, `{"messages":[{"type":1}]}`, "body.messages[0].type", ReasonInvalidIntent},
		{"sticker needs no text", Broadcast, `{"messages":[{"type":"sticker","packageId":"1","stickerId":"2"}]}`, "", ""},
		{"text missing", Broadcast, `{"messages":[` + textMsg("a") + `,{"type":"text"}]}`, "body.messages[1].text", ReasonInvalidIntent},
		{"text empty", Broadcast, `{"messages":[{"type":"text","text":""}]}`, "body.messages[0].text", ReasonInvalidIntent},
		{"text not string", Broadcast, `{"messages":[{"type":"text","text":5}]}`, "body.messages[0].text", ReasonInvalidIntent},
		{"text at limit", Broadcast, `{"messages":[` + textMsg(strings.Repeat("a", MaxTextLen)) + `]}`, "", ""},
		{"text over limit", Broadcast, `{"messages":[` + textMsg(strings.Repeat("a", MaxTextLen+1)) + `]}`, "body.messages[0].text", ReasonInvalidIntent},
		{"text emoji at limit", Broadcast, `{"messages":[` + textMsg(emojiAtLimit) + `]}`, "", ""},
		{"text emoji counts two", Broadcast, `{"messages":[` + textMsg(emojiOver) + `]}`, "body.messages[0].text", ReasonInvalidIntent},
		{"textV2 over limit", Broadcast, `{"messages":[{"type":"textV2","text":"` + strings.Repeat("a", MaxTextLen+1) + `"}]}`, "body.messages[0].text", ReasonInvalidIntent},
		{"sixth message reported", Broadcast, `{"messages":` + strings.Replace(msgs(6), textMsg("hi")+"]", `{"type":""}]`, 1) + `}`, "body.messages[5].type", ReasonInvalidIntent},

		// multicast
		{"multicast 500", Multicast, `{"to":` + ids(500) + `,"messages":` + msgs(1) + `}`, "", ""},
		{"multicast 501", Multicast, `{"to":` + ids(501) + `,"messages":` + msgs(1) + `}`, "body.to", ReasonInvalidIntent},
		{"multicast empty", Multicast, `{"to":[],"messages":` + msgs(1) + `}`, "body.to", ReasonInvalidIntent},
		{"multicast to string", Multicast, `{"to":"` + testUser + `","messages":` + msgs(1) + `}`, "body.to", ReasonInvalidIntent},
		{"multicast to missing", Multicast, `{"messages":` + msgs(1) + `}`, "body.to", ReasonInvalidIntent},
		{"multicast group", Multicast, `{"to":["` + testUser + `","` + testGroup + `"],"messages":` + msgs(1) + `}`, "body.to[1]", ReasonInvalidIntent},
		{"multicast number", Multicast, `{"to":["` + testUser + `",7],"messages":` + msgs(1) + `}`, "body.to[1]", ReasonInvalidIntent},
		{"multicast no messages", Multicast, `{"to":` + ids(2) + `}`, "body.messages", ReasonInvalidIntent},

		// narrowcast
		{"narrowcast objects", Narrowcast, `{"messages":` + msgs(1) + `,"recipient":{"type":"audience"},"filter":{},"limit":{"max":10}}`, "", ""},
		{"narrowcast null filter", Narrowcast, `{"messages":` + msgs(1) + `,"filter":null}`, "", ""},
		{"narrowcast recipient array", Narrowcast, `{"messages":` + msgs(1) + `,"recipient":[]}`, "body.recipient", ReasonInvalidIntent},
		{"narrowcast limit number", Narrowcast, `{"messages":` + msgs(1) + `,"limit":10}`, "body.limit", ReasonInvalidIntent},
		{"narrowcast no messages", Narrowcast, `{}`, "body.messages", ReasonInvalidIntent},

		// broadcast
		{"broadcast 6 messages", Broadcast, `{"messages":` + msgs(6) + `}`, "body.messages", ReasonInvalidIntent},

		// reply
		{"reply ok", Reply, `{"replyToken":"t","messages":` + msgs(5) + `}`, "", ""},
		{"reply token missing", Reply, `{"messages":` + msgs(1) + `}`, "body.replyToken", ReasonInvalidIntent},
		{"reply token empty", Reply, `{"replyToken":"","messages":` + msgs(1) + `}`, "body.replyToken", ReasonInvalidIntent},
		{"reply token number", Reply, `{"replyToken":5,"messages":` + msgs(1) + `}`, "body.replyToken", ReasonInvalidIntent},
		{"reply no messages", Reply, `{"replyToken":"t"}`, "body.messages", ReasonInvalidIntent},

		// markasread
		{"markasread module user", MarkAsRead, `{"chat":{"userId":"` + testModUser + `"}}`, "", ""},
		{"markasread chat missing", MarkAsRead, `{}`, "body.chat", ReasonInvalidIntent},
		{"markasread chat string", MarkAsRead, `{"chat":"` + testUser + `"}`, "body.chat", ReasonInvalidIntent},
		{"markasread userId missing", MarkAsRead, `{"chat":{}}`, "body.chat.userId", ReasonInvalidIntent},
		{"markasread userId number", MarkAsRead, `{"chat":{"userId":1}}`, "body.chat.userId", ReasonInvalidIntent},
		{"markasread group", MarkAsRead, `{"chat":{"userId":"` + testGroup + `"}}`, "body.chat.userId", ReasonInvalidIntent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := validIntent(t, tc.endpoint)
			in.Body = []byte(tc.body)
			checkProblem(t, in.Validate(testNow), tc.field, tc.code)
		})
	}
}

func TestUTF16Len(t *testing.T) {
	t.Parallel()
	tests := map[string]int{"": 0, "abc": 3, "あい": 2, "😀": 2, "a😀b": 4, "\xff": 1}
	for s, want := range tests {
		if got := utf16Len(s); got != want {
			t.Errorf("utf16Len(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestRecipients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		endpoint Endpoint
		body     string
		want     int
	}{
		{Push, validBodies[Push], 1},
		{Reply, validBodies[Reply], 1},
		{MarkAsRead, validBodies[MarkAsRead], 1},
		{Multicast, `{"to":` + ids(500) + `,"messages":[]}`, 500},
		{Multicast, validBodies[Multicast], 2},
		{Multicast, `{"TO":` + ids(3) + `}`, 0},
		{Multicast, `not json`, 0},
		{Narrowcast, validBodies[Narrowcast], 0},
		{Broadcast, validBodies[Broadcast], 0},
		{"nope", `{}`, 0},
	}
	for _, tc := range tests {
		in := &Intent{Endpoint: tc.endpoint, Body: []byte(tc.body)}
		if got := in.Recipients(); got != tc.want {
			t.Errorf("%s %.40s: Recipients() = %d, want %d", tc.endpoint, tc.body, got, tc.want)
		}
	}
}
