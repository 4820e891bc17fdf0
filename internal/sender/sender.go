package sender

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/lineapi"
	"github.com/linedispatch/linedispatch/internal/retrykey"
	"github.com/linedispatch/linedispatch/internal/token"
)

// Request is one LINE call to make.
type Request struct {
	// Channel is the module channel ID; it selects the access token.
	Channel string
	// Bot is the target bot's user ID, sent in Config.BotHeader.
	Bot string
	// Endpoint selects method and path.
	Endpoint intent.Endpoint
	// Body is the JSON request body, sent verbatim and never modified, so a
	// retry sends exactly the same bytes.
	Body []byte
	// RetryKey is the X-Line-Retry-Key: required for the endpoints that take
	// one (push, multicast, narrowcast, broadcast), forbidden for the others.
	RetryKey string
	// Wrote, when set, is called with the time each HTTP request of this
	// Send was written to the connection (all of it, flushed), from the
	// transport's goroutine. LINE counts a request when it arrives, so this
	// is the departure a rate limiter should account, not when Send was
	// called.
	Wrote func(time.Time)
	// Answered, when set, is called with the time the first byte of each
	// answer of this Send was read, from the transport's goroutine. With
	// Wrote it gives the request's round trip, which tells a rate limiter
	// whether LINE may have counted the request later than it left.
	Answered func(time.Time)
}

// Response is LINE's answer to a request it accepted: 2xx, or 409 (the retry
// key was accepted before, i.e. the request was already delivered).
type Response struct {
	Status            int
	RequestID         string // X-Line-Request-Id
	AcceptedRequestID string // X-Line-Accepted-Request-Id (409 only)
	Conflict          bool   // 409: delivered by an earlier attempt
	Body              []byte // e.g. push's {"sentMessages":[…]}; at most maxResponseBody bytes
}

// Sender calls LINE. It is safe for concurrent use; one Sender (one
// connection pool) per process is the intended use.
type Sender struct {
	cfg       Config
	tokens    token.Provider
	log       zerolog.Logger
	transport *http.Transport
	client    *http.Client
	urls      [len(routes)]string
	botHeader string // canonical form, so the header map needs no rewriting
	metrics   *Metrics
}

// New validates cfg and returns a Sender that takes tokens from tokens.
func New(cfg Config, tokens token.Provider, log zerolog.Logger) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if tokens == nil {
		return nil, fmt.Errorf("sender: token provider: required")
	}
	cfg = cfg.withDefaults()
	t := newTransport(cfg)
	s := &Sender{
		cfg:       cfg,
		tokens:    tokens,
		log:       log.With().Str("component", "sender").Logger(),
		transport: t,
		client: &http.Client{
			Transport: t,
			// LINE does not redirect; following one would re-send the bearer
			// token and body somewhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		botHeader: textproto.CanonicalMIMEHeaderKey(cfg.BotHeader),
		metrics:   cfg.Metrics,
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	for i, r := range routes {
		s.urls[i] = base + r.path
	}
	return s, nil
}

// newTransport is tuned for many concurrent requests to one host: every idle
// connection is kept (Go's default keeps 2 per host, which under load means
// a new TCP+TLS handshake for most requests).
func newTransport(cfg Config) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxConnsPerHost:       cfg.MaxConnsPerHost,
		MaxIdleConns:          cfg.MaxConnsPerHost,
		MaxIdleConnsPerHost:   cfg.MaxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ExpectContinueTimeout: time.Second,
	}
}

// Close releases idle connections.
func (s *Sender) Close() { s.transport.CloseIdleConnections() }

// Send makes one attempt of req. Results:
//   - 2xx: (*Response, nil).
//   - 409 on a keyed request: (*Response{Conflict: true}, nil) — delivered.
//   - 401: the token is invalidated and the request repeated once with a
//     fresh token (LINE did not accept the first one, so this is no
//     duplicate); a second 401 is returned as *lineapi.Error.
//   - other non-2xx: *lineapi.Error.
//   - a refused request: ErrInvalidRequest; no call is made.
//   - transport failure: the net/http error, wrapped with ErrTimeout (own
//     per-attempt timeout) or ErrCanceled (ctx ended) where that applies.
//
// Use Classify to decide what to do next.
func (s *Sender) Send(ctx context.Context, req Request) (*Response, error) {
	ri, ok := routeIndex(req.Endpoint)
	if !ok {
		return nil, invalid(req.Endpoint, "unsupported endpoint")
	}
	if err := checkRequest(&req); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sender: %s: %w: %w", req.Endpoint, ErrCanceled, err)
	}
	tok, err := s.token(ctx, &req)
	if err != nil {
		return nil, err
	}
	resp, err := s.attempt(ctx, ri, &req, tok)
	if le, ok := err.(*lineapi.Error); !ok || le.Status != http.StatusUnauthorized {
		return resp, err
	}

	s.tokens.Invalidate(req.Channel, tok)
	fresh, terr := s.token(ctx, &req)
	if terr != nil {
		return nil, terr
	}
	if fresh == tok {
		// The provider cannot replace it (e.g. a static token): a repeat
		// would only burn rate limit on a second 401.
		return nil, err
	}
	s.log.Info().Str("channel", req.Channel).Str("endpoint", string(req.Endpoint)).Msg("401 from LINE; repeating once with a fresh token")
	return s.attempt(ctx, ri, &req, fresh)
}

func (s *Sender) token(ctx context.Context, req *Request) (string, error) {
	tok, err := s.tokens.Token(ctx, req.Channel)
	switch {
	case err == nil && tok == "":
		return "", fmt.Errorf("sender: %s: token provider returned an empty token for channel %s", req.Endpoint, req.Channel)
	case err == nil:
		return tok, nil
	case ctx.Err() != nil:
		return "", fmt.Errorf("sender: %s: %w: %w", req.Endpoint, ErrCanceled, err)
	default:
		return "", fmt.Errorf("sender: %s: access token: %w", req.Endpoint, err)
	}
}

// checkRequest enforces LINE's retry-key rule (LINE-API.md §3): the key goes
// to the four endpoints that take one, and only there. A key elsewhere gets a
// 400; a keyed endpoint without a key can never be retried safely.
func checkRequest(req *Request) error {
	e := req.Endpoint
	switch {
	case req.Channel == "":
		return invalid(e, "channel required")
	case req.Bot == "":
		return invalid(e, "bot required")
	case !validHeaderValue(req.Bot):
		return invalid(e, "bot %q contains control characters", req.Bot)
	case len(req.Body) == 0:
		return invalid(e, "body required")
	}
	if !e.TakesRetryKey() {
		if req.RetryKey != "" {
			return invalid(e, "endpoint takes no %s (LINE answers 400)", retrykey.Header)
		}
		return nil
	}
	if req.RetryKey == "" {
		return invalid(e, "%s required: a first attempt without one can never be retried safely", retrykey.Header)
	}
	if err := retrykey.Validate(req.RetryKey); err != nil {
		return invalid(e, "%v", err)
	}
	return nil
}
