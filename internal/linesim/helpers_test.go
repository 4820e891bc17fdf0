package linesim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	testChannel = "1234567890"
	testSecret  = "0123456789abcdef0123456789abcdef"
	testStatic  = "static-test-token"
	botA        = "U0123456789abcdef0123456789abcdef"
	botB        = "Ufedcba9876543210fedcba9876543210"
	botC        = "U00000000000000000000000000000000"
	userU       = "U1111111111111111111111111111111a"
	userU2      = "U2222222222222222222222222222222b"
	userL       = "LUb577ef3cbe786a8da85ff8e902a03fc6-U5fac33f633e72c192759f09afc41fa28"
	group       = "C3333333333333333333333333333333c"
	retryKey1   = "123e4567-e89b-12d3-a456-426614174000"
	retryKey2   = "9b2f1a3c-4d5e-4f60-8a7b-1c2d3e4f5a6b"
)

var testStart = time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)

// env is a running linesim for one test.
type env struct {
	t     *testing.T
	srv   *Server
	sim   *Sim
	clock *ManualClock
	cli   *Client
	hc    *http.Client
}

// setup starts linesim with one channel (bots A and B, a static token) on a
// manual clock; mutate adjusts the config.
func setup(t *testing.T, mutate ...func(*Config)) *env {
	t.Helper()
	clock := NewManualClock(testStart)
	cfg := Config{
		Channels: []Channel{{ID: testChannel, Secret: testSecret, Bots: []string{botA, botB}, StaticTokens: []string{testStatic}}},
		Clock:    clock,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := Start(cfg, "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return &env{t: t, srv: srv, sim: srv.Sim(), clock: clock, cli: NewClient(srv.AdminURL()),
		hc: &http.Client{Timeout: 10 * time.Second}}
}

// resp is a LINE API answer.
type resp struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %q", r.status, r.body)
	}
	return m
}

func (r resp) message(t *testing.T) string {
	t.Helper()
	m, _ := r.json(t)["message"].(string)
	return m
}

// req describes a LINE API request; zero fields get defaults (static token,
// bot A, JSON content type).
type req struct {
	method   string
	path     string
	body     string
	token    string // "-" for none
	bot      string // "-" for none
	retryKey string
	ctype    string
	headers  map[string]string
}

func (e *env) do(r req) resp {
	e.t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequest(r.method, e.srv.URL()+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	switch r.token {
	case "":
		hr.Header.Set("Authorization", "Bearer "+testStatic)
	case "-":
	default:
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	switch r.bot {
	case "":
		hr.Header.Set(DefaultBotHeader, botA)
	case "-":
	default:
		hr.Header.Set(DefaultBotHeader, r.bot)
	}
	if r.retryKey != "" {
		hr.Header["X-Line-Retry-Key"] = []string{r.retryKey}
	}
	if r.body != "" {
		ct := r.ctype
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
	res, err := e.hc.Do(hr)
	if err != nil {
		return resp{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b, err: err}
}

func (e *env) push(body, retryKey string) resp {
	e.t.Helper()
	return e.do(req{path: "/v2/bot/message/push", body: body, retryKey: retryKey})
}

// pushBody is a push of one text message.
func pushBody(to, text string) string {
	b, _ := json.Marshal(map[string]any{"to": to, "messages": []any{map[string]any{"type": "text", "text": text}}})
	return string(b)
}

func multicastBody(to []string, text string) string {
	b, _ := json.Marshal(map[string]any{"to": to, "messages": []any{map[string]any{"type": "text", "text": text}}})
	return string(b)
}

func textMessages(text string) string {
	return `"messages":[{"type":"text","text":` + jsonString(text) + `}]`
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (e *env) token(endpointPath string, form url.Values) resp {
	e.t.Helper()
	return e.do(req{path: endpointPath, body: form.Encode(), token: "-", bot: "-", ctype: "application/x-www-form-urlencoded"})
}

func (e *env) issueToken() string {
	e.t.Helper()
	r := e.token("/oauth2/v3/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {testChannel}, "client_secret": {testSecret}})
	if r.status != 200 {
		e.t.Fatalf("token: %d %s", r.status, r.body)
	}
	return r.json(e.t)["access_token"].(string)
}

func (e *env) key(bot, endpoint string) KeyStats {
	e.t.Helper()
	ks, err := e.cli.Key(context.Background(), testChannel, bot, endpoint)
	if err != nil {
		e.t.Fatal(err)
	}
	return *ks
}

func (e *env) report() *Report {
	e.t.Helper()
	r, err := e.cli.Report(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func wantStatus(t *testing.T, r resp, code int) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("request failed: %v (want %d)", r.err, code)
	}
	if r.status != code {
		t.Fatalf("status %d, want %d; body %s", r.status, code, r.body)
	}
	if r.header.Get("X-Line-Request-Id") == "" {
		t.Fatalf("status %d without X-Line-Request-Id", r.status)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func itoa(n int) string { return strconv.Itoa(n) }
