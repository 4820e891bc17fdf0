package sender_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/lineapi"
	"github.com/linedispatch/linedispatch/internal/sender"
	"github.com/linedispatch/linedispatch/internal/token"
)

// tokenEndpoint plays /oauth2/v3/token, issuing tok-1, tok-2, … or failing.
func tokenEndpoint(t *testing.T, fail bool) (*token.Stateless, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		if fail {
			lineapi.WriteTokenError(w, 400, "invalid_client", "invalid client_secret")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "access_token": fmt.Sprintf("tok-%d", i), "expires_in": 900})
	}))
	t.Cleanup(srv.Close)
	p, err := token.NewStateless(token.StatelessConfig{BaseURL: srv.URL, Credentials: map[string]string{testChannel: "secret"}}, zerolog.Nop())
	if err != nil {
		t.Fatalf("NewStateless: %v", err)
	}
	return p, &n
}

// unauthorizedFor answers 401 to the listed bearer tokens and 200 otherwise.
func unauthorizedFor(tokens ...string) http.HandlerFunc {
	bad := map[string]bool{}
	for _, t := range tokens {
		bad["Bearer "+t] = true
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if bad[r.Header.Get("Authorization")] {
			lineapi.WriteError(w, 401, "Authentication failed due to the following reason: invalid token. Confirm that the access token in the authorization header is valid.")
			return
		}
		_, _ = w.Write([]byte(`{"sentMessages":[{"id":"1","quoteToken":"q"}]}`))
	}
}

func TestSend401(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		stateless    bool
		handler      http.HandlerFunc
		wantClass    sender.Class
		wantCalls    int
		wantFetches  int32
		wantBearers  []string
		wantErrState int // 0: no error, else the *lineapi.Error status
	}{
		{"401 then 200 after token refresh", true, unauthorizedFor("tok-1"), sender.ClassSent, 2, 2,
			[]string{"Bearer tok-1", "Bearer tok-2"}, 0},
		{"401 twice is a reject", true, unauthorizedFor("tok-1", "tok-2"), sender.ClassReject, 2, 2,
			[]string{"Bearer tok-1", "Bearer tok-2"}, 401},
		{"static token is not repeated", false, unauthorizedFor(staticToken), sender.ClassReject, 1, 0,
			[]string{"Bearer " + staticToken}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var tokens token.Provider
			fetches := new(atomic.Int32)
			if tt.stateless {
				tokens, fetches = tokenEndpoint(t, false)
			}
			f := setup(t, fixtureOpts{handler: tt.handler, tokens: tokens})
			req := request(t, intent.Push)
			resp, err := f.sender.Send(context.Background(), req)
			if c := sender.Classify(resp, err); c != tt.wantClass {
				t.Fatalf("Classify = %v, want %v (err %v)", c, tt.wantClass, err)
			}
			var le *lineapi.Error
			if tt.wantErrState != 0 && (!errors.As(err, &le) || le.Status != tt.wantErrState) {
				t.Fatalf("err = %v, want *lineapi.Error %d", err, tt.wantErrState)
			}
			reqs := f.line.requests()
			if len(reqs) != tt.wantCalls || fetches.Load() != tt.wantFetches {
				t.Fatalf("LINE calls %d (want %d), token fetches %d (want %d)", len(reqs), tt.wantCalls, fetches.Load(), tt.wantFetches)
			}
			for i, r := range reqs {
				if r.Header.Get("Authorization") != tt.wantBearers[i] {
					t.Errorf("call %d: Authorization %q, want %q", i, r.Header.Get("Authorization"), tt.wantBearers[i])
				}
				// The repeat must be the identical request under the same key.
				if r.Header.Get("X-Line-Retry-Key") != req.RetryKey || r.Body != testBody || r.Header.Get(botHeader) != testBot {
					t.Errorf("call %d differs from the request: %+v", i, r)
				}
			}
		})
	}
}

func TestSendTokenFailures(t *testing.T) {
	t.Parallel()
	t.Run("token endpoint refuses the credentials", func(t *testing.T) {
		t.Parallel()
		tokens, _ := tokenEndpoint(t, true)
		f := setup(t, fixtureOpts{tokens: tokens})
		resp, err := f.sender.Send(context.Background(), request(t, intent.Push))
		var te *lineapi.TokenError
		if !errors.As(err, &te) || te.Code != "invalid_client" {
			t.Fatalf("err = %v, want *lineapi.TokenError", err)
		}
		// A channel-wide configuration fault: hold the intent, don't dead-letter it.
		if c := sender.Classify(resp, err); c != sender.ClassRetry {
			t.Fatalf("Classify = %v", c)
		}
		if n := len(f.line.requests()); n != 0 {
			t.Fatalf("LINE saw %d requests", n)
		}
	})
	t.Run("unknown channel", func(t *testing.T) {
		t.Parallel()
		f := setup(t, fixtureOpts{})
		req := request(t, intent.Push)
		req.Channel = "999"
		resp, err := f.sender.Send(context.Background(), req)
		if !errors.Is(err, token.ErrUnknownChannel) || sender.Classify(resp, err) != sender.ClassReject {
			t.Fatalf("err = %v, class %v", err, sender.Classify(resp, err))
		}
	})
}
