// Package sender makes one attempt of one LINE Messaging API request on behalf
// of a module channel and classifies the result. It owns no retry loop: every
// retry must take a rate-limit token again, so the dispatcher's lanes loop,
// using Classify and RetryConfig.
package sender

import (
	"errors"
	"fmt"
	"net/textproto"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/linedispatch/linedispatch/internal/retrykey"
)

// Defaults.
const (
	DefaultBaseURL         = "https://api.line.me"
	DefaultTimeout         = 10 * time.Second
	DefaultMaxConnsPerHost = 256
)

// Version is linedispatch's version in the default User-Agent. Set it with
// -ldflags "-X github.com/linedispatch/linedispatch/internal/sender.Version=v1.2.3";
// when unset, the module version from the build info is used.
var Version = ""

// Config configures a Sender.
type Config struct {
	// BaseURL is LINE's API host; default DefaultBaseURL. Tests and load
	// tests point it at the simulator: LINE forbids load tests against itself.
	BaseURL string
	// BotHeader is the name of the header that carries the target bot's user
	// ID. LINE discloses it to Marketplace partners only, so it is
	// configuration, never a constant. Required.
	BotHeader string
	// Timeout bounds each attempt (connect, send, wait, read); default
	// DefaultTimeout. A timed-out attempt is retried with the same key.
	Timeout time.Duration
	// MaxConnsPerHost caps connections to LINE; as many idle connections are
	// kept, so a steady load does not churn TCP/TLS handshakes. Default
	// DefaultMaxConnsPerHost.
	MaxConnsPerHost int
	// UserAgent defaults to "linedispatch/<version>".
	UserAgent string
	// Metrics, if set, records every attempt. The caller registers it.
	Metrics *Metrics
}

// reservedHeaders are set by the sender itself; a BotHeader naming one of
// them would silently overwrite it.
var reservedHeaders = map[string]bool{
	"Authorization": true, "Content-Type": true, "Content-Length": true,
	"User-Agent": true, "Host": true, "Accept-Encoding": true,
	textproto.CanonicalMIMEHeaderKey(retrykey.Header): true,
}

// Validate reports the first invalid field by name, e.g.
// "sender: BotHeader: required".
func (c Config) Validate() error {
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		switch {
		case err != nil:
			return fmt.Errorf("sender: BaseURL: %w", err)
		case u.Scheme != "http" && u.Scheme != "https":
			return fmt.Errorf("sender: BaseURL: scheme must be http or https, got %q", c.BaseURL)
		case u.Host == "":
			return fmt.Errorf("sender: BaseURL: host missing in %q", c.BaseURL)
		case u.RawQuery != "" || u.Fragment != "":
			return fmt.Errorf("sender: BaseURL: must not have a query or fragment, got %q", c.BaseURL)
		}
	}
	switch {
	case c.BotHeader == "":
		return errors.New("sender: BotHeader: required")
	case !validHeaderName(c.BotHeader):
		return fmt.Errorf("sender: BotHeader: %q is not a valid header name", c.BotHeader)
	case reservedHeaders[textproto.CanonicalMIMEHeaderKey(c.BotHeader)]:
		return fmt.Errorf("sender: BotHeader: %q is set by the sender itself", c.BotHeader)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("sender: Timeout: must not be negative, got %s", c.Timeout)
	}
	if c.MaxConnsPerHost < 0 {
		return fmt.Errorf("sender: MaxConnsPerHost: must not be negative, got %d", c.MaxConnsPerHost)
	}
	if !validHeaderValue(c.UserAgent) {
		return fmt.Errorf("sender: UserAgent: contains control characters")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxConnsPerHost == 0 {
		c.MaxConnsPerHost = DefaultMaxConnsPerHost
	}
	if c.UserAgent == "" {
		c.UserAgent = "linedispatch/" + version()
	}
	return c
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c < 0x80 && isTokenPunct(c):
		default:
			return false
		}
	}
	return true
}

func isTokenPunct(c byte) bool {
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validHeaderValue refuses control characters, which net/http would refuse
// at send time as a transport error (and the dispatcher would retry in vain).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
