package sender_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/lineapi"
	"github.com/linedispatch/linedispatch/internal/retrykey"
	"github.com/linedispatch/linedispatch/internal/sender"
)

// reply writes a LINE-like answer with a request ID.
func reply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(lineapi.RequestIDHeader, "req-"+http.StatusText(status))
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func TestSendAnswers(t *testing.T) {
	t.Parallel()
	const sent = `{"sentMessages":[{"id":"461230966842064897","quoteToken":"IStG5h1Tz7b"}]}`
	tests := []struct {
		name      string
		endpoint  intent.Endpoint
		handler   http.HandlerFunc
		wantClass sender.Class
		check     func(t *testing.T, resp *sender.Response, err error)
	}{
		{"push 200 sentMessages", intent.Push, reply(200, sent), sender.ClassSent,
			func(t *testing.T, resp *sender.Response, err error) {
				if err != nil || resp.Status != 200 || resp.Conflict || resp.RequestID != "req-OK" || string(resp.Body) != sent {
					t.Fatalf("got %+v, %v", resp, err)
				}
			}},
		{"push 409 already accepted", intent.Push,
			reply(409, `{"message":"The retry key is already accepted","sentMessages":[{"id":"1","quoteToken":"q"}]}`, retrykey.AcceptedRequestIDHeader, "first-req"),
			sender.ClassSent,
			func(t *testing.T, resp *sender.Response, err error) {
				if err != nil || resp.Status != 409 || !resp.Conflict || resp.AcceptedRequestID != "first-req" || resp.RequestID != "req-Conflict" {
					t.Fatalf("got %+v, %v", resp, err)
				}
			}},
		{"narrowcast 202", intent.Narrowcast, reply(202, `{}`), sender.ClassSent, nil},
		{"multicast 200 empty body", intent.Multicast, reply(200, ``), sender.ClassSent, nil},
		{"429 rate limit", intent.Push, reply(429, `{"message":"The API rate limit has been exceeded. Try again later."}`), sender.ClassThrottle, nil},
		{"429 monthly quota", intent.Multicast, reply(429, `{"message":"You have reached your monthly limit."}`), sender.ClassQuota, nil},
		{"400 with details", intent.Push,
			reply(400, `{"message":"The request body has 1 error(s)","details":[{"message":"May not be empty","property":"messages[0].text"}]}`),
			sender.ClassReject,
			func(t *testing.T, _ *sender.Response, err error) {
				var le *lineapi.Error
				if !errors.As(err, &le) || le.Status != 400 || len(le.Details) != 1 || le.Details[0].Property != "messages[0].text" {
					t.Fatalf("err = %#v", err)
				}
				want := "line: 400 The request body has 1 error(s) [messages[0].text: May not be empty] (request id req-Bad Request)"
				if err.Error() != want {
					t.Fatalf("Error() = %q, want %q", err.Error(), want)
				}
			}},
		{"403", intent.Broadcast, reply(403, `{"message":"Access to this API is not available for your account"}`), sender.ClassReject, nil},
		{"404", intent.Push, reply(404, `{"message":"Not found"}`), sender.ClassReject, nil},
		{"410", intent.Push, reply(410, `{"message":"Gone"}`), sender.ClassReject, nil},
		{"413", intent.Push, reply(413, `{"message":"Request Entity Too Large"}`), sender.ClassReject, nil},
		{"415", intent.Push, reply(415, `{"message":"Unsupported Media Type"}`), sender.ClassReject, nil},
		{"409 without a key is no conflict", intent.Reply, reply(409, `{"message":"Conflict"}`), sender.ClassReject, nil},
		{"500", intent.Push, reply(500, `{"message":"Internal Server Error"}`), sender.ClassRetry,
			func(t *testing.T, _ *sender.Response, err error) {
				var le *lineapi.Error
				if !errors.As(err, &le) || !le.Temporary() || le.RequestID != "req-Internal Server Error" {
					t.Fatalf("err = %#v", err)
				}
			}},
		{"502 html from a proxy", intent.Reply, reply(502, `<html>Bad Gateway</html>`), sender.ClassRetry, nil},
		{"3xx is not followed", intent.Push, reply(307, ``, "Location", "http://elsewhere.invalid/"), sender.ClassReject, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, fixtureOpts{handler: tt.handler})
			resp, err := f.sender.Send(context.Background(), request(t, tt.endpoint))
			if got := sender.Classify(resp, err); got != tt.wantClass {
				t.Fatalf("Classify = %v, want %v (resp %+v, err %v)", got, tt.wantClass, resp, err)
			}
			if (err == nil) != (resp != nil) {
				t.Fatalf("exactly one of resp, err must be set: %+v, %v", resp, err)
			}
			if n := len(f.line.requests()); n != 1 {
				t.Fatalf("LINE saw %d requests, want 1", n)
			}
			if tt.check != nil {
				tt.check(t, resp, err)
			}
		})
	}
}

func TestSendHeadersAndRoutes(t *testing.T) {
	t.Parallel()
	wantPath := map[intent.Endpoint]string{
		intent.Push: "/v2/bot/message/push", intent.Multicast: "/v2/bot/message/multicast",
		intent.Narrowcast: "/v2/bot/message/narrowcast", intent.Broadcast: "/v2/bot/message/broadcast",
		intent.Reply: "/v2/bot/message/reply", intent.MarkAsRead: "/v2/bot/message/markAsRead",
	}
	for _, e := range intent.Endpoints {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			f := setup(t, fixtureOpts{})
			req := request(t, e)
			if _, err := f.sender.Send(context.Background(), req); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := f.line.requests()[0]
			if got.Method != http.MethodPost || got.Path != wantPath[e] || got.Body != testBody {
				t.Fatalf("got %s %s %q", got.Method, got.Path, got.Body)
			}
			want := map[string]string{
				"Authorization":   "Bearer " + staticToken,
				"Content-Type":    "application/json",
				"Content-Length":  strconv.Itoa(len(testBody)),
				"User-Agent":      "linedispatch/test",
				"Accept-Encoding": "gzip", // added by net/http
				botHeader:         testBot,
			}
			if e.TakesRetryKey() {
				want[retrykey.Header] = req.RetryKey
			}
			if len(got.Header) != len(want) {
				t.Errorf("headers = %v, want exactly %v", got.Header, want)
			}
			for k, v := range want {
				if vs := got.Header.Values(k); len(vs) != 1 || vs[0] != v {
					t.Errorf("%s = %q, want [%q]", k, vs, v)
				}
			}
		})
	}
}

func TestSendRefusesWithoutCalling(t *testing.T) {
	t.Parallel()
	key := retrykey.New()
	tests := []struct {
		name   string
		mutate func(r *sender.Request)
	}{
		{"key on reply", func(r *sender.Request) { r.Endpoint, r.RetryKey = intent.Reply, key }},
		{"key on markasread", func(r *sender.Request) { r.Endpoint, r.RetryKey = intent.MarkAsRead, key }},
		{"push without key", func(r *sender.Request) { r.RetryKey = "" }},
		{"broadcast without key", func(r *sender.Request) { r.Endpoint, r.RetryKey = intent.Broadcast, "" }},
		{"key not a uuid", func(r *sender.Request) { r.RetryKey = "not-a-uuid" }},
		{"key without hyphens", func(r *sender.Request) { r.RetryKey = strings.ReplaceAll(key, "-", "") }},
		{"unknown endpoint", func(r *sender.Request) { r.Endpoint = "richmenu" }},
		{"no channel", func(r *sender.Request) { r.Channel = "" }},
		{"no bot", func(r *sender.Request) { r.Bot = "" }},
		{"header injection in bot", func(r *sender.Request) { r.Bot = testBot + "\r\nX-Evil: 1" }},
		{"no body", func(r *sender.Request) { r.Body = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, fixtureOpts{})
			req := request(t, intent.Push)
			tt.mutate(&req)
			resp, err := f.sender.Send(context.Background(), req)
			if !errors.Is(err, sender.ErrInvalidRequest) || resp != nil {
				t.Fatalf("got %+v, %v; want ErrInvalidRequest", resp, err)
			}
			if c := sender.Classify(resp, err); c != sender.ClassReject {
				t.Fatalf("Classify = %v", c)
			}
			if n := len(f.line.requests()); n != 0 {
				t.Fatalf("LINE saw %d requests", n)
			}
		})
	}
}

func TestSendTransportFailures(t *testing.T) {
	t.Parallel()
	hijackClose := func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		timeout     time.Duration
		ctx         func(t *testing.T, arrived <-chan struct{}) context.Context
		wantClass   sender.Class
		wantIs      []error
		wantNot     []error
		wantNetErr  bool
		wantNoCalls bool
	}{
		{
			name: "handler hangs past the attempt timeout", handler: hang, timeout: 100 * time.Millisecond,
			wantClass: sender.ClassRetry, wantIs: []error{sender.ErrTimeout, context.DeadlineExceeded},
			wantNot: []error{sender.ErrCanceled}, wantNetErr: true,
		},
		{
			name: "connection hijacked and closed", handler: hijackClose,
			wantClass: sender.ClassRetry, wantNot: []error{sender.ErrTimeout, sender.ErrCanceled}, wantNetErr: true,
		},
		{
			name: "parent context canceled mid-request", handler: hang,
			ctx: func(t *testing.T, arrived <-chan struct{}) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				t.Cleanup(cancel)
				go func() { <-arrived; cancel() }()
				return ctx
			},
			wantClass: sender.ClassCanceled, wantIs: []error{sender.ErrCanceled, context.Canceled},
			wantNot: []error{sender.ErrTimeout},
		},
		{
			name: "parent deadline shorter than the attempt timeout", handler: hang,
			ctx: func(t *testing.T, _ <-chan struct{}) context.Context {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			wantClass: sender.ClassCanceled, wantIs: []error{sender.ErrCanceled, context.DeadlineExceeded},
			wantNot: []error{sender.ErrTimeout},
		},
		{
			name: "parent canceled before sending",
			ctx: func(t *testing.T, _ <-chan struct{}) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			wantClass: sender.ClassCanceled, wantIs: []error{sender.ErrCanceled, context.Canceled}, wantNoCalls: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			arrived := make(chan struct{})
			var once sync.Once
			h := tt.handler
			if h == nil {
				h = reply(200, `{}`)
			}
			f := setup(t, fixtureOpts{timeout: tt.timeout, handler: func(w http.ResponseWriter, r *http.Request) {
				once.Do(func() { close(arrived) })
				h(w, r)
			}})
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx(t, arrived)
			}
			resp, err := f.sender.Send(ctx, request(t, intent.Push))
			if resp != nil || err == nil {
				t.Fatalf("got %+v, %v", resp, err)
			}
			if c := sender.Classify(resp, err); c != tt.wantClass {
				t.Fatalf("Classify = %v, want %v (err %v)", c, tt.wantClass, err)
			}
			for _, target := range tt.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			for _, target := range tt.wantNot {
				if errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = true", err, target)
				}
			}
			var ne net.Error
			if tt.wantNetErr && !errors.As(err, &ne) {
				t.Errorf("%v does not preserve net.Error", err)
			}
			if n := len(f.line.requests()); tt.wantNoCalls && n != 0 || !tt.wantNoCalls && n != 1 {
				t.Errorf("LINE saw %d requests", n)
			}
		})
	}
}
