package outcome

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// JSON returns o encoded as json.Marshal encodes it, in one allocation for
// the common outcome (see AppendJSON).
func (o *Outcome) JSON() ([]byte, error) {
	n := 320 + len(o.IntentID) + len(o.Channel) + len(o.Bot) + len(o.Endpoint) + len(o.Result) + len(o.Reason) +
		len(o.Detail) + len(o.Unit) + len(o.UnitAction) + len(o.RequestID) + len(o.AcceptedRequestID) + len(o.Pod)
	for k, v := range o.Labels {
		n += len(k) + len(v) + 6
	}
	if o.LineError != nil {
		n += 64 + len(o.LineError.Message)
		for _, d := range o.LineError.Details {
			n += 32 + len(d.Message) + len(d.Property)
		}
	}
	return o.AppendJSON(make([]byte, 0, n))
}

// AppendJSON appends o encoded exactly as json.Marshal encodes it (tests
// compare the bytes), without reflection: the dispatcher encodes one outcome
// per intent, and encoding/json's reflection was 3 % of a pod's CPU.
// Keep it in step with the struct: a field added to Outcome must be added
// here too (TestAppendJSONMatchesMarshal fails until it is).
func (o *Outcome) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"intentId":`...)
	b = appendString(b, o.IntentID)
	b = append(b, `,"channel":`...)
	b = appendString(b, o.Channel)
	b = append(b, `,"bot":`...)
	b = appendString(b, o.Bot)
	b = append(b, `,"endpoint":`...)
	b = appendString(b, o.Endpoint)
	b = append(b, `,"result":`...)
	b = appendString(b, string(o.Result))
	b = appendOptString(b, `,"reason":`, o.Reason)
	b = appendOptString(b, `,"detail":`, o.Detail)
	b = appendOptString(b, `,"unit":`, o.Unit)
	b = appendOptString(b, `,"unitAction":`, o.UnitAction)
	b = appendInt(b, `,"recipients":`, o.Recipients)
	if o.Status != 0 {
		b = appendInt(b, `,"status":`, o.Status)
	}
	if o.Conflict {
		b = append(b, `,"conflict":true`...)
	}
	b = appendOptString(b, `,"requestId":`, o.RequestID)
	b = appendOptString(b, `,"acceptedRequestId":`, o.AcceptedRequestID)
	b = appendInt(b, `,"attempts":`, o.Attempts)
	if o.Throttled != 0 {
		b = appendInt(b, `,"throttled":`, o.Throttled)
	}
	if o.LineError != nil {
		b = append(b, `,"lineError":`...)
		b = o.LineError.appendJSON(b)
	}
	var err error
	if !o.CreatedAt.IsZero() {
		b = append(b, `,"createdAt":`...)
		if b, err = appendTime(b, o.CreatedAt); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"at":`...)
	if b, err = appendTime(b, o.At); err != nil {
		return nil, err
	}
	if len(o.Labels) > 0 {
		b = append(b, `,"labels":{`...)
		var arr [16]string // intent.MaxLabels: no allocation for valid intents
		keys := arr[:0]
		for k := range o.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, o.Labels[k])
		}
		b = append(b, '}')
	}
	b = appendOptString(b, `,"pod":`, o.Pod)
	return append(b, '}'), nil
}

func (e *LineError) appendJSON(b []byte) []byte {
	b = appendInt(b, `{"status":`, e.Status)
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	if len(e.Details) > 0 {
		b = append(b, `,"details":[`...)
		for i, d := range e.Details {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"message":`...)
			b = appendString(b, d.Message)
			b = appendOptString(b, `,"property":`, d.Property)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds, refused outside years 0-9999).
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}

// appendInt appends key (its quoted name and colon, after a comma or brace)
// and n.
func appendInt(b []byte, key string, n int) []byte {
	return strconv.AppendInt(append(b, key...), int64(n), 10)
}

func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, key...), s)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way encoding/json does with
// its default HTML escaping: <, > and & as \u003c, \u003e and \u0026,
// U+2028 and U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
