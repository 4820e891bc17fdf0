package linesim

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Body validation is hand-written over the decoded JSON tree: it follows the
// schemas of LINE's OpenAPI specs and the limits of LINE-API.md without the
// cost of a generic schema validator on the hot path.

const (
	maxMessages    = 5
	maxMulticastTo = 500
	maxTextUTF16   = 5000
)

// Top-level properties each request schema defines. Others are ignored by
// LINE, so linesim accepts them but records a contract violation.
var (
	propsPush       = []string{"to", "messages", "notificationDisabled", "customAggregationUnits"}
	propsMulticast  = propsPush
	propsNarrowcast = []string{"messages", "recipient", "filter", "limit", "notificationDisabled"}
	propsBroadcast  = []string{"messages", "notificationDisabled"}
	propsReply      = []string{"replyToken", "messages", "notificationDisabled"}
	propsMarkAsRead = []string{"chat"}
	propsDetach     = []string{"botId"}
	propsAcquire    = []string{"expired", "ttl"}
)

// checkProps records a contract violation for properties the schema lacks.
func (rc *reqCtx) checkProps(allowed []string) {
	for k := range rc.tree {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			if k == "customAggregationUnits" {
				rc.violation("customAggregationUnits is only accepted by push and multicast; LINE ignores it here")
			} else {
				rc.violation("unknown property " + strconv.Quote(k) + " (LINE ignores it)")
			}
		}
	}
}

// utf16Len counts UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func checkBool(obj map[string]any, name, prop string, d *details) {
	if v, ok := obj[name]; ok {
		if _, ok := v.(bool); !ok {
			d.add(prop, "must be a boolean")
		}
	}
}

// intValue reads a JSON integer.
func intValue(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

func isNumber(v any) bool { _, ok := v.(json.Number); return ok }

// requireString checks obj[name] is a string of 1..max UTF-16 units (max 0:
// no bound) and returns it.
func requireString(obj map[string]any, name, prop string, max int, d *details) string {
	v, ok := obj[name]
	if !ok || v == nil {
		d.add(prop, "must be specified")
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.add(prop, "must be a string")
		return ""
	}
	if s == "" {
		d.add(prop, "must not be empty")
	} else if max > 0 && len(s) > max && utf16Len(s) > max {
		d.add(prop, "Length must be between 1 and %d", max)
	}
	return s
}

func requireHTTPS(obj map[string]any, name, prop string, d *details) {
	s := requireString(obj, name, prop, 2000, d)
	if s != "" && !hasPrefixFold(s, "https://") {
		d.add(prop, "must be an HTTPS URL")
	}
}

func requireObject(obj map[string]any, name, prop string, d *details) map[string]any {
	v, ok := obj[name]
	if !ok || v == nil {
		d.add(prop, "must be specified")
		return nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		d.add(prop, "must be an object")
	}
	return o
}

var messageTypes = "text, textV2, sticker, image, video, audio, location, imagemap, template, flex, coupon"

// validateMessages checks a messages array (1-5 message objects). It returns
// the number of messages and a bit mask of those that get a quote token.
func validateMessages(v any, d *details) (int, uint8) {
	if v == nil {
		d.add("messages", "must be specified")
		return 0, 0
	}
	arr, ok := v.([]any)
	if !ok {
		d.add("messages", "must be an array")
		return 0, 0
	}
	if len(arr) < 1 || len(arr) > maxMessages {
		d.add("messages", "Size must be between 1 and %d", maxMessages)
		return 0, 0
	}
	var mask uint8
	for i, m := range arr {
		if validateMessage(m, "messages["+strconv.Itoa(i)+"]", d) {
			mask |= 1 << i
		}
	}
	return len(arr), mask
}

// validateMessage checks one message object; it reports whether the message
// can be quoted (and so gets a quote token).
func validateMessage(v any, p string, d *details) bool {
	m, ok := v.(map[string]any)
	if !ok {
		d.add(p, "must be an object")
		return false
	}
	t, _ := m["type"].(string)
	quotable := false
	switch t {
	case "text", "textV2":
		requireString(m, "text", p+".text", maxTextUTF16, d)
		quotable = true
	case "sticker":
		requireString(m, "packageId", p+".packageId", 0, d)
		requireString(m, "stickerId", p+".stickerId", 0, d)
		quotable = true
	case "image", "video":
		requireHTTPS(m, "originalContentUrl", p+".originalContentUrl", d)
		requireHTTPS(m, "previewImageUrl", p+".previewImageUrl", d)
		quotable = true
	case "audio":
		requireHTTPS(m, "originalContentUrl", p+".originalContentUrl", d)
		if !isNumber(m["duration"]) {
			d.add(p+".duration", "must be a number")
		}
	case "location":
		requireString(m, "title", p+".title", 100, d)
		requireString(m, "address", p+".address", 100, d)
		if !isNumber(m["latitude"]) {
			d.add(p+".latitude", "must be a number")
		}
		if !isNumber(m["longitude"]) {
			d.add(p+".longitude", "must be a number")
		}
	case "imagemap":
		requireHTTPS(m, "baseUrl", p+".baseUrl", d)
		requireString(m, "altText", p+".altText", 1500, d)
		requireObject(m, "baseSize", p+".baseSize", d)
		if _, ok := m["actions"].([]any); !ok {
			d.add(p+".actions", "must be an array")
		}
	case "template":
		requireString(m, "altText", p+".altText", 400, d)
		requireObject(m, "template", p+".template", d)
	case "flex":
		requireString(m, "altText", p+".altText", 1500, d)
		requireObject(m, "contents", p+".contents", d)
	case "coupon":
		requireString(m, "couponId", p+".couponId", 0, d)
	case "":
		d.add(p+".type", "must be specified")
	default:
		d.add(p+".type", "Must be one of the following values: [%s]", messageTypes)
	}
	if qr, ok := m["quickReply"]; ok {
		o, ok := qr.(map[string]any)
		items, ok2 := o["items"].([]any)
		if !ok || !ok2 {
			d.add(p+".quickReply.items", "must be an array")
		} else if len(items) > 13 {
			d.add(p+".quickReply.items", "Size must be between 0 and 13")
		}
	}
	return quotable
}

// validateUnits checks customAggregationUnits: at most one name matching
// ^[a-zA-Z0-9_]{1,30}$.
func validateUnits(obj map[string]any, d *details) []string {
	v, ok := obj["customAggregationUnits"]
	if !ok || v == nil {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		d.add("customAggregationUnits", "must be an array")
		return nil
	}
	if len(arr) > 1 {
		d.add("customAggregationUnits", "Size must be between 0 and 1")
		return nil
	}
	var out []string
	for i, u := range arr {
		s, ok := u.(string)
		if !ok || !reUnitName.MatchString(s) {
			d.add("customAggregationUnits["+strconv.Itoa(i)+"]", "must match \"^[a-zA-Z0-9_]{1,30}$\"")
			continue
		}
		out = append(out, s)
	}
	return out
}

// validateRecipients checks multicast's to: 1-500 user IDs (no groups or
// rooms). It returns them without repeats.
func validateRecipients(obj map[string]any, d *details) (ids []string, repeated bool) {
	v, ok := obj["to"]
	if !ok || v == nil {
		d.add("to", "must be specified")
		return nil, false
	}
	arr, ok := v.([]any)
	if !ok {
		d.add("to", "must be an array")
		return nil, false
	}
	if len(arr) < 1 || len(arr) > maxMulticastTo {
		d.add("to", "Size must be between 1 and %d", maxMulticastTo)
		return nil, false
	}
	ids = make([]string, 0, len(arr))
	seen := make(map[string]struct{}, len(arr))
	for i, x := range arr {
		s, ok := x.(string)
		if !ok || !isUserID(s) {
			d.add("to["+strconv.Itoa(i)+"]", "must be a user ID (U + 32 hex digits, or a 68-character L ID)")
			continue
		}
		if _, dup := seen[s]; dup {
			repeated = true
			continue
		}
		seen[s] = struct{}{}
		ids = append(ids, s)
	}
	return ids, repeated
}

func describeIDs() string {
	return strings.Join([]string{"U + 32 hex digits", "a 68-character L ID", "C… (group)", "R… (room)"}, ", ")
}
