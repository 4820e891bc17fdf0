package linesim

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// retryID names a retry key within a channel.
type retryID struct {
	ch int32
	id [16]byte
}

// retryEntry is what linesim remembers of an accepted retry key for 24 h of
// its clock from the first acceptance.
type retryEntry struct {
	seq      uint64    // request sequence of the accepted request
	body     [2]uint64 // hash of the canonical request body
	firstMsg uint64    // first message ID (push sentMessages)
	bot      *botState // bot of the accepted request
	nMsgs    uint8     // number of messages
	quotes   uint8     // bit mask: messages with a quote token
	ep       epID      // endpoint of the accepted request
}

// reserveRetryKey records the request's retry key as accepted, unless it
// already is: then it returns the accepted entry and true.
func (s *Sim) reserveRetryKey(rc *reqCtx, e retryEntry) (retryEntry, bool) {
	old, _, found := rc.st.retry.getOrPut(retryID{int32(rc.ch.idx), rc.rk}, e, rc.ns)
	return old, found
}

// releaseRetryKey forgets the request's key when the request did not deliver
// after all (e.g. the monthly quota refused it).
func (s *Sim) releaseRetryKey(rc *reqCtx) {
	seq := rc.seq
	rc.st.retry.delIf(retryID{int32(rc.ch.idx), rc.rk}, func(e retryEntry) bool { return e.seq == seq })
}

// conflict answers 409 for a retry key already accepted: header
// X-Line-Accepted-Request-Id, and for push the original sentMessages. A key
// reused with another body, bot or endpoint is a contract violation.
func (s *Sim) conflict(rc *reqCtx, e retryEntry, body [2]uint64) {
	rc.key.conflicts.Add(1)
	accepted := s.ids.requestID(e.seq)
	switch {
	case e.ep != rc.ep.id:
		rc.violation("retry key reused on another endpoint (accepted as " + endpoints[e.ep].token + " request " + accepted + ")")
	case e.bot != rc.bot:
		rc.violation("retry key reused for another bot (accepted as request " + accepted + ")")
	case e.body != body:
		rc.violation("retry key reused with a different body (accepted as request " + accepted + ")")
	}
	rc.w.Header()["X-Line-Accepted-Request-Id"] = []string{accepted}
	if e.ep == rc.ep.id && rc.ep.token == EPPush {
		b := append([]byte(`{"message":"`+msgRetryAccepted+`",`), s.sentMessagesJSON(e.firstMsg, int(e.nMsgs), e.quotes)[1:]...)
		rc.respond(http.StatusConflict, b)
		return
	}
	rc.respond(http.StatusConflict, bodyConflict)
}

var bodyConflict = errorBody(msgRetryAccepted, nil)

// sentMessagesJSON renders {"sentMessages":[...]} for n messages from first.
func (s *Sim) sentMessagesJSON(first uint64, n int, quotes uint8) []byte {
	b := make([]byte, 0, 32+n*80)
	b = append(b, `{"sentMessages":[`...)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		id := first + uint64(i)
		b = append(b, `{"id":"`...)
		b = strconv.AppendUint(b, id, 10)
		b = append(b, '"')
		if quotes&(1<<i) != 0 {
			b = append(b, `,"quoteToken":"`...)
			b = append(b, s.ids.quoteToken(id)...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// SentMessages decodes the sentMessages of a push or reply answer (or of a
// push 409) — a helper for tests.
func SentMessages(body []byte) ([]SentMessage, error) {
	var r ErrorResponse
	err := json.Unmarshal(body, &r)
	return r.SentMessages, err
}
