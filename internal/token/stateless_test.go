package token

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

const (
	testChannel = "1234567890"
	testSecret  = "s3cr3t-d0-not-leak"
)

// fakeClock is an injectable Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tokenServer plays LINE's /oauth2/v3/token.
type tokenServer struct {
	*httptest.Server
	mu        sync.Mutex
	fetches   int
	lastForm  map[string]string
	lastCType string
	expiresIn int
	// handle, if set, answers instead of the default success.
	handle func(w http.ResponseWriter, r *http.Request) bool
}

func (ts *tokenServer) count() int { ts.mu.Lock(); defer ts.mu.Unlock(); return ts.fetches }

func (ts *tokenServer) setHandle(h func(w http.ResponseWriter, r *http.Request) bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.handle = h
}

func newTokenServer(t *testing.T) *tokenServer {
	t.Helper()
	ts := &tokenServer{expiresIn: 900}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/oauth2/v3/token" {
			http.NotFound(w, r)
			return
		}
		_ = r.ParseForm()
		ts.mu.Lock()
		ts.fetches++
		n := ts.fetches
		ts.lastForm = map[string]string{}
		for k := range r.PostForm {
			ts.lastForm[k] = r.PostForm.Get(k)
		}
		ts.lastCType = r.Header.Get("Content-Type")
		handle, exp := ts.handle, ts.expiresIn
		ts.mu.Unlock()
		if handle != nil && handle(w, r) {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_type": "Bearer", "access_token": fmt.Sprintf("tok-%s-%d", r.PostForm.Get("client_id"), n), "expires_in": exp,
		})
	}))
	t.Cleanup(ts.Close)
	return ts
}

type fixture struct {
	srv   *tokenServer
	clock *fakeClock
	p     *Stateless
}

func setup(t *testing.T, mutate func(*StatelessConfig)) *fixture {
	t.Helper()
	srv := newTokenServer(t)
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := StatelessConfig{
		BaseURL:     srv.URL,
		Credentials: map[string]string{testChannel: testSecret, "42": "other-secret"},
		Now:         clock.Now,
		Timeout:     5 * time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := NewStateless(cfg, zerolog.Nop())
	if err != nil {
		t.Fatalf("NewStateless: %v", err)
	}
	return &fixture{srv: srv, clock: clock, p: p}
}

func (f *fixture) token(t *testing.T) string {
	t.Helper()
	tok, err := f.p.Token(context.Background(), testChannel)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	return tok
}

// waitFetch waits for a background refresh of channel, if one is running.
func (f *fixture) waitFetch(t *testing.T, channel string) {
	t.Helper()
	e := f.p.entries[channel]
	e.mu.Lock()
	c := e.inflight
	e.mu.Unlock()
	if c != nil {
		<-c.done
	}
}

func TestStatelessCachesPerChannel(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	if got := f.token(t); got != "tok-1234567890-1" {
		t.Fatalf("first token = %q", got)
	}
	f.clock.Advance(time.Minute)
	if got := f.token(t); got != "tok-1234567890-1" {
		t.Fatalf("cached token = %q", got)
	}
	if got, _ := f.p.Token(context.Background(), "42"); got != "tok-42-2" {
		t.Fatalf("other channel token = %q", got)
	}
	if n := f.srv.count(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}
	f.srv.mu.Lock()
	defer f.srv.mu.Unlock()
	want := map[string]string{"grant_type": "client_credentials", "client_id": "42", "client_secret": "other-secret"}
	if fmt.Sprint(f.srv.lastForm) != fmt.Sprint(want) || f.srv.lastCType != "application/x-www-form-urlencoded" {
		t.Fatalf("form = %v (%s), want %v", f.srv.lastForm, f.srv.lastCType, want)
	}
}

func TestStatelessRefreshBeforeExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		refreshBefore time.Duration
		wantRefreshAt time.Duration // after the first fetch, for a 900 s token
	}{
		{"default fifth of life", 0, 720 * time.Second},
		{"explicit 2 min", 2 * time.Minute, 780 * time.Second},
		{"capped at half life", time.Hour, 450 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, func(c *StatelessConfig) { c.RefreshBefore = tt.refreshBefore })
			first := f.token(t)
			f.clock.Advance(tt.wantRefreshAt - time.Second)
			if got := f.token(t); got != first || f.srv.count() != 1 {
				t.Fatalf("before refresh point: token %q, fetches %d", got, f.srv.count())
			}
			f.clock.Advance(2 * time.Second)
			// Still usable: served at once while the refresh runs behind.
			if got := f.token(t); got != first {
				t.Fatalf("in refresh window: token %q, want old %q", got, first)
			}
			f.waitFetch(t, testChannel)
			if got := f.token(t); got == first || f.srv.count() != 2 {
				t.Fatalf("after refresh: token %q, fetches %d", got, f.srv.count())
			}
		})
	}
}

func TestStatelessExpiredTokenBlocksForFresh(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	first := f.token(t)
	f.clock.Advance(899 * time.Second) // past the usable margin
	if got := f.token(t); got == first {
		t.Fatalf("nearly expired token served: %q", got)
	}
}

func TestStatelessConcurrentCallersShareOneFetch(t *testing.T) {
	t.Parallel()
	const callers = 50
	f := setup(t, nil)
	release := make(chan struct{})
	f.srv.setHandle(func(http.ResponseWriter, *http.Request) bool { <-release; return false })
	var joined sync.WaitGroup
	joined.Add(callers - 1)
	f.p.testHookJoin = joined.Done

	tokens := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { tokens[i], errs[i] = f.p.Token(context.Background(), testChannel) })
	}
	joined.Wait() // every caller but the first is waiting on the same fetch
	close(release)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || tokens[i] != "tok-1234567890-1" {
			t.Fatalf("caller %d: %q, %v", i, tokens[i], errs[i])
		}
	}
	if n := f.srv.count(); n != 1 {
		t.Fatalf("fetches = %d, want 1", n)
	}
}

func TestStatelessInvalidate(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	first := f.token(t)
	f.p.Invalidate(testChannel, first)
	second := f.token(t)
	if second == first {
		t.Fatalf("Invalidate did not drop %q", first)
	}
	f.p.Invalidate(testChannel, first) // late 401 of an old request
	f.p.Invalidate("unknown", second)
	if got := f.token(t); got != second || f.srv.count() != 2 {
		t.Fatalf("stale Invalidate dropped the new token: %q, fetches %d", got, f.srv.count())
	}
}
