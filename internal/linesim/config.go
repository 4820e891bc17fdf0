package linesim

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/rs/zerolog"
)

// Defaults.
const (
	DefaultBotHeader     = "X-Line-Bot-Id"
	DefaultUnitCap       = 1000
	DefaultReplyTokenTTL = time.Minute
	DefaultMaxTracked    = 2_000_000
	MaxBodyBytes         = 2 << 20 // LINE's request body limit (413 beyond)
)

// Channel is one module channel: its ID (digits), secret, the bots attached
// to it (U + 32 lowercase hex) and optional static tokens that never expire.
type Channel struct {
	ID           string   `yaml:"id" json:"id"`
	Secret       string   `yaml:"secret" json:"-"`
	Bots         []string `yaml:"bots" json:"bots"`
	StaticTokens []string `yaml:"static_tokens" json:"-"`
}

// Config configures a Sim. Only Channels is required.
type Config struct {
	Channels     []Channel
	BotHeader    string            // header naming the bot; default DefaultBotHeader
	Limits       map[string]Limit  // endpoint token -> limit; unset = LINE's default
	PeriodScale  float64           // multiplies every limit period; 0 means 1
	UnitCap      int               // distinct unit names per (channel, bot, month); 0 means 1000
	MonthlyQuota int               // recipient deliveries per (channel, bot, month); 0 = unlimited
	Faults       map[string]Faults // endpoint token or "*" -> faults at start
	Outage       bool              // start with the outage switch on
	Clock        Clock             // default NewClock()
	Logger       zerolog.Logger    // default: disabled

	ReplyTokenTTL      time.Duration // life of reply tokens; default 1m
	NarrowcastDuration time.Duration // a narrowcast reports phase "sending" this long; default 0
	MaxTracked         int           // bound of each memory (retry keys, deliveries, recipients, reply tokens); default 2,000,000
}

var (
	reChannelID = regexp.MustCompile(`^[0-9]{1,20}$`)
	reHeader    = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
)

// Validate checks the configuration; every error names the offending field.
func (c *Config) Validate() error {
	if len(c.Channels) == 0 {
		return errors.New("Channels: at least one channel is required")
	}
	ids := map[string]bool{}
	tokens := map[string]bool{}
	for i, ch := range c.Channels {
		f := fmt.Sprintf("Channels[%d]", i)
		if !reChannelID.MatchString(ch.ID) {
			return fmt.Errorf("%s.ID: %q is not a channel ID (digits)", f, ch.ID)
		}
		if ids[ch.ID] {
			return fmt.Errorf("%s.ID: duplicate channel %s", f, ch.ID)
		}
		ids[ch.ID] = true
		if ch.Secret == "" {
			return fmt.Errorf("%s.Secret: required", f)
		}
		bots := map[string]bool{}
		for j, b := range ch.Bots {
			if !isBotID(b) {
				return fmt.Errorf("%s.Bots[%d]: %q is not a bot user ID (U + 32 lowercase hex)", f, j, b)
			}
			if bots[b] {
				return fmt.Errorf("%s.Bots[%d]: duplicate bot %s", f, j, b)
			}
			bots[b] = true
		}
		for j, t := range ch.StaticTokens {
			if t == "" {
				return fmt.Errorf("%s.StaticTokens[%d]: empty token", f, j)
			}
			if tokens[t] {
				return fmt.Errorf("%s.StaticTokens[%d]: token used twice", f, j)
			}
			tokens[t] = true
		}
	}
	if c.BotHeader != "" && !reHeader.MatchString(c.BotHeader) {
		return fmt.Errorf("BotHeader: %q is not a valid header name", c.BotHeader)
	}
	for _, k := range sortedKeys(c.Limits) {
		if _, ok := epByToken[k]; !ok {
			return fmt.Errorf("Limits[%q]: unknown endpoint", k)
		}
		if err := c.Limits[k].validate(); err != nil {
			return fmt.Errorf("Limits[%q]: %v", k, err)
		}
	}
	if c.PeriodScale < 0 {
		return fmt.Errorf("PeriodScale: %v must not be negative", c.PeriodScale)
	}
	if c.UnitCap < 0 {
		return fmt.Errorf("UnitCap: %d must not be negative", c.UnitCap)
	}
	if c.MonthlyQuota < 0 {
		return fmt.Errorf("MonthlyQuota: %d must not be negative", c.MonthlyQuota)
	}
	for _, k := range sortedKeys(c.Faults) {
		if err := checkFaultEndpoint(k); err != nil {
			return fmt.Errorf("Faults[%q]: %v", k, err)
		}
		if err := c.Faults[k].Validate(); err != nil {
			return fmt.Errorf("Faults[%q].%v", k, err)
		}
	}
	if c.ReplyTokenTTL < 0 {
		return fmt.Errorf("ReplyTokenTTL: must not be negative")
	}
	if c.NarrowcastDuration < 0 {
		return fmt.Errorf("NarrowcastDuration: must not be negative")
	}
	if c.MaxTracked < 0 {
		return fmt.Errorf("MaxTracked: must not be negative")
	}
	return nil
}

// withDefaults returns a copy with zero values replaced by defaults.
func (c Config) withDefaults() Config {
	if c.BotHeader == "" {
		c.BotHeader = DefaultBotHeader
	}
	if c.PeriodScale == 0 {
		c.PeriodScale = 1
	}
	if c.UnitCap == 0 {
		c.UnitCap = DefaultUnitCap
	}
	if c.Clock == nil {
		c.Clock = NewClock()
	}
	if c.ReplyTokenTTL == 0 {
		c.ReplyTokenTTL = DefaultReplyTokenTTL
	}
	if c.MaxTracked == 0 {
		c.MaxTracked = DefaultMaxTracked
	}
	return c
}

// EffectiveLimit returns the limit linesim enforces for an endpoint token
// under this configuration (override or LINE's default, times PeriodScale).
func (c Config) EffectiveLimit(token string) (Limit, bool) {
	l, ok := DefaultLimit(token)
	if !ok {
		return Limit{}, false
	}
	if o, ok := c.Limits[token]; ok {
		l = o
	}
	scale := c.PeriodScale
	if scale == 0 {
		scale = 1
	}
	return l.scaled(scale), true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
