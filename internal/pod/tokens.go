package pod

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/config"
	"github.com/linedispatch/linedispatch/internal/token"
)

// channelTokens serves each channel from its own kind of provider: a static
// token where one is configured, stateless tokens issued from the secret
// otherwise.
type channelTokens map[string]token.Provider

func newTokens(cfg *config.Config, log zerolog.Logger) (channelTokens, error) {
	static, secrets := map[string]string{}, map[string]string{}
	for _, ch := range cfg.LINE.Channels {
		if ch.Token != "" {
			static[ch.ID] = ch.Token
		} else {
			secrets[ch.ID] = ch.Secret
		}
	}
	out := channelTokens{}
	if len(static) > 0 {
		s := token.NewStatic(static)
		for id := range static {
			out[id] = s
		}
	}
	if len(secrets) > 0 {
		s, err := token.NewStateless(token.StatelessConfig{BaseURL: cfg.LINE.BaseURL, Credentials: secrets, Timeout: cfg.LINE.Timeout}, log)
		if err != nil {
			return nil, err
		}
		for id := range secrets {
			out[id] = s
		}
	}
	return out, nil
}

func (t channelTokens) Token(ctx context.Context, channel string) (string, error) {
	p, ok := t[channel]
	if !ok {
		return "", fmt.Errorf("%w %q (add it to line.channels)", token.ErrUnknownChannel, channel)
	}
	return p.Token(ctx, channel)
}

func (t channelTokens) Invalidate(channel, tok string) {
	if p, ok := t[channel]; ok {
		p.Invalidate(channel, tok)
	}
}
