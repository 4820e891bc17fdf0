// Package config is the dispatcher's configuration file: one YAML document
// with a section per component, environment overrides for secrets and
// addresses, and validation that names the offending field.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/dispatch"
	"github.com/linedispatch/linedispatch/internal/limiter"
	"github.com/linedispatch/linedispatch/internal/ownership"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/stats"
	"github.com/linedispatch/linedispatch/internal/unit"
)

// Defaults of the top-level fields.
const (
	DefaultHTTPAddr    = "127.0.0.1:8080"
	DefaultLogLevel    = "info"
	DefaultLineBaseURL = "https://api.line.me"
	DefaultLineTimeout = 10 * time.Second
)

// Config is the whole dispatcher configuration (config/dispatcher.example.yaml).
type Config struct {
	// Log configures logging.
	Log Log `yaml:"log"`
	// HTTP is the server for health, metrics and the stats API.
	HTTP HTTP `yaml:"http"`
	// NATS says where JetStream is (empty url: embedded).
	NATS queue.Config `yaml:"nats"`
	// LINE is the Messaging API and the module channels.
	LINE Line `yaml:"line"`
	// Limits overrides LINE's limit table per endpoint ("push": "2000/1s").
	// Default: LINE's documented limits.
	Limits map[string]string `yaml:"limits"`
	// PeriodScale multiplies every limit period; only for tests and load
	// scenarios against the simulator. Default 1.
	PeriodScale float64 `yaml:"periodScale"`
	// Dispatch tunes the engine.
	Dispatch dispatch.Config `yaml:"dispatch"`
	// Units is the unit-name registry and monthly cap.
	Units unit.Config `yaml:"units"`
	// Stats is the statistics projection.
	Stats stats.ProjectorConfig `yaml:"stats"`
	// Ownership shares the partitions among the pods.
	Ownership ownership.Config `yaml:"ownership"`
}

// Log configures logging.
type Log struct {
	// Level is trace, debug, info, warn or error. Default "info".
	Level string `yaml:"level"`
}

// HTTP configures the pod's HTTP server.
type HTTP struct {
	// Addr is host:port; empty string "-" disables the server.
	// Default DefaultHTTPAddr.
	Addr string `yaml:"addr"`
	// Pprof serves Go's profiler under /debug/pprof/ on Addr. Default
	// false: profiles reveal internals, so turn it on only where Addr is
	// not reachable from outside (it is how the scenario runner profiles).
	Pprof bool `yaml:"pprof"`
}

// Line configures the LINE Messaging API side.
type Line struct {
	// BaseURL of the Messaging API (and the token endpoint).
	// Default DefaultLineBaseURL; point it at linesim for tests.
	BaseURL string `yaml:"baseURL"`
	// BotHeader is the name of the header that carries the target bot's
	// user ID. LINE discloses it to Marketplace partners only. Required.
	BotHeader string `yaml:"botHeader"`
	// Timeout bounds every request. Default DefaultLineTimeout.
	Timeout time.Duration `yaml:"timeout"`
	// Channels are the module channels this dispatcher sends for. Required.
	Channels []Channel `yaml:"channels"`
}

// Channel is one module channel. Give Secret (stateless tokens are issued and
// refreshed automatically) or Token (a static token). Prefer the environment
// for both: LINEDISPATCH_CHANNEL_<ID>_SECRET, LINEDISPATCH_CHANNEL_<ID>_TOKEN.
type Channel struct {
	ID     string `yaml:"id"`
	Secret string `yaml:"secret"`
	Token  string `yaml:"token"`
}

// Load reads path (may be empty for all defaults), applies the environment,
// then override (command-line flags; may be nil), then defaults, and
// validates.
func Load(path string, override func(*Config)) (*Config, error) {
	var c Config
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := Parse(b, &c); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	c.ApplyEnv(os.Getenv)
	if override != nil {
		override(&c)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return &c, nil
}

// Parse decodes YAML strictly: an unknown field is an error, so a typo can't
// silently fall back to a default.
func Parse(b []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// ApplyEnv overrides fields from the environment (getenv is os.Getenv in
// production): LINEDISPATCH_NATS_URL, LINEDISPATCH_LINE_BASE_URL,
// LINEDISPATCH_BOT_HEADER, LINEDISPATCH_HTTP_ADDR, and per channel
// LINEDISPATCH_CHANNEL_<ID>_SECRET / _TOKEN.
func (c *Config) ApplyEnv(getenv func(string) string) {
	set := func(dst *string, key string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	set(&c.NATS.URL, "LINEDISPATCH_NATS_URL")
	set(&c.LINE.BaseURL, "LINEDISPATCH_LINE_BASE_URL")
	set(&c.LINE.BotHeader, "LINEDISPATCH_BOT_HEADER")
	set(&c.HTTP.Addr, "LINEDISPATCH_HTTP_ADDR")
	for i := range c.LINE.Channels {
		ch := &c.LINE.Channels[i]
		set(&ch.Secret, "LINEDISPATCH_CHANNEL_"+ch.ID+"_SECRET")
		set(&ch.Token, "LINEDISPATCH_CHANNEL_"+ch.ID+"_TOKEN")
	}
}

// SetDefaults fills zero fields.
func (c *Config) SetDefaults() {
	if c.Log.Level == "" {
		c.Log.Level = DefaultLogLevel
	}
	if c.HTTP.Addr == "" {
		c.HTTP.Addr = DefaultHTTPAddr
	}
	if c.LINE.BaseURL == "" {
		c.LINE.BaseURL = DefaultLineBaseURL
	}
	if c.LINE.Timeout == 0 {
		c.LINE.Timeout = DefaultLineTimeout
	}
	if c.PeriodScale == 0 {
		c.PeriodScale = 1
	}
	c.NATS = c.NATS.WithDefaults()
	// The KV buckets follow the streams' replication unless set.
	if c.Units.Replicas == 0 {
		c.Units.Replicas = c.NATS.Replicas
	}
	if c.Stats.Replicas == 0 {
		c.Stats.Replicas = c.NATS.Replicas
	}
	if c.Ownership.Replicas == 0 {
		c.Ownership.Replicas = c.NATS.Replicas
	}
}

// LimitTable is LINE's table with the configured overrides and scale.
func (c *Config) LimitTable() (limiter.Table, error) {
	t := limiter.DefaultTable()
	if len(c.Limits) > 0 {
		over, err := limiter.ParseTable(c.Limits)
		if err != nil {
			return nil, err
		}
		for e, l := range over {
			t[e] = l
		}
	}
	if c.PeriodScale != 1 {
		t = t.Scaled(c.PeriodScale)
	}
	return t, nil
}

// Validate checks every section and names the bad field.
func (c *Config) Validate() error {
	var errs []error
	switch c.Log.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: want trace, debug, info, warn or error, got %q", c.Log.Level))
	}
	if err := c.NATS.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !strings.HasPrefix(c.LINE.BaseURL, "http://") && !strings.HasPrefix(c.LINE.BaseURL, "https://") {
		errs = append(errs, fmt.Errorf("line.baseURL: want an http(s) URL, got %q", c.LINE.BaseURL))
	}
	if c.LINE.BotHeader == "" {
		errs = append(errs, errors.New("line.botHeader: required (the module bot-ID header name LINE gave you; env LINEDISPATCH_BOT_HEADER)"))
	}
	if c.LINE.Timeout < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("line.timeout: must be at least 100ms, got %s", c.LINE.Timeout))
	}
	if len(c.LINE.Channels) == 0 {
		errs = append(errs, errors.New("line.channels: at least one module channel is required"))
	}
	seen := map[string]bool{}
	for i, ch := range c.LINE.Channels {
		f := fmt.Sprintf("line.channels[%d]", i)
		switch {
		case !intent.IsChannelID(ch.ID):
			errs = append(errs, fmt.Errorf("%s.id: want the channel ID (digits), got %q", f, ch.ID))
		case seen[ch.ID]:
			errs = append(errs, fmt.Errorf("%s.id: channel %s is listed twice", f, ch.ID))
		}
		seen[ch.ID] = true
		if ch.Secret == "" && ch.Token == "" {
			errs = append(errs, fmt.Errorf("%s: give secret or token (env LINEDISPATCH_CHANNEL_%s_SECRET or _TOKEN)", f, ch.ID))
		}
		if ch.Secret != "" && ch.Token != "" {
			errs = append(errs, fmt.Errorf("%s: give secret or token, not both", f))
		}
	}
	if c.PeriodScale <= 0 || c.PeriodScale > 1 {
		errs = append(errs, fmt.Errorf("periodScale: must be in (0, 1], got %g", c.PeriodScale))
	}
	if _, err := c.LimitTable(); err != nil {
		errs = append(errs, fmt.Errorf("limits: %w", err))
	}
	if err := c.Dispatch.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Units.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Stats.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Ownership.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
