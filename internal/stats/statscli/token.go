package statscli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// staticToken serves a token given on the command line or in the
// environment.
func staticToken(tok string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return tok, nil }
}

// statelessToken issues stateless channel access tokens (client
// credentials, 15 minutes, LINE-API.md §5) and reissues them shortly before
// they expire: a reconcile with --insight runs for hours.
type statelessToken struct {
	base, channel, secret string
	client                *http.Client

	mu      sync.Mutex
	tok     string
	expires time.Time
}

func (s *statelessToken) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != "" && time.Until(s.expires) > time.Minute {
		return s.tok, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.channel}, "client_secret": {s.secret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/oauth2/v3/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("issue token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var v struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &v)
	if resp.StatusCode != http.StatusOK || v.AccessToken == "" {
		// Never include the secret or the body verbatim: it may echo the form.
		return "", fmt.Errorf("issue token: LINE answered %d %s %s", resp.StatusCode, v.Error, v.Description)
	}
	if v.ExpiresIn <= 0 {
		v.ExpiresIn = 900
	}
	s.tok, s.expires = v.AccessToken, time.Now().Add(time.Duration(v.ExpiresIn)*time.Second)
	return s.tok, nil
}
