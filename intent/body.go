package intent

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Limits of LINE's request bodies (LINE-API.md §6).
const (
	// MaxBodySize is the largest body LINE accepts ("2 MB"; read strictly as
	// 2,000,000 bytes, which also leaves room for the unit the dispatcher adds).
	MaxBodySize = 2_000_000
	// MaxMessages is the most messages one request may carry (at least 1).
	MaxMessages = 5
	// MaxMulticastRecipients is the most user IDs in a multicast's "to".
	MaxMulticastRecipients = 500
	// MaxTextLen is the longest text message, in UTF-16 code units.
	MaxTextLen = 5000
)

// Body validation mirrors the LINE checks that would otherwise come back as a
// 400 only after the intent waited for its rate-limit token. It is deliberately
// shallow: the fields the dispatcher or LINE's limits depend on are checked,
// everything else is passed to LINE verbatim (LINE adds fields and message
// types over time, and the dispatcher must not be the one refusing them).
// It walks the bytes (jsonscan.go) instead of decoding: it runs on every
// intent the dispatcher pulls.

// bodyFields are the body members validation looks at; nil means absent.
type bodyFields struct {
	to, messages, units, replyToken, chat, recipient, filter, limit []byte
}

func readBody(body []byte) bodyFields {
	var f bodyFields
	members(body, func(name, value []byte) bool {
		switch string(name) {
		case "to":
			f.to = value
		case "messages":
			f.messages = value
		case "customAggregationUnits":
			f.units = value
		case "replyToken":
			f.replyToken = value
		case "chat":
			f.chat = value
		case "recipient":
			f.recipient = value
		case "filter":
			f.filter = value
		case "limit":
			f.limit = value
		}
		return true
	})
	return f
}

// validateBody checks body as the request body of endpoint. parsed says the
// body is known to be valid UTF-8 JSON (see Intent.bodyIsParsed).
func validateBody(ps *problems, endpoint Endpoint, body json.RawMessage, parsed bool) {
	if len(body) == 0 {
		ps.invalid("body", "required: the LINE request body, a JSON object")
		return
	}
	if len(body) > MaxBodySize {
		ps.invalid("body", fmt.Sprintf("is %d bytes; LINE accepts at most %d", len(body), MaxBodySize))
		return
	}
	if !isObject(body) || !parsed && (!json.Valid(body) || !utf8.Valid(body)) {
		ps.add("body", ReasonInvalidJSON, "must be a JSON object")
		return
	}
	f := readBody(body)
	if f.units != nil {
		ps.invalid("body.customAggregationUnits", "not allowed: use the intent's unit field, so the dispatcher can count and cap unit names")
	}
	switch endpoint {
	case Push:
		checkPushTo(ps, f.to)
		checkMessages(ps, f.messages)
	case Multicast:
		checkMulticastTo(ps, f.to)
		checkMessages(ps, f.messages)
	case Narrowcast:
		for _, m := range [...]struct {
			name string
			raw  []byte
		}{{"recipient", f.recipient}, {"filter", f.filter}, {"limit", f.limit}} {
			if m.raw != nil && !isNull(m.raw) && !isObject(m.raw) {
				ps.invalid("body."+m.name, "must be an object")
			}
		}
		checkMessages(ps, f.messages)
	case Broadcast:
		checkMessages(ps, f.messages)
	case Reply:
		if s, ok := str(f.replyToken); !ok || s == "" {
			ps.invalid("body.replyToken", "required: a non-empty string")
		}
		checkMessages(ps, f.messages)
	case MarkAsRead:
		checkChat(ps, f.chat)
	}
}

func checkPushTo(ps *problems, raw []byte) {
	s, ok := str(raw)
	switch {
	case raw == nil:
		ps.invalid("body.to", "required: "+descPushTarget)
	case !ok:
		ps.invalid("body.to", "must be a string: "+descPushTarget)
	case !isPushTarget(s):
		ps.invalid("body.to", fmt.Sprintf("must be %s, got %q", descPushTarget, clip(s)))
	}
}

// checkArray checks that field is an array of 1 to max items (named by
// noun), and reports whether its elements should be checked.
func checkArray(ps *problems, field string, raw []byte, max int, noun string) bool {
	switch {
	case raw == nil:
		ps.invalid(field, fmt.Sprintf("required: an array of 1 to %d %s", max, noun))
		return false
	case !isArray(raw):
		ps.invalid(field, fmt.Sprintf("must be an array of 1 to %d %s", max, noun))
		return false
	}
	if n := count(raw); n == 0 || n > max {
		ps.invalid(field, fmt.Sprintf("must hold 1 to %d %s, got %d", max, noun, n))
	}
	return true
}

func checkMulticastTo(ps *problems, raw []byte) {
	if !checkArray(ps, "body.to", raw, MaxMulticastRecipients, "user IDs") {
		return
	}
	elements(raw, func(i int, r []byte) bool {
		// IDs contain no escapes, so the raw bytes between the quotes are the
		// ID: checking them directly saves a string per recipient.
		if len(r) >= 2 && r[0] == '"' && isRecipientUserBytes(r[1:len(r)-1]) {
			return true
		}
		s, ok := str(r) // the slow path: not a string, escaped, or invalid
		switch {
		case !ok:
			ps.invalid(index("body.to", i), "must be a string: "+descUser)
		case !isRecipientUser(s):
			ps.invalid(index("body.to", i), fmt.Sprintf("must be %s (multicast takes no groups or rooms), got %q", descUser, clip(s)))
		}
		return true
	})
}

func checkMessages(ps *problems, raw []byte) {
	if !checkArray(ps, "body.messages", raw, MaxMessages, "messages") {
		return
	}
	elements(raw, func(i int, m []byte) bool {
		checkMessage(ps, i, m)
		return true
	})
}

func checkMessage(ps *problems, i int, raw []byte) {
	if !isObject(raw) {
		ps.invalid(index("body.messages", i), "must be an object")
		return
	}
	var typeRaw, textRaw []byte
	members(raw, func(name, value []byte) bool {
		switch string(name) {
		case "type":
			typeRaw = value
		case "text":
			textRaw = value
		}
		return true
	})
	typ, ok := str(typeRaw)
	if !ok || typ == "" {
		ps.invalid(index("body.messages", i)+".type", `required: a non-empty string such as "text"`)
		return
	}
	// textV2 has the same text limit as text.
	if typ != "text" && typ != "textV2" {
		return
	}
	text, ok := str(textRaw)
	switch {
	case !ok || text == "":
		ps.invalid(index("body.messages", i)+".text", "required: a non-empty string")
	case len(text) > MaxTextLen: // cheap pre-check: UTF-16 units never exceed bytes
		if n := utf16Len(text); n > MaxTextLen {
			ps.invalid(index("body.messages", i)+".text", fmt.Sprintf("is %d UTF-16 code units long; LINE accepts at most %d", n, MaxTextLen))
		}
	}
}

func checkChat(ps *problems, raw []byte) {
	switch {
	case raw == nil:
		ps.invalid("body.chat", `required: {"userId": "<user ID>"}`)
		return
	case !isObject(raw):
		ps.invalid("body.chat", `must be an object {"userId": "<user ID>"}`)
		return
	}
	var userID []byte
	members(raw, func(name, value []byte) bool {
		if string(name) == "userId" {
			userID = value
		}
		return true
	})
	s, ok := str(userID)
	switch {
	case userID == nil:
		ps.invalid("body.chat.userId", "required: "+descUser)
	case !ok:
		ps.invalid("body.chat.userId", "must be a string: "+descUser)
	case !isRecipientUser(s):
		ps.invalid("body.chat.userId", fmt.Sprintf("must be %s, got %q", descUser, clip(s)))
	}
}

// utf16Len counts s in UTF-16 code units, as LINE counts text length: runes
// beyond the Basic Multilingual Plane (most emoji) take a surrogate pair.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}
