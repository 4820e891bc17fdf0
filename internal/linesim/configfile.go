package linesim

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// FileConfig is the YAML configuration file of cmd/linesim. Example:
//
//	addr: 127.0.0.1:8081
//	admin_addr: 127.0.0.1:8082
//	bot_header: X-Line-Bot-Id
//	period_scale: 0.1
//	channels:
//	  - id: "1234567890"
//	    secret: 0123456789abcdef0123456789abcdef
//	    bots: [U0123456789abcdef0123456789abcdef]
//	    static_tokens: [dev-token]
//	limits:
//	  push: 2000/1s
//	faults:
//	  push: "error=0.05,latency=5ms+-2ms"
//	  "*": {accept_then_fail_ratio: 0.01, accept_then_fail_mode: drop}
type FileConfig struct {
	Addr               string                `yaml:"addr"`
	AdminAddr          string                `yaml:"admin_addr"`
	LogLevel           string                `yaml:"log_level"`
	BotHeader          string                `yaml:"bot_header"`
	PeriodScale        float64               `yaml:"period_scale"`
	UnitCap            int                   `yaml:"unit_cap"`
	MonthlyQuota       int                   `yaml:"monthly_quota"`
	ReplyTokenTTL      time.Duration         `yaml:"reply_token_ttl"`
	NarrowcastDuration time.Duration         `yaml:"narrowcast_duration"`
	MaxTracked         int                   `yaml:"max_tracked"`
	Outage             bool                  `yaml:"outage"`
	Channels           []Channel             `yaml:"channels"`
	Limits             map[string]Limit      `yaml:"limits"`
	Faults             map[string]YAMLFaults `yaml:"faults"`
}

// YAMLFaults reads faults from YAML either as the compact string of
// ParseFaults or as a mapping with snake_case keys (error_ratio,
// latency_mean, latency_jitter, latency_dist, hang_ratio, hang_for,
// reset_ratio, accept_then_fail_ratio, accept_then_fail_mode, outage).
type YAMLFaults struct{ Faults }

// UnmarshalYAML implements yaml.Unmarshaler.
func (y *YAMLFaults) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		f, err := ParseFaults(n.Value)
		y.Faults = f
		return err
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: faults must be a string or a mapping", n.Line)
	}
	known := "error_ratio latency_mean latency_jitter latency_dist hang_ratio hang_for reset_ratio accept_then_fail_ratio accept_then_fail_mode outage stall_every stall_for"
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !strings.Contains(" "+known+" ", " "+k+" ") {
			return fmt.Errorf("line %d: unknown fault field %q (want one of %s)", n.Content[i].Line, k, known)
		}
	}
	var j faultsJSON
	if err := n.Decode(&j); err != nil {
		return err
	}
	y.Faults = j.faults()
	return y.Faults.Validate()
}

// ParseConfigFile parses YAML configuration (unknown fields are errors).
func ParseConfigFile(b []byte) (FileConfig, error) {
	var fc FileConfig
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && err.Error() != "EOF" {
		return FileConfig{}, err
	}
	return fc, nil
}

// LoadConfigFile reads and parses a YAML configuration file.
func LoadConfigFile(path string) (FileConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return FileConfig{}, err
	}
	fc, err := ParseConfigFile(b)
	if err != nil {
		return FileConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	return fc, nil
}

// Config converts the file to a Config (addresses and log level are the
// command's business).
func (fc FileConfig) Config() Config {
	c := Config{
		Channels: fc.Channels, BotHeader: fc.BotHeader, Limits: fc.Limits,
		PeriodScale: fc.PeriodScale, UnitCap: fc.UnitCap, MonthlyQuota: fc.MonthlyQuota,
		Outage: fc.Outage, ReplyTokenTTL: fc.ReplyTokenTTL, NarrowcastDuration: fc.NarrowcastDuration,
		MaxTracked: fc.MaxTracked,
	}
	if len(fc.Faults) > 0 {
		c.Faults = map[string]Faults{}
		for k, v := range fc.Faults {
			c.Faults[k] = v.Faults
		}
	}
	return c
}
