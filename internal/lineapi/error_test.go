package lineapi_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/linedispatch/linedispatch/internal/lineapi"
	"github.com/linedispatch/linedispatch/internal/retrykey"
)

func response(t *testing.T, status int, headers map[string]string) *http.Response {
	t.Helper()
	resp := &http.Response{StatusCode: status, Header: http.Header{}}
	for k, v := range headers {
		resp.Header.Set(k, v)
	}
	return resp
}

func TestFromResponse(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("x"), lineapi.MaxBody+100)
	tests := []struct {
		name        string
		status      int
		headers     map[string]string
		body        []byte
		wantMessage string
		wantDetails []lineapi.Detail
		wantReqID   string
		wantAccID   string
		wantBodyLen int
		wantQuota   bool
		wantThrottl bool
		wantTemp    bool
	}{
		{
			name:   "400 with details",
			status: 400,
			headers: map[string]string{
				lineapi.RequestIDHeader: "req-1",
			},
			body:        []byte(`{"message":"The request body has 1 error(s)","details":[{"message":"May not be empty","property":"messages[0].text"}]}`),
			wantMessage: "The request body has 1 error(s)",
			wantDetails: []lineapi.Detail{{Message: "May not be empty", Property: "messages[0].text"}},
			wantReqID:   "req-1",
		},
		{
			name:        "429 quota",
			status:      429,
			body:        []byte(`{"message":"You have reached your monthly limit."}`),
			wantMessage: lineapi.QuotaMessage,
			wantQuota:   true,
		},
		{
			name:        "429 rate limit",
			status:      429,
			body:        []byte(`{"message":"The API rate limit has been exceeded. Try again later."}`),
			wantMessage: "The API rate limit has been exceeded. Try again later.",
			wantThrottl: true,
		},
		{
			name:        "409 accepted",
			status:      409,
			headers:     map[string]string{retrykey.AcceptedRequestIDHeader: "acc-1", lineapi.RequestIDHeader: "req-2"},
			body:        []byte(`{"message":"The retry key is already accepted"}`),
			wantMessage: "The retry key is already accepted",
			wantReqID:   "req-2",
			wantAccID:   "acc-1",
		},
		{
			name:        "500 html body",
			status:      502,
			body:        []byte("<html><body>Bad Gateway</body></html>"),
			wantMessage: "Bad Gateway",
			wantTemp:    true,
		},
		{
			name:        "empty body",
			status:      500,
			wantMessage: "Internal Server Error",
			wantTemp:    true,
		},
		{
			name:        "broken json",
			status:      400,
			body:        []byte(`{"message":`),
			wantMessage: "Bad Request",
		},
		{
			name:        "huge body is truncated",
			status:      503,
			body:        big,
			wantMessage: "Service Unavailable",
			wantBodyLen: lineapi.MaxBody,
			wantTemp:    true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := lineapi.FromResponse(response(t, tt.status, tt.headers), tt.body)
			if e.Status != tt.status || e.Message != tt.wantMessage || e.RequestID != tt.wantReqID || e.AcceptedRequestID != tt.wantAccID {
				t.Errorf("got %+v", e)
			}
			if fmt.Sprint(e.Details) != fmt.Sprint(tt.wantDetails) {
				t.Errorf("details = %v, want %v", e.Details, tt.wantDetails)
			}
			wantLen := len(tt.body)
			if tt.wantBodyLen != 0 {
				wantLen = tt.wantBodyLen
			}
			if len(e.Body) != wantLen {
				t.Errorf("len(Body) = %d, want %d", len(e.Body), wantLen)
			}
			if e.IsQuota() != tt.wantQuota || e.Throttled() != tt.wantThrottl || e.Temporary() != tt.wantTemp {
				t.Errorf("IsQuota=%v Throttled=%v Temporary=%v", e.IsQuota(), e.Throttled(), e.Temporary())
			}
		})
	}
}

func TestFromResponseCopiesBody(t *testing.T) {
	t.Parallel()
	buf := []byte(`{"message":"x"}`)
	e := lineapi.FromResponse(response(t, 400, nil), buf)
	buf[2] = 'Z'
	if string(e.Body) != `{"message":"x"}` {
		t.Fatalf("Body aliases the caller's buffer: %s", e.Body)
	}
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *lineapi.Error
		want string
	}{
		{"details and request id", &lineapi.Error{Status: 400, Message: "The request body has 2 error(s)", RequestID: "abc",
			Details: []lineapi.Detail{{Message: "May not be empty", Property: "messages[0].text"}, {Message: "Invalid"}}},
			"line: 400 The request body has 2 error(s) [messages[0].text: May not be empty; Invalid] (request id abc)"},
		{"bare", &lineapi.Error{Status: 500, Message: "Internal Server Error"}, "line: 500 Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestWriteErrorRoundTrip(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	rec.Header().Set(lineapi.RequestIDHeader, "r1")
	lineapi.WriteError(rec, 400, "bad", lineapi.Detail{Message: "m", Property: "p"})
	resp := rec.Result()
	e := lineapi.FromResponse(resp, rec.Body.Bytes())
	if e.Status != 400 || e.Message != "bad" || len(e.Details) != 1 || e.Details[0] != (lineapi.Detail{Message: "m", Property: "p"}) || e.RequestID != "r1" {
		t.Fatalf("round trip: %+v", e)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
	var target *lineapi.Error
	if !errors.As(fmt.Errorf("wrapped: %w", e), &target) {
		t.Fatal("errors.As failed")
	}
}

func TestTokenError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		body     string
		wantCode string
		wantMsg  string
		wantTemp bool
	}{
		{"invalid_client", 400, `{"error":"invalid_client","error_description":"invalid client_secret"}`, "invalid_client", "line oauth: 400 invalid_client: invalid client_secret", false},
		{"no description", 400, `{"error":"invalid_request"}`, "invalid_request", "line oauth: 400 invalid_request", false},
		{"html 503", 503, `<html>down</html>`, "", "line oauth: 503 Service Unavailable", true},
		{"429", 429, ``, "", "line oauth: 429 Too Many Requests", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := lineapi.TokenErrorFromResponse(response(t, tt.status, nil), []byte(tt.body))
			if e.Code != tt.wantCode || e.Error() != tt.wantMsg || e.Temporary() != tt.wantTemp {
				t.Errorf("got code %q msg %q temp %v", e.Code, e.Error(), e.Temporary())
			}
		})
	}
}

func TestWriteTokenErrorRoundTrip(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	lineapi.WriteTokenError(rec, 401, "invalid_client", "bad secret")
	e := lineapi.TokenErrorFromResponse(rec.Result(), rec.Body.Bytes())
	if e.Status != 401 || e.Code != "invalid_client" || !strings.Contains(e.Error(), "bad secret") {
		t.Fatalf("round trip: %+v", e)
	}
}
