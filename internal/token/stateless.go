package token

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// failureHold is how long a failed fetch is remembered. Without it, a token
// endpoint that rejects us fast (invalid_client) would be asked again by
// every send, i.e. at the dispatcher's full request rate.
const failureHold = time.Second

// maxUsableMargin bounds how close to its expiry a cached token may still be
// handed out when a refresh fails: the request must reach LINE before the
// token dies.
const maxUsableMargin = 30 * time.Second

// Stateless issues stateless channel access tokens with the client
// credentials grant and caches one per channel.
//
// A token is replaced RefreshBefore its expiry. Until it is nearly expired the
// old token keeps being served while the refresh runs in the background, so a
// slow or failing token endpoint does not stall sends. Callers without a
// usable token wait for the fetch; concurrent callers share one fetch. The
// fetch runs detached from any caller's context (bounded by Timeout), so one
// caller giving up does not fail the others.
type Stateless struct {
	cfg     StatelessConfig
	url     string
	client  *http.Client
	log     zerolog.Logger
	entries map[string]*entry // fixed at construction: read without locking

	// testHookJoin, if set, runs when a caller joins a fetch already in
	// flight, so tests can prove callers share one fetch without sleeping.
	testHookJoin func()
}

var _ Provider = (*Stateless)(nil)

// entry is one channel's cache.
type entry struct {
	channel, secret string

	mu        sync.Mutex
	tok       string
	expires   time.Time // LINE's expiry, counted from when we asked
	refreshAt time.Time
	usable    time.Time // latest moment tok may still be served on refresh failure
	inflight  *call
	failErr   error // last fetch failure, served until failUntil
	failUntil time.Time
}

// call is one fetch that several callers may wait for.
type call struct {
	done chan struct{}
	tok  string
	err  error
}

// NewStateless validates cfg and returns a provider.
func NewStateless(cfg StatelessConfig, log zerolog.Logger) (*Stateless, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	client := &http.Client{}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		client = &c
	}
	// A redirect would make the client re-post the form, secret included,
	// to wherever the redirect points. LINE does not redirect this endpoint.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	s := &Stateless{
		cfg:     cfg,
		url:     strings.TrimRight(cfg.BaseURL, "/") + "/oauth2/v3/token",
		client:  client,
		log:     log.With().Str("component", "token").Logger(),
		entries: make(map[string]*entry, len(cfg.Credentials)),
	}
	for id, secret := range cfg.Credentials {
		s.entries[id] = &entry{channel: id, secret: secret}
	}
	return s, nil
}

// Token returns the cached token for channel, fetching a new one when there
// is none or it is due for refresh.
func (s *Stateless) Token(ctx context.Context, channel string) (string, error) {
	e := s.entries[channel]
	if e == nil {
		return "", fmt.Errorf("%w %q", ErrUnknownChannel, channel)
	}
	now := s.cfg.Now()

	e.mu.Lock()
	if e.tok != "" && now.Before(e.refreshAt) {
		tok := e.tok
		e.mu.Unlock()
		return tok, nil
	}
	if e.failErr != nil && now.Before(e.failUntil) {
		tok, err := e.fallback(now, e.failErr)
		e.mu.Unlock()
		return tok, err
	}
	c := e.inflight
	if c == nil {
		c = &call{done: make(chan struct{})}
		e.inflight = c
		go s.fetchInto(e, c)
	} else if s.testHookJoin != nil {
		s.testHookJoin()
	}
	if e.tok != "" && now.Before(e.usable) {
		// Due for refresh but still good: refresh in the background rather
		// than stall sends on a slow token endpoint.
		tok := e.tok
		e.mu.Unlock()
		return tok, nil
	}
	e.mu.Unlock()

	select {
	case <-c.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if c.err == nil {
		return c.tok, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fallback(s.cfg.Now(), c.err)
}

// fallback serves the cached token while it is still usable, else err.
// Called with e.mu held.
func (e *entry) fallback(now time.Time, err error) (string, error) {
	if e.tok != "" && now.Before(e.usable) {
		return e.tok, nil
	}
	return "", err
}

// Invalidate drops token if it is still the cached one for channel.
func (s *Stateless) Invalidate(channel, token string) {
	e := s.entries[channel]
	if e == nil || token == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tok != token {
		return // already replaced by a newer token
	}
	e.tok, e.expires, e.refreshAt, e.usable = "", time.Time{}, time.Time{}, time.Time{}
	// LINE just told us the token is bad: a remembered failure must not
	// delay the fetch that may fix it.
	e.failErr, e.failUntil = nil, time.Time{}
	s.log.Info().Str("channel", channel).Msg("access token invalidated after 401")
}

// fetchInto runs one fetch for e, stores the result and wakes the waiters.
func (s *Stateless) fetchInto(e *entry, c *call) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	start := s.cfg.Now()
	tok, life, err := s.fetch(ctx, e.channel, e.secret)

	e.mu.Lock()
	e.inflight = nil
	if err != nil {
		e.failErr, e.failUntil = err, s.cfg.Now().Add(failureHold)
		c.err = err
		s.log.Warn().Err(err).Str("channel", e.channel).Bool("serving_old_token", e.tok != "" && s.cfg.Now().Before(e.usable)).Msg("access token fetch failed")
	} else {
		e.tok, e.failErr, e.failUntil = tok, nil, time.Time{}
		e.expires = start.Add(life)
		e.refreshAt = e.expires.Add(-s.refreshBefore(life))
		e.usable = e.expires.Add(-min(maxUsableMargin, life/10))
		c.tok = tok
		s.log.Debug().Str("channel", e.channel).Dur("expires_in", life).Msg("access token fetched")
	}
	e.mu.Unlock()
	close(c.done)
}

// refreshBefore is how long before expiry a token of the given life is
// replaced.
func (s *Stateless) refreshBefore(life time.Duration) time.Duration {
	if s.cfg.RefreshBefore == 0 {
		return life / 5
	}
	return min(s.cfg.RefreshBefore, life/2)
}
