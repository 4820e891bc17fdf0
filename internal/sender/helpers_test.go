package sender_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/retrykey"
	"github.com/linedispatch/linedispatch/internal/sender"
	"github.com/linedispatch/linedispatch/internal/token"
)

const (
	testChannel = "1234567890"
	testBot     = "U0123456789abcdef0123456789abcdef"
	// botHeader is a made-up name: the real one is partner-confidential.
	botHeader   = "X-Test-Module-Bot"
	staticToken = "static-token"
	testBody    = `{"to":"Uabc","messages":[{"type":"text","text":"hi"}]}`
)

// recorded is one request as the fake LINE saw it.
type recorded struct {
	Method, Path string
	Header       http.Header
	Body         string
}

// lineServer plays the Messaging API with a per-test handler and records
// every request.
type lineServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func (ls *lineServer) requests() []recorded {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return append([]recorded(nil), ls.reqs...)
}

type fixtureOpts struct {
	handler http.HandlerFunc // default: 200 {}
	tokens  token.Provider   // default: Static{testChannel: staticToken}
	timeout time.Duration    // default: 5 s
}

type fixture struct {
	line    *lineServer
	sender  *sender.Sender
	metrics *sender.Metrics
	reg     *prometheus.Registry
}

func setup(t *testing.T, o fixtureOpts) *fixture {
	t.Helper()
	if o.handler == nil {
		o.handler = func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "{}") }
	}
	if o.tokens == nil {
		o.tokens = token.NewStatic(map[string]string{testChannel: staticToken})
	}
	if o.timeout == 0 {
		o.timeout = 5 * time.Second
	}
	ls := &lineServer{}
	ls.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ls.mu.Lock()
		ls.reqs = append(ls.reqs, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(body)})
		ls.mu.Unlock()
		o.handler(w, r)
	}))
	t.Cleanup(ls.Close)

	m := sender.NewMetrics()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatalf("Register: %v", err)
	}
	s, err := sender.New(sender.Config{
		BaseURL:   ls.URL,
		BotHeader: botHeader,
		Timeout:   o.timeout,
		UserAgent: "linedispatch/test",
		Metrics:   m,
	}, o.tokens, zerolog.Nop())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return &fixture{line: ls, sender: s, metrics: m, reg: reg}
}

// request returns a valid request for e: keyed exactly when e takes a key.
func request(t *testing.T, e intent.Endpoint) sender.Request {
	t.Helper()
	r := sender.Request{Channel: testChannel, Bot: testBot, Endpoint: e, Body: []byte(testBody)}
	if e.TakesRetryKey() {
		r.RetryKey = retrykey.New()
	}
	return r
}

// hang blocks until the client gives up on the request.
func hang(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
