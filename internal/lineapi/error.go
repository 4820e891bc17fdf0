// Package lineapi holds the shapes LINE uses to report errors: the Messaging
// API's {"message","details"} body and the OAuth endpoints'
// {"error","error_description"} body. Both the sender (which reads them) and
// servers that imitate LINE (which write them) use these types, so the two
// sides cannot drift apart.
package lineapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/linedispatch/linedispatch/internal/retrykey"
)

// RequestIDHeader is the response header that carries LINE's ID for every
// request. Outcomes and logs keep it: it is what LINE support asks for.
const RequestIDHeader = "X-Line-Request-Id"

// QuotaMessage is the message of the 429 LINE returns once the monthly message
// quota is spent. Unlike other 429s it is not transient: retrying it only
// burns the rate limit.
const QuotaMessage = "You have reached your monthly limit."

// MaxBody is how much of a raw error body an Error keeps. LINE's error bodies
// are small; a proxy's HTML error page is not, and must not bloat outcomes and
// dead letters.
const MaxBody = 2048

// Detail is one entry of an error body's "details" array: usually a
// validation failure of one property of the request body.
type Detail struct {
	Message  string `json:"message"`
	Property string `json:"property,omitempty"`
}

// ErrorBody is the JSON body of a Messaging API error. Servers that play LINE
// (tests, the simulator) write it with WriteError.
type ErrorBody struct {
	Message string   `json:"message"`
	Details []Detail `json:"details,omitempty"`
}

// Error is a non-2xx answer of the Messaging API.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Message is the body's "message", or the HTTP status text when the body
	// had none (e.g. a proxy's HTML page).
	Message string
	// Details are the body's "details", if any.
	Details []Detail
	// RequestID is the X-Line-Request-Id response header.
	RequestID string
	// AcceptedRequestID is the X-Line-Accepted-Request-Id response header
	// (set on 409 only).
	AcceptedRequestID string
	// Body is the raw response body, truncated to MaxBody bytes.
	Body []byte
}

// Error formats the status, message, details and request ID on one line, e.g.
//
//	line: 400 The request body has 1 error(s) [messages[0].text: May not be empty] (request id 123e…)
func (e *Error) Error() string {
	var b strings.Builder
	b.Grow(64 + len(e.Message))
	b.WriteString("line: ")
	b.WriteString(strconv.Itoa(e.Status))
	b.WriteByte(' ')
	b.WriteString(e.Message)
	if len(e.Details) > 0 {
		b.WriteString(" [")
		for i, d := range e.Details {
			if i > 0 {
				b.WriteString("; ")
			}
			if d.Property != "" {
				b.WriteString(d.Property)
				b.WriteString(": ")
			}
			b.WriteString(d.Message)
		}
		b.WriteByte(']')
	}
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(e.RequestID)
		b.WriteByte(')')
	}
	return b.String()
}

// IsQuota reports whether e is the monthly-quota 429, which must not be
// retried.
func (e *Error) IsQuota() bool {
	return e.Status == http.StatusTooManyRequests && strings.TrimSpace(e.Message) == QuotaMessage
}

// Throttled reports whether e is a 429 other than the monthly quota: a rate
// limit or concurrency limit that clears with time.
func (e *Error) Throttled() bool {
	return e.Status == http.StatusTooManyRequests && !e.IsQuota()
}

// Temporary reports whether e is a server-side failure (5xx) that may succeed
// when retried with the same retry key.
func (e *Error) Temporary() bool { return e.Status >= 500 && e.Status <= 599 }

// FromResponse builds an Error from a response and its (already read) body.
// A body that is not LINE's JSON is tolerated: Message then falls back to the
// HTTP status text and the raw body is kept (truncated) for diagnosis. body
// is copied, so the caller may reuse its buffer.
func FromResponse(resp *http.Response, body []byte) *Error {
	e := &Error{}
	if resp != nil {
		e.Status = resp.StatusCode
		e.RequestID = resp.Header.Get(RequestIDHeader)
		e.AcceptedRequestID = resp.Header.Get(retrykey.AcceptedRequestIDHeader)
	}
	if len(body) > 0 {
		keep := body
		if len(keep) > MaxBody {
			keep = keep[:MaxBody]
		}
		e.Body = append([]byte(nil), keep...)
		var eb ErrorBody
		if looksLikeJSONObject(body) && json.Unmarshal(body, &eb) == nil {
			e.Message = eb.Message
			e.Details = eb.Details
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(e.Status)
	}
	return e
}

// WriteError writes a LINE-style error response: status, JSON content type
// and an ErrorBody. Request-ID headers, if any, must be set by the caller
// before.
func WriteError(w http.ResponseWriter, status int, message string, details ...Detail) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(ErrorBody{Message: message, Details: details})
}

// looksLikeJSONObject skips the cost (and the misleading partial parse) of
// json.Unmarshal on HTML and plain-text bodies.
func looksLikeJSONObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}
