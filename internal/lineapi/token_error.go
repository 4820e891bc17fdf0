package lineapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// TokenError is a non-2xx answer of LINE's OAuth endpoints (/oauth2/v3/token,
// /v2/oauth/accessToken, …), whose body is {"error","error_description"}
// rather than the Messaging API's {"message"}.
//
// It never holds the request (which carries the channel secret); callers that
// fear an endpoint echoing the secret redact Description themselves.
type TokenError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the body's "error", e.g. "invalid_client", "invalid_request";
	// empty when the body was not LINE's JSON.
	Code string `json:"error"`
	// Description is the body's "error_description" (often absent).
	Description string `json:"error_description"`
}

// Error formats e as "line oauth: 400 invalid_client: <description>".
func (e *TokenError) Error() string {
	var b strings.Builder
	b.WriteString("line oauth: ")
	b.WriteString(strconv.Itoa(e.Status))
	code := e.Code
	if code == "" {
		code = http.StatusText(e.Status)
	}
	if code != "" {
		b.WriteByte(' ')
		b.WriteString(code)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	return b.String()
}

// Temporary reports whether the token endpoint failed on its side (5xx) or
// throttled (429): asking again later may succeed. invalid_client and other
// 4xx need a configuration change instead.
func (e *TokenError) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// TokenErrorFromResponse builds a TokenError from a response and its body,
// tolerating bodies that are not JSON.
func TokenErrorFromResponse(resp *http.Response, body []byte) *TokenError {
	e := &TokenError{}
	if resp != nil {
		e.Status = resp.StatusCode
	}
	if looksLikeJSONObject(body) {
		var parsed TokenError
		if json.Unmarshal(body, &parsed) == nil {
			e.Code, e.Description = parsed.Code, parsed.Description
		}
	}
	return e
}

// WriteTokenError writes an OAuth-style error response, for servers that play
// LINE's token endpoints.
func WriteTokenError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{code, description})
}
