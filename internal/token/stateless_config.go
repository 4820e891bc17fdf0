package token

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"
)

// DefaultBaseURL is LINE's API host, which serves /oauth2/v3/token.
const DefaultBaseURL = "https://api.line.me"

// DefaultTimeout bounds every token request.
const DefaultTimeout = 10 * time.Second

// StatelessConfig configures a Stateless provider.
type StatelessConfig struct {
	// BaseURL is the token endpoint's host; default DefaultBaseURL. Tests and
	// load tests point it at a fake (LINE forbids load tests against itself).
	BaseURL string
	// Credentials maps module channel ID -> channel secret.
	Credentials map[string]string
	// Timeout bounds each token request; default DefaultTimeout.
	Timeout time.Duration
	// RefreshBefore is how long before expiry a token is replaced. Zero means
	// a fifth of the token's life (3 min for LINE's 15-min tokens), which
	// adapts if LINE changes expires_in. It is capped at half the life so a
	// short-lived token is not re-fetched on every call.
	RefreshBefore time.Duration
	// HTTPClient, if set, is used for token requests (a copy, with redirects
	// refused). Default: a client on http.DefaultTransport.
	HTTPClient *http.Client
	// Now, if set, replaces time.Now (tests).
	Now func() time.Time
}

// Validate reports the first invalid field by name.
func (c StatelessConfig) Validate() error {
	if c.BaseURL != "" {
		if err := validateBaseURL(c.BaseURL); err != nil {
			return fmt.Errorf("token: BaseURL: %w", err)
		}
	}
	if len(c.Credentials) == 0 {
		return errors.New("token: Credentials: at least one channel required")
	}
	ids := make([]string, 0, len(c.Credentials))
	for id := range c.Credentials {
		ids = append(ids, id)
	}
	sort.Strings(ids) // report the same field on every run
	for _, id := range ids {
		if id == "" {
			return errors.New("token: Credentials: empty channel ID")
		}
		if c.Credentials[id] == "" {
			return fmt.Errorf("token: Credentials[%q]: empty secret", id)
		}
	}
	if c.Timeout < 0 {
		return fmt.Errorf("token: Timeout: must not be negative, got %s", c.Timeout)
	}
	if c.RefreshBefore < 0 {
		return fmt.Errorf("token: RefreshBefore: must not be negative, got %s", c.RefreshBefore)
	}
	return nil
}

func (c StatelessConfig) withDefaults() StatelessConfig {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func validateBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme must be http or https, got %q", s)
	}
	if u.Host == "" {
		return fmt.Errorf("host missing in %q", s)
	}
	return nil
}
