package linesim

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTokenEndpoints(t *testing.T) {
	t.Parallel()
	e := setup(t)
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {testChannel}, "client_secret": {testSecret}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	tests := []struct {
		name      string
		path      string
		form      url.Values
		ctype     string
		want      int
		wantError string
		wantTTL   float64
	}{
		{"stateless", "/oauth2/v3/token", good, "", 200, "", 900},
		{"short-lived", "/v2/oauth/accessToken", good, "", 200, "", 2592000},
		{"wrong secret", "/oauth2/v3/token", with("client_secret", "nope"), "", 400, "invalid_client", 0},
		{"unknown channel", "/v2/oauth/accessToken", with("client_id", "999"), "", 400, "invalid_client", 0},
		{"grant type", "/oauth2/v3/token", with("grant_type", "password"), "", 400, "unsupported_grant_type", 0},
		{"no secret", "/oauth2/v3/token", with("client_secret", ""), "", 400, "invalid_request", 0},
		{"JWT assertion", "/oauth2/v3/token", with("client_assertion", "eyJ..."), "", 400, "invalid_request", 0},
		{"JSON body", "/oauth2/v3/token", good, "application/json", 400, "invalid_request", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.ctype
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			r := e.do(req{path: tt.path, body: tt.form.Encode(), token: "-", bot: "-", ctype: ct})
			wantStatus(t, r, tt.want)
			m := r.json(t)
			if tt.wantError != "" {
				if m["error"] != tt.wantError || m["error_description"] == "" {
					t.Fatalf("body %s, want error %s", r.body, tt.wantError)
				}
				return
			}
			if m["token_type"] != "Bearer" || m["expires_in"] != tt.wantTTL || m["access_token"] == "" {
				t.Fatalf("body %s", r.body)
			}
			tok := m["access_token"].(string)
			wantStatus(t, e.do(req{path: "/v2/bot/info", method: "GET", token: tok}), 200)
		})
	}
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	e := setup(t)
	stateless := e.issueToken()
	sl := e.token("/v2/oauth/accessToken", url.Values{"grant_type": {"client_credentials"}, "client_id": {testChannel}, "client_secret": {testSecret}})
	shortLived := sl.json(t)["access_token"].(string)
	info := func(tok string) resp { return e.do(req{method: "GET", path: "/v2/bot/info", token: tok}) }
	steps := []struct {
		advance        time.Duration
		statelessWant  int
		shortLivedWant int
	}{
		{0, 200, 200},
		{15*time.Minute - time.Millisecond, 200, 200},
		{time.Millisecond, 401, 200}, // 15 min: the stateless token expired
		{30*24*time.Hour - 15*time.Minute - time.Millisecond, 401, 200},
		{time.Millisecond, 401, 401}, // 30 days
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		a, b := info(stateless), info(shortLived)
		if a.status != s.statelessWant || b.status != s.shortLivedWant {
			t.Fatalf("step %d: stateless %d short-lived %d; want %d %d", i, a.status, b.status, s.statelessWant, s.shortLivedWant)
		}
		if a.status == 401 && a.message(t) != msgAuthFailed {
			t.Fatalf("401 body %s", a.body)
		}
	}
	if got := e.report().Totals.Unauthorized; got != 4 {
		t.Fatalf("Unauthorized %d, want 4", got)
	}
}

func TestShortLivedTokensKeepThirty(t *testing.T) {
	t.Parallel()
	e := setup(t)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {testChannel}, "client_secret": {testSecret}}
	var toks []string
	for i := 0; i < 31; i++ {
		r := e.token("/v2/oauth/accessToken", form)
		wantStatus(t, r, 200)
		toks = append(toks, r.json(t)["access_token"].(string))
	}
	wantStatus(t, e.do(req{method: "GET", path: "/v2/bot/info", token: toks[0]}), 401)
	wantStatus(t, e.do(req{method: "GET", path: "/v2/bot/info", token: toks[1]}), 200)
	wantStatus(t, e.do(req{method: "GET", path: "/v2/bot/info", token: toks[30]}), 200)
	if ks := e.key("", EPAccessToken); ks.Accepted != 31 || ks.Received != 31 {
		t.Fatalf("access_token key %+v", ks)
	}
}

func TestAuthFailures(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tok := e.issueToken()
	tampered := tok[:len(tok)-2] + "AA"
	if tampered == tok {
		tampered = tok[:len(tok)-2] + "BB"
	}
	tests := []struct {
		name    string
		headers map[string]string
		token   string
		want    int
		message string
	}{
		{"no header", nil, "-", 401, msgAuthRequired},
		{"basic scheme", map[string]string{"Authorization": "Basic abc"}, "-", 401, msgAuthRequired},
		{"unknown bearer", nil, "not-a-token", 401, msgAuthFailed},
		{"tampered token", nil, tampered, 401, msgAuthFailed},
		{"static token", nil, "", 200, ""},
		{"issued token", nil, tok, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(req{path: "/v2/bot/message/push", body: pushBody(userU, tt.name), token: tt.token, headers: tt.headers})
			wantStatus(t, r, tt.want)
			if tt.message != "" && r.message(t) != tt.message {
				t.Fatalf("message %q, want %q", r.message(t), tt.message)
			}
		})
	}
}

func TestBotHeader(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) {
		c.Channels = append(c.Channels, Channel{ID: "222", Secret: "s2", Bots: []string{botC}, StaticTokens: []string{"other"}})
	})
	if err := e.cli.Detach(context.Background(), testChannel, botB); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		token     string
		bot       string
		want      int
		violation bool
	}{
		{"attached", "", botA, 200, false},
		{"missing", "", "-", 400, false},
		{"malformed", "", "U123", 400, false},
		{"upper case", "", strings.ToUpper(botA), 400, false},
		{"not attached to this channel", "", botC, 403, false},
		{"other channel's bot", "other", botA, 403, false},
		{"detached", "", botB, 403, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(req{path: "/v2/bot/message/push", body: pushBody(userU, tt.name), token: tt.token, bot: tt.bot})
			wantStatus(t, r, tt.want)
		})
	}
	if ks := e.key(botB, EPPush); ks.ContractViolations != 1 || ks.Received != 1 || ks.Accepted != 0 {
		t.Fatalf("detached bot key %+v", ks)
	}
	r := e.report()
	if r.Totals.Unattributed != 5 || len(r.ContractViolations) != 1 || !strings.Contains(r.ContractViolations[0].Reason, "detached") {
		t.Fatalf("totals %+v violations %+v", r.Totals, r.ContractViolations)
	}
}

func TestCustomBotHeader(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *Config) { c.BotHeader = "X-Module-Bot" })
	r := e.push(pushBody(userU, "x"), "")
	wantStatus(t, r, 400)
	if !strings.Contains(r.message(t), "X-Module-Bot") {
		t.Fatalf("message %q does not name the header", r.message(t))
	}
	wantStatus(t, e.do(req{path: "/v2/bot/message/push", body: pushBody(userU, "x"), bot: "-",
		headers: map[string]string{"X-Module-Bot": botA}}), 200)
}
