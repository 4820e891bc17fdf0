// Package token supplies module-channel access tokens to the sender, keyed by
// module channel ID.
//
// Module channels cannot have long-lived tokens (LINE-API.md §5). Stateless
// tokens (15 minutes, unlimited in number, not revocable) suit many pods that
// each mint their own, so Stateless is the production provider; Static serves
// tests and setups where an operator injects tokens.
package token

import (
	"context"
	"errors"
	"fmt"
)

// Provider hands out the bearer token for a module channel.
//
// Implementations are safe for concurrent use. They never log or return the
// token or secret inside an error.
type Provider interface {
	// Token returns a token for channel that is valid now.
	Token(ctx context.Context, channel string) (string, error)
	// Invalidate reports that LINE answered 401 to token. The next Token call
	// fetches a fresh one, unless token is no longer the cached one (another
	// caller already replaced it): many requests in flight with the same
	// expired token then cause one fetch, not one each.
	Invalidate(channel, token string)
}

// ErrUnknownChannel is returned (wrapped) for a channel the provider has no
// token or credentials for. It is permanent for the request: retrying cannot
// help until the configuration changes.
var ErrUnknownChannel = errors.New("token: unknown channel")

// Static serves fixed tokens, e.g. ones an operator issued by hand or a test
// server accepts. It cannot refresh: Invalidate is a no-op, so a 401 with a
// static token surfaces to the caller instead of looping.
type Static struct {
	tokens map[string]string
}

var _ Provider = (*Static)(nil)

// NewStatic returns a provider serving tokens (channel ID -> token). The map
// is copied.
func NewStatic(tokens map[string]string) *Static {
	m := make(map[string]string, len(tokens))
	for k, v := range tokens {
		m[k] = v
	}
	return &Static{tokens: m}
}

// Token returns the channel's fixed token.
func (s *Static) Token(_ context.Context, channel string) (string, error) {
	tok, ok := s.tokens[channel]
	if !ok || tok == "" {
		return "", fmt.Errorf("%w %q", ErrUnknownChannel, channel)
	}
	return tok, nil
}

// Invalidate does nothing: a static token cannot be replaced.
func (s *Static) Invalidate(string, string) {}
