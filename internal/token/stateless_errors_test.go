package token

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/linedispatch/linedispatch/internal/lineapi"
)

func TestStatelessInvalidClient(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.srv.setHandle(func(w http.ResponseWriter, r *http.Request) bool {
		// A hostile or broken endpoint echoing the secret.
		lineapi.WriteTokenError(w, 400, "invalid_client", "bad client_secret "+r.PostForm.Get("client_secret"))
		return true
	})
	_, err := f.p.Token(context.Background(), testChannel)
	var te *lineapi.TokenError
	if !errors.As(err, &te) || te.Status != 400 || te.Code != "invalid_client" || te.Temporary() {
		t.Fatalf("err = %v, want *lineapi.TokenError invalid_client", err)
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Fatalf("error leaks the secret: %v", err)
	}
	if !strings.Contains(err.Error(), testChannel) {
		t.Fatalf("error does not name the channel: %v", err)
	}
	// Remembered for a moment: no hammering of the token endpoint.
	if _, err2 := f.p.Token(context.Background(), testChannel); !errors.As(err2, &te) || f.srv.count() != 1 {
		t.Fatalf("second call: %v, fetches %d", err2, f.srv.count())
	}
	f.clock.Advance(failureHold)
	f.srv.setHandle(nil)
	if got := f.token(t); got != "tok-1234567890-2" {
		t.Fatalf("after hold: %q", got)
	}
}

func TestStatelessServesOldTokenWhileRefreshFails(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	first := f.token(t)
	f.srv.setHandle(func(w http.ResponseWriter, _ *http.Request) bool {
		w.WriteHeader(http.StatusInternalServerError)
		return true
	})
	f.clock.Advance(800 * time.Second) // in the refresh window, still usable
	if got := f.token(t); got != first {
		t.Fatalf("got %q, want old token", got)
	}
	f.waitFetch(t, testChannel)
	if got := f.token(t); got != first {
		t.Fatalf("after failed refresh: %q, want old token", got)
	}
	f.clock.Advance(80 * time.Second) // 880 s: inside the last 30 s
	_, err := f.p.Token(context.Background(), testChannel)
	var te *lineapi.TokenError
	if !errors.As(err, &te) || !te.Temporary() {
		t.Fatalf("err = %v, want temporary TokenError", err)
	}
}

func TestStatelessTimeout(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *StatelessConfig) { c.Timeout = 50 * time.Millisecond })
	f.srv.setHandle(func(_ http.ResponseWriter, r *http.Request) bool { <-r.Context().Done(); return true })
	_, err := f.p.Token(context.Background(), testChannel)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestStatelessCallerCancelDoesNotAbortFetch(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	arrived, release := make(chan struct{}), make(chan struct{})
	f.srv.setHandle(func(http.ResponseWriter, *http.Request) bool { close(arrived); <-release; return false })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := f.p.Token(ctx, testChannel); errc <- err }()
	<-arrived
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	f.srv.setHandle(nil)
	close(release)
	if got := f.token(t); got != "tok-1234567890-1" || f.srv.count() != 1 {
		t.Fatalf("got %q, fetches %d", got, f.srv.count())
	}
}

func TestStatelessBadResponses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"no access_token", 200, `{"token_type":"Bearer","expires_in":900}`, errMalformed},
		{"no expires_in", 200, `{"token_type":"Bearer","access_token":"leaky-token"}`, errMalformed},
		{"wrong type", 200, `{"token_type":"MAC","access_token":"leaky-token","expires_in":900}`, errMalformed},
		{"not json", 200, `access_token=leaky-token`, errMalformed},
		{"redirect refused", 307, ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, nil)
			f.srv.setHandle(func(w http.ResponseWriter, _ *http.Request) bool {
				if tt.status == 307 {
					w.Header().Set("Location", "http://elsewhere.invalid/steal")
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
				return true
			})
			_, err := f.p.Token(context.Background(), testChannel)
			if err == nil || strings.Contains(err.Error(), "leaky-token") || strings.Contains(err.Error(), testSecret) {
				t.Fatalf("err = %v", err)
			}
			var te *lineapi.TokenError
			if tt.want != nil && !errors.Is(err, tt.want) || tt.want == nil && (!errors.As(err, &te) || te.Status != 307) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestStatelessUnknownChannel(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	if _, err := f.p.Token(context.Background(), "999"); !errors.Is(err, ErrUnknownChannel) {
		t.Fatalf("err = %v", err)
	}
}
