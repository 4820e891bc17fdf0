package linesim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// spec is one of LINE's OpenAPI documents with its router.
type spec struct {
	name   string
	doc    *openapi3.T
	router routers.Router
}

// loadSpecs loads LINE's specs for the endpoints linesim serves. The
// directory is $LINEDISPATCH_OPENAPI_DIR, else shared/line-openapi found by
// walking up from this package (in the repository or beside it).
func loadSpecs(t *testing.T) []spec {
	t.Helper()
	dir, err := FindOpenAPIDir(".")
	if err != nil {
		t.Fatalf("conformance needs LINE's OpenAPI specs: %v", err)
	}
	var out []spec
	for _, name := range []string{"messaging-api.yml", "module.yml", "channel-access-token.yml"} {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("loading %s: %v", name, err)
		}
		if err := doc.Validate(loader.Context); err != nil {
			t.Fatalf("%s is not a valid OpenAPI document: %v", name, err)
		}
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			t.Fatalf("router for %s: %v", name, err)
		}
		out = append(out, spec{name, doc, r})
	}
	return out
}

// findRoute maps a request to its operation in one of the specs.
func findRoute(t *testing.T, specs []spec, method, path string, header http.Header, body []byte) (*spec, *openapi3filter.RequestValidationInput) {
	t.Helper()
	hr, err := http.NewRequest(method, "https://api.line.me"+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	hr.Header = header.Clone()
	for i := range specs {
		route, params, err := specs[i].router.FindRoute(hr)
		if err == nil {
			return &specs[i], &openapi3filter.RequestValidationInput{
				Request: hr, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			}
		}
	}
	return nil, nil
}

func TestConformance(t *testing.T) {
	t.Parallel()
	specs := loadSpecs(t)
	e := setup(t, func(c *Config) {
		c.Limits = map[string]Limit{EPMulticast: {1, time.Hour}}
		c.UnitCap = 1
	})
	ctx := context.Background()
	replyTok := func() string {
		tok, err := e.cli.IssueReplyToken(ctx, testChannel, botA, userU)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {testChannel}, "client_secret": {testSecret}}
	var narrowcastID string
	type tc struct {
		name  string
		r     func() req
		want  int
		check bool // validate the request against the spec too
		after func(r resp)
	}
	push := func(text string) string { return pushBody(userU, text) }
	cases := []tc{
		{"push", func() req { return req{path: "/v2/bot/message/push", body: push("c1"), retryKey: retryKey1} }, 200, true, nil},
		{"push with unit", func() req {
			return req{path: "/v2/bot/message/push", body: unitPush(userL, "c2", "conformance")}
		}, 200, true, nil},
		{"push 409", func() req { return req{path: "/v2/bot/message/push", body: push("c1"), retryKey: retryKey1} }, 409, true, nil},
		{"push 400", func() req { return req{path: "/v2/bot/message/push", body: `{"to":"x","messages":[]}`} }, 400, false, nil},
		{"push 401", func() req { return req{path: "/v2/bot/message/push", body: push("c3"), token: "bogus"} }, 401, true, nil},
		{"push 403", func() req { return req{path: "/v2/bot/message/push", body: push("c4"), bot: botC} }, 403, true, nil},
		{"push 413", func() req {
			return req{path: "/v2/bot/message/push", body: `{"to":"` + userU + `","x":"` + strings.Repeat("a", MaxBodyBytes) + `"}`}
		}, 413, false, nil},
		{"multicast", func() req {
			return req{path: "/v2/bot/message/multicast", body: multicastBody([]string{userU, userL}, "c5"), retryKey: retryKey2}
		}, 200, true, nil},
		{"multicast 429", func() req { return req{path: "/v2/bot/message/multicast", body: multicastBody([]string{userU}, "c6")} }, 429, true, nil},
		{"narrowcast", func() req {
			return req{path: "/v2/bot/message/narrowcast", body: `{` + textMessages("c7") + `,"limit":{"max":10,"upToRemainingQuota":true}}`}
		}, 202, true, func(r resp) { narrowcastID = r.header.Get("X-Line-Request-Id") }},
		{"narrowcast progress", func() req {
			return req{method: "GET", path: "/v2/bot/message/progress/narrowcast?requestId=" + narrowcastID}
		}, 200, true, nil},
		{"broadcast", func() req { return req{path: "/v2/bot/message/broadcast", body: `{` + textMessages("c8") + `}`} }, 200, true, nil},
		{"reply", func() req {
			return req{path: "/v2/bot/message/reply", body: `{"replyToken":"` + replyTok() + `",` + textMessages("c9") + `}`}
		}, 200, true, nil},
		{"reply 400", func() req {
			return req{path: "/v2/bot/message/reply", body: `{"replyToken":"used",` + textMessages("c10") + `}`}
		}, 400, true, nil},
		{"markAsRead", func() req {
			return req{path: "/v2/bot/message/markAsRead", body: `{"chat":{"userId":"` + userU + `"}}`}
		}, 200, true, nil},
		{"aggregation info", func() req { return req{method: "GET", path: "/v2/bot/message/aggregation/info"} }, 200, true, nil},
		{"aggregation list", func() req { return req{method: "GET", path: "/v2/bot/message/aggregation/list?limit=1"} }, 200, true, nil},
		{"bot info", func() req { return req{method: "GET", path: "/v2/bot/info"} }, 200, true, nil},
		{"bot list", func() req { return req{method: "GET", path: "/v2/bot/list?limit=1", bot: "-"} }, 200, true, nil},
		{"acquire", func() req {
			return req{path: "/v2/bot/chat/" + userU + "/control/acquire", body: `{"expired":true,"ttl":60}`}
		}, 200, true, nil},
		{"release", func() req { return req{path: "/v2/bot/chat/" + userU + "/control/release"} }, 200, true, nil},
		{"detach", func() req { return req{path: "/v2/bot/channel/detach", bot: "-", body: `{"botId":"` + botB + `"}`} }, 200, true, nil},
		// kin-openapi cannot decode a form body whose schema is a oneOf: the
		// form is checked against the client-secret schema below instead.
		{"stateless token", func() req {
			return req{path: "/oauth2/v3/token", token: "-", bot: "-", ctype: "application/x-www-form-urlencoded", body: form.Encode()}
		}, 200, false, nil},
		{"short-lived token", func() req {
			return req{path: "/v2/oauth/accessToken", token: "-", bot: "-", ctype: "application/x-www-form-urlencoded", body: form.Encode()}
		}, 200, true, nil},
		{"short-lived token 400", func() req {
			f := url.Values{"grant_type": {"client_credentials"}, "client_id": {testChannel}, "client_secret": {"wrong"}}
			return req{path: "/v2/oauth/accessToken", token: "-", bot: "-", ctype: "application/x-www-form-urlencoded", body: f.Encode()}
		}, 400, true, nil},
		{"push 500", func() req {
			if err := e.sim.SetFaults(EPPush, Faults{ErrorRatio: 1}); err != nil {
				t.Fatal(err)
			}
			return req{path: "/v2/bot/message/push", body: push("c11")}
		}, 500, true, nil},
	}
	tokenSpec := specs[2].doc.Components.Schemas["IssueStatelessChannelTokenByClientSecretRequest"].Value
	formObj := map[string]any{}
	for k := range form {
		formObj[k] = form.Get(k)
	}
	if err := tokenSpec.VisitJSON(formObj); err != nil {
		t.Fatalf("the stateless token form does not follow the spec: %v", err)
	}
	for _, c := range cases {
		r := c.r()
		t.Run(c.name, func(t *testing.T) {
			res := e.do(r)
			wantStatus(t, res, c.want)
			if c.after != nil {
				c.after(res)
			}
			if ct := res.header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			method := r.method
			if method == "" {
				method = http.MethodPost
			}
			header := http.Header{}
			if r.body != "" {
				ct := r.ctype
				if ct == "" {
					ct = "application/json"
				}
				header.Set("Content-Type", ct)
			}
			if r.retryKey != "" {
				header.Set("X-Line-Retry-Key", r.retryKey)
			}
			sp, input := findRoute(t, specs, method, r.path, header, []byte(r.body))
			if sp == nil {
				t.Fatalf("no operation in LINE's specs for %s %s", method, r.path)
			}
			if c.check {
				if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
					t.Fatalf("the test's request does not follow %s: %v", sp.name, err)
				}
			}
			declared := input.Route.Operation.Responses.Status(res.status) != nil
			err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: input,
				Status:                 res.status,
				Header:                 res.header,
				Body:                   io.NopCloser(bytes.NewReader(res.body)),
				Options:                &openapi3filter.Options{IncludeResponseStatus: res.status < 300},
			})
			if err != nil {
				t.Fatalf("answer %d %s does not follow %s: %v", res.status, res.body, sp.name, err)
			}
			if !declared && res.status >= 400 { // undeclared error statuses still use the spec's error body
				var v any
				if err := json.Unmarshal(res.body, &v); err != nil {
					t.Fatal(err)
				}
				schema := sp.doc.Components.Schemas["ErrorResponse"].Value
				if err := schema.VisitJSON(v); err != nil {
					t.Fatalf("%d body %s is not an ErrorResponse: %v", res.status, res.body, err)
				}
				if sp.name != "channel-access-token.yml" {
					if m, _ := v.(map[string]any)["message"].(string); m == "" {
						t.Fatalf("%d body %s has no message", res.status, res.body)
					}
				}
			}
		})
	}
	// The validator is not a no-op: a push answer without sentMessages fails.
	_, input := findRoute(t, specs, http.MethodPost, "/v2/bot/message/push", http.Header{"Content-Type": {"application/json"}}, []byte(pushBody(userU, "x")))
	err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: input, Status: 200,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(strings.NewReader(`{"sent":[]}`)),
	})
	if err == nil {
		t.Fatal("ValidateResponse accepted a push answer without sentMessages")
	}
}
