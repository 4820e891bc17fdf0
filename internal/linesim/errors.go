package linesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// LINE's error messages (where LINE documents them) and linesim's own.
const (
	msgAuthFailed      = "Authentication failed. Confirm that the access token in the authorization header is valid."
	msgAuthRequired    = "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'"
	msgNotFound        = "Not found"
	msgMethod          = "Method not allowed"
	msgTooMany         = "Too Many Requests"
	msgMonthlyLimit    = "You have reached your monthly limit."
	msgRetryAccepted   = "The retry key is already accepted"
	msgRetryNotAllowed = "The X-Line-Retry-Key header is not supported by this endpoint"
	msgRetryInvalid    = "The value of the X-Line-Retry-Key header is invalid: it must be a UUID in hexadecimal notation"
	msgTooLarge        = "Request Entity Too Large"
	msgMediaType       = "Unsupported Media Type: the request body must be application/json"
	msgInternal        = "Internal server error"
	msgBadJSON         = "The request body could not be parsed as JSON"
	msgInvalidReply    = "Invalid reply token"
	msgNotAttached     = "The bot is not attached to this module channel"
	msgBadToken        = "Invalid continuation token"
)

// ErrorDetail is one entry of a LINE error's details.
type ErrorDetail struct {
	Message  string `json:"message,omitempty"`
	Property string `json:"property,omitempty"`
}

// ErrorResponse is LINE's error body.
type ErrorResponse struct {
	Message      string        `json:"message"`
	Details      []ErrorDetail `json:"details,omitempty"`
	SentMessages []SentMessage `json:"sentMessages,omitempty"`
}

// SentMessage is one entry of a push or reply answer's sentMessages.
type SentMessage struct {
	ID         string `json:"id"`
	QuoteToken string `json:"quoteToken,omitempty"`
}

// details collects validation errors.
type details []ErrorDetail

func (d *details) add(prop, format string, args ...any) {
	*d = append(*d, ErrorDetail{Message: fmt.Sprintf(format, args...), Property: prop})
}

func errorBody(msg string, d []ErrorDetail) []byte {
	b, _ := json.Marshal(ErrorResponse{Message: msg, Details: d})
	return b
}

// validationBody is LINE's 400 for a body with schema errors.
func validationBody(d []ErrorDetail) []byte {
	return errorBody("The request body has "+strconv.Itoa(len(d))+" error(s)", d)
}

// Pre-encoded bodies for the hot error paths.
var (
	bodyTooMany   = errorBody(msgTooMany, nil)
	bodyInternal  = errorBody(msgInternal, nil)
	bodyAuth      = errorBody(msgAuthFailed, nil)
	bodyEmptyJSON = []byte("{}")
)

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("unexpected data after the JSON value")
	}
	return nil
}
