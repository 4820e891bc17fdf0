package token

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/linedispatch/linedispatch/internal/lineapi"
)

// maxTokenBody caps what is read from the token endpoint: its answers are a
// few hundred bytes; anything bigger is not LINE.
const maxTokenBody = 64 << 10

// tokenResponse is the body of a successful /oauth2/v3/token call.
type tokenResponse struct {
	TokenType   string `json:"token_type"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// fetch asks LINE for a new stateless token. Errors name the channel and
// wrap *lineapi.TokenError (non-2xx) or the transport error; they never
// contain the secret or a token.
func (s *Stateless) fetch(ctx context.Context, channel, secret string) (string, time.Duration, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {channel},
		"client_secret": {secret},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("token: channel %s: %w", channel, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := s.client.Do(req)
	if err != nil {
		// *url.Error names method and URL only; the secret is in the body.
		return "", 0, fmt.Errorf("token: channel %s: %w", channel, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return "", 0, fmt.Errorf("token: channel %s: reading response: %w", channel, err)
	}

	if resp.StatusCode/100 != 2 {
		te := lineapi.TokenErrorFromResponse(resp, body)
		// Paranoia: a misbehaving endpoint or proxy might echo the form.
		te.Description = strings.ReplaceAll(te.Description, secret, "[redacted]")
		te.Code = strings.ReplaceAll(te.Code, secret, "[redacted]")
		return "", 0, fmt.Errorf("token: channel %s: %w", channel, te)
	}

	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		// The JSON error may quote the body, which may hold a token: drop it.
		return "", 0, fmt.Errorf("token: channel %s: %w", channel, errMalformed)
	}
	switch {
	case tr.AccessToken == "":
		return "", 0, fmt.Errorf("token: channel %s: %w: no access_token", channel, errMalformed)
	case tr.ExpiresIn <= 0:
		return "", 0, fmt.Errorf("token: channel %s: %w: expires_in %d", channel, errMalformed, tr.ExpiresIn)
	case tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "Bearer"):
		return "", 0, fmt.Errorf("token: channel %s: %w: token_type %q", channel, errMalformed, tr.TokenType)
	}
	return tr.AccessToken, time.Duration(tr.ExpiresIn) * time.Second, nil
}

// errMalformed marks a 2xx token response that is not what LINE documents.
var errMalformed = errors.New("malformed token response")
