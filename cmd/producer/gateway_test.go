package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/retrykey"
)

type gatewayEnv struct {
	ctx context.Context
	js  jetstream.JetStream
	url string
}

func setupGateway(t *testing.T, cfg ...gatewayConfig) gatewayEnv {
	t.Helper()
	ctx, q := setupQueue(t)
	c := defaultGatewayConfig()
	if len(cfg) > 0 {
		c = cfg[0]
	}
	srv := httptest.NewServer(newGatewayWith(q.JS, zerolog.Nop(), c))
	t.Cleanup(srv.Close)
	return gatewayEnv{ctx: ctx, js: q.JS, url: srv.URL}
}

// minimal returns a minimal push intent as a k6 script would post it: no id,
// no createdAt.
func minimal(text string) string {
	return fmt.Sprintf(`{"channel":%q,"bot":%q,"endpoint":"push","body":{"to":%q,"messages":[{"type":"text","text":%q}]}}`,
		testChannel, testBot, testUser, text)
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, method, url, contentType, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("response is not JSON: %v\n%s", err, raw)
		}
	}
	return r
}

func post(t *testing.T, env gatewayEnv, body string) response {
	t.Helper()
	return do(t, http.MethodPost, env.url+"/v1/intents", "application/json", body)
}

func ids(t *testing.T, r response) []string {
	t.Helper()
	raw, _ := r.body["ids"].([]any)
	var out []string
	for _, v := range raw {
		out = append(out, v.(string))
	}
	return out
}

func TestGatewayAcceptsOneMinimalIntent(t *testing.T) {
	t.Parallel()
	env := setupGateway(t)
	r := post(t, env, minimal("hello"))
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	got := ids(t, r)
	if len(got) != 1 || retrykey.Validate(got[0]) != nil || r.body["duplicates"] != 0.0 {
		t.Fatalf("response %s", r.raw)
	}
	st := stored(t, env.ctx, env.js)
	if len(st) != 1 {
		t.Fatalf("%d stored, want 1", len(st))
	}
	if st[0].msgID != got[0] || st[0].in.ID != got[0] || st[0].in.CreatedAt.IsZero() {
		t.Errorf("stored %+v, want id %s with createdAt", st[0].in, got[0])
	}
	if !strings.HasSuffix(st[0].subject, "."+testChannel+"."+testBot+".push") {
		t.Errorf("stored on %s", st[0].subject)
	}
}

func TestGatewayAcceptsBatchAndCountsDuplicates(t *testing.T) {
	t.Parallel()
	env := setupGateway(t)
	const fixedID = "0c8e1a9d-52b7-4f61-a3c4-7d2e9b5f6a80"
	withID := strings.Replace(minimal("fixed"), `{`, `{"id":"`+fixedID+`",`, 1)
	batch := `{"intents":[` + minimal("a") + `,` + withID + `,` + minimal("b") + `]}`

	r := post(t, env, batch)
	first := ids(t, r)
	if r.status != http.StatusAccepted || len(first) != 3 || first[1] != fixedID || r.body["duplicates"] != 0.0 {
		t.Fatalf("first post: %d %s", r.status, r.raw)
	}
	r = post(t, env, batch) // the minimal ones get new IDs; the fixed one is a duplicate
	if r.status != http.StatusAccepted || r.body["duplicates"] != 1.0 {
		t.Fatalf("second post: %d %s", r.status, r.raw)
	}
	st := stored(t, env.ctx, env.js)
	if len(st) != 5 {
		t.Fatalf("%d stored, want 5", len(st))
	}
	for i, id := range first {
		if st[i].in.ID != id {
			t.Errorf("stored #%d is %s, want %s (batch order)", i, st[i].in.ID, id)
		}
	}
}

func TestGatewayInvalidBatchPublishesNothing(t *testing.T) {
	t.Parallel()
	env := setupGateway(t)
	badBot := strings.Replace(minimal("x"), testBot, "Ubad", 1)
	badEndpoint := strings.Replace(minimal("y"), `"push"`, `"richmenu"`, 1)
	r := post(t, env, `{"intents":[`+minimal("ok")+`,`+badBot+`,`+badEndpoint+`]}`)
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	var body struct {
		Error string `json:"error"`
		Items []struct {
			Index  int    `json:"index"`
			ID     string `json:"id"`
			Reason string `json:"reason"`
			Errors []struct {
				Field, Reason, Code string
			} `json:"errors"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(r.raw), &body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body.Error, "2 of 3 intents are invalid; nothing was published") || len(body.Items) != 2 {
		t.Fatalf("body %s", r.raw)
	}
	first, second := body.Items[0], body.Items[1]
	if first.Index != 1 || first.Reason != intent.ReasonInvalidIntent || len(first.Errors) != 1 ||
		first.Errors[0].Field != "bot" || first.Errors[0].Reason == "" || first.ID == "" {
		t.Errorf("item 1: %+v", first)
	}
	if second.Index != 2 || second.Reason != intent.ReasonUnknownEndpoint || second.Errors[0].Field != "endpoint" {
		t.Errorf("item 2: %+v", second)
	}
	if st := stored(t, env.ctx, env.js); len(st) != 0 {
		t.Fatalf("%d intents of an invalid batch were published", len(st))
	}
}

func TestGatewayRefusals(t *testing.T) {
	t.Parallel()
	cfg := defaultGatewayConfig()
	cfg.MaxBatch = 2
	env := setupGateway(t, cfg)
	tooBig := `{"intents":[` + strings.Repeat(" ", int(cfg.MaxBody)) + `]}`
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		errContains                     string
	}{
		{"get intents", http.MethodGet, "/v1/intents", "", "", 405, "use POST"},
		{"put intents", http.MethodPut, "/v1/intents", "application/json", minimal("x"), 405, "use POST"},
		{"form body", http.MethodPost, "/v1/intents", "application/x-www-form-urlencoded", "a=b", 415, "application/json"},
		{"no content type", http.MethodPost, "/v1/intents", "", minimal("x"), 415, "application/json"},
		{"too large", http.MethodPost, "/v1/intents", "application/json", tooBig, 413, "bytes"},
		{"batch too long", http.MethodPost, "/v1/intents", "application/json", `{"intents":[` + minimal("a") + `,` + minimal("b") + `,` + minimal("c") + `]}`, 413, "at most 2"},
		{"malformed", http.MethodPost, "/v1/intents", "application/json", `{"channel":`, 400, "invalid JSON"},
		{"array", http.MethodPost, "/v1/intents", "application/json", `[` + minimal("a") + `]`, 400, "intents"},
		{"empty batch", http.MethodPost, "/v1/intents", "application/json", `{"intents":[]}`, 400, "empty"},
		{"batch with extras", http.MethodPost, "/v1/intents", "application/json", `{"intents":[],"x":1}`, 400, "no other fields"},
		{"batch not array", http.MethodPost, "/v1/intents", "application/json", `{"intents":{}}`, 400, "array"},
		{"unknown path", http.MethodGet, "/v2/intents", "", "", 404, "no such endpoint"},
		{"post healthz", http.MethodPost, "/healthz", "application/json", "{}", 405, "use GET"},
		{"post metrics", http.MethodPost, "/metrics", "application/json", "{}", 405, "use GET"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, tc.method, env.url+tc.path, tc.ctype, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %.200s", r.status, tc.status, r.raw)
			}
			msg, _ := r.body["error"].(string)
			if !strings.Contains(msg, tc.errContains) {
				t.Errorf("error %q does not mention %q", msg, tc.errContains)
			}
			if tc.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	t.Run("nothing stored", func(t *testing.T) {
		t.Parallel()
		// Runs with the refusals above; none of them may have published.
		if st := stored(t, env.ctx, env.js); len(st) != 0 {
			t.Fatalf("%d stored", len(st))
		}
	})
}

func TestGatewayAcceptsJSONVariants(t *testing.T) {
	t.Parallel()
	env := setupGateway(t)
	for _, ct := range []string{"application/json; charset=utf-8", "application/vnd.linedispatch+json"} {
		if r := do(t, http.MethodPost, env.url+"/v1/intents", ct, minimal("x")); r.status != http.StatusAccepted {
			t.Errorf("%s: status %d %s", ct, r.status, r.raw)
		}
	}
}

func TestGatewayHealthAndMetrics(t *testing.T) {
	t.Parallel()
	env := setupGateway(t)
	if r := do(t, http.MethodGet, env.url+"/healthz", "", ""); r.status != 200 || r.body["status"] != "ok" {
		t.Fatalf("healthz: %d %s", r.status, r.raw)
	}
	post(t, env, minimal("a"))
	post(t, env, `{"intents":[`+minimal("b")+`,{"bot":"x"}]}`)
	r := do(t, http.MethodGet, env.url+"/metrics", "", "")
	for _, want := range []string{
		`linedispatch_gateway_intents_total{result="accepted"} 1`,
		`linedispatch_gateway_intents_total{result="rejected"} 2`,
		`linedispatch_gateway_requests_total{code="202"} 1`,
		`linedispatch_gateway_requests_total{code="400"} 1`,
		`linedispatch_gateway_publish_seconds_count 1`,
	} {
		if !strings.Contains(r.raw, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestGatewayPublishFailureReturnsIDs(t *testing.T) {
	t.Parallel()
	env := setupGateway(t)
	if err := env.js.DeleteStream(env.ctx, queue.IntentsStream); err != nil {
		t.Fatal(err)
	}
	r := post(t, env, `{"intents":[`+minimal("a")+`,`+minimal("b")+`]}`)
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	items, _ := r.body["items"].([]any)
	if len(ids(t, r)) != 2 || len(items) != 2 || !strings.Contains(r.body["error"].(string), "send the same intents again") {
		t.Fatalf("body %s", r.raw)
	}
}

func TestIsJSON(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]bool{
		"application/json": true, "Application/JSON; charset=UTF-8": true, "application/problem+json": true,
		"text/json": false, "text/plain": false, "": false, "application/jsonx": false,
	} {
		if got := isJSON(ct); got != want {
			t.Errorf("isJSON(%q) = %v", ct, got)
		}
	}
}

// The gateway's error body is plain JSON even for a body the decoder chokes
// on halfway; check one raw response shape end to end.
func TestGatewayErrorShape(t *testing.T) {
	t.Parallel()
	env := setupGateway(t)
	r := post(t, env, strings.Replace(minimal("x"), `"channel"`, `"chanel"`, 1))
	want := `"errors":[{"field":"chanel","reason":"unknown field; did you mean \"channel\"?","code":"invalid_intent"}`
	if r.status != 400 || !bytes.Contains([]byte(r.raw), []byte(want)) {
		t.Fatalf("%d %s\nwant it to contain %s", r.status, r.raw, want)
	}
}
