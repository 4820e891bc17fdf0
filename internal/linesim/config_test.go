package linesim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Limit
		wantErr bool
	}{
		{in: "2000/1s", want: Limit{2000, time.Second}},
		{in: "60/1h", want: Limit{60, time.Hour}},
		{in: "60/hour", want: Limit{60, time.Hour}},
		{in: "100/min", want: Limit{100, time.Minute}},
		{in: "5/200ms", want: Limit{5, 200 * time.Millisecond}},
		{in: " 60 / 3.6s ", want: Limit{60, 3600 * time.Millisecond}},
		{in: "", wantErr: true},
		{in: "2000", wantErr: true},
		{in: "0/1s", wantErr: true},
		{in: "-1/1s", wantErr: true},
		{in: "x/1s", wantErr: true},
		{in: "5/0s", wantErr: true},
		{in: "5/fortnight", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseLimit(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestLimitString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   Limit
		want string
	}{
		{Limit{2000, time.Second}, "2000/1s"},
		{Limit{60, time.Hour}, "60/1h"},
		{Limit{60, 90 * time.Minute}, "60/1h30m"},
		{Limit{60, 6 * time.Minute}, "60/6m"},
		{Limit{5, 200 * time.Millisecond}, "5/200ms"},
		{Limit{60, 3600 * time.Millisecond}, "60/3.6s"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.in, got, tt.want)
		}
		back, err := ParseLimit(tt.want)
		if err != nil || back != tt.in {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v", tt.want, back, err, tt.in)
		}
		b, _ := json.Marshal(tt.in)
		var j Limit
		if err := json.Unmarshal(b, &j); err != nil || j != tt.in {
			t.Errorf("JSON round trip of %v: %s -> %v, %v", tt.in, b, j, err)
		}
	}
}

func validConfig() Config {
	return Config{Channels: []Channel{{ID: testChannel, Secret: testSecret, Bots: []string{botA, botB}, StaticTokens: []string{"t"}}}}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // substring naming the field; "" = valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"no channels", func(c *Config) { c.Channels = nil }, "Channels:"},
		{"bad channel ID", func(c *Config) { c.Channels[0].ID = "abc" }, "Channels[0].ID"},
		{"duplicate channel", func(c *Config) { c.Channels = append(c.Channels, c.Channels[0]) }, "Channels[1].ID"},
		{"no secret", func(c *Config) { c.Channels[0].Secret = "" }, "Channels[0].Secret"},
		{"bad bot", func(c *Config) { c.Channels[0].Bots[1] = "U123" }, "Channels[0].Bots[1]"},
		{"upper-case bot", func(c *Config) { c.Channels[0].Bots[0] = strings.ToUpper(botA) }, "Channels[0].Bots[0]"},
		{"duplicate bot", func(c *Config) { c.Channels[0].Bots[1] = botA }, "Channels[0].Bots[1]"},
		{"empty static token", func(c *Config) { c.Channels[0].StaticTokens = []string{""} }, "Channels[0].StaticTokens[0]"},
		{"bad bot header", func(c *Config) { c.BotHeader = "X Bot" }, "BotHeader"},
		{"unknown limit endpoint", func(c *Config) { c.Limits = map[string]Limit{"pussh": {1, time.Second}} }, `Limits["pussh"]`},
		{"zero limit", func(c *Config) { c.Limits = map[string]Limit{EPPush: {0, time.Second}} }, `Limits["push"]`},
		{"negative scale", func(c *Config) { c.PeriodScale = -1 }, "PeriodScale"},
		{"negative unit cap", func(c *Config) { c.UnitCap = -1 }, "UnitCap"},
		{"negative quota", func(c *Config) { c.MonthlyQuota = -1 }, "MonthlyQuota"},
		{"unknown fault endpoint", func(c *Config) { c.Faults = map[string]Faults{"nope": {ErrorRatio: 0.5}} }, `Faults["nope"]`},
		{"bad fault ratio", func(c *Config) { c.Faults = map[string]Faults{EPPush: {ErrorRatio: 1.5}} }, `Faults["push"].ErrorRatio`},
		{"bad fault mode", func(c *Config) { c.Faults = map[string]Faults{"*": {AcceptThenFailMode: "explode"}} }, `Faults["*"].AcceptThenFailMode`},
		{"negative reply TTL", func(c *Config) { c.ReplyTokenTTL = -time.Second }, "ReplyTokenTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tt.wantErr)
			}
			if _, err := New(c); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}

func TestEffectiveLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg   Config
		token string
		want  string
	}{
		{Config{}, EPPush, "2000/1s"},
		{Config{}, EPMulticast, "200/1s"},
		{Config{}, EPNarrowcast, "60/1h"},
		{Config{}, EPBroadcast, "60/1h"},
		{Config{}, EPReply, "2000/1s"},
		{Config{}, EPMarkAsRead, "2000/1s"},
		{Config{}, EPAccessToken, "370/1s"},
		{Config{PeriodScale: 0.1}, EPNarrowcast, "60/6m"},
		{Config{PeriodScale: 0.001}, EPBroadcast, "60/3.6s"},
		{Config{Limits: map[string]Limit{EPMulticast: {10, time.Second}}, PeriodScale: 0.5}, EPMulticast, "10/500ms"},
	}
	for _, tt := range tests {
		got, ok := tt.cfg.EffectiveLimit(tt.token)
		if !ok || got.String() != tt.want {
			t.Errorf("EffectiveLimit(%s) with scale %v = %v, want %s", tt.token, tt.cfg.PeriodScale, got, tt.want)
		}
	}
	if _, ok := (Config{}).EffectiveLimit("nope"); ok {
		t.Error("EffectiveLimit accepted an unknown endpoint")
	}
}

func TestParseFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Faults
		wantErr bool
	}{
		{in: "", want: Faults{}},
		{in: "error=0.1", want: Faults{ErrorRatio: 0.1}},
		{in: "latency=5ms±2ms", want: Faults{LatencyMean: 5 * time.Millisecond, LatencyJitter: 2 * time.Millisecond}},
		{in: "latency=5ms+-2ms,latency_dist=normal", want: Faults{LatencyMean: 5 * time.Millisecond, LatencyJitter: 2 * time.Millisecond, LatencyDist: DistNormal}},
		{in: "latency=10ms", want: Faults{LatencyMean: 10 * time.Millisecond}},
		{in: "hang=0.5,hang_for=3s", want: Faults{HangRatio: 0.5, HangFor: 3 * time.Second}},
		{in: "reset=1", want: Faults{ResetRatio: 1}},
		{in: "accept_then_fail=0.2,accept_then_fail_mode=drop", want: Faults{AcceptThenFailRatio: 0.2, AcceptThenFailMode: ModeDrop}},
		{in: "outage=true", want: Faults{Outage: true}},
		{in: "stall=50ms/700ms", want: Faults{StallFor: 50 * time.Millisecond, StallEvery: 700 * time.Millisecond}},
		{in: "stall_for=1ms,stall_every=1s", want: Faults{StallFor: time.Millisecond, StallEvery: time.Second}},
		{in: "stall=50ms", wantErr: true},
		{in: "stall=1s/1s", wantErr: true},
		{in: "stall_every=1s", wantErr: true},
		{in: "stall=-1ms/1s", wantErr: true},
		{in: "error=2", wantErr: true},
		{in: "error=-0.1", wantErr: true},
		{in: "error", wantErr: true},
		{in: "explode=1", wantErr: true},
		{in: "latency=fast", wantErr: true},
		{in: "mode=sometimes", wantErr: true},
		{in: "latency_dist=weird", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseFaults(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseFaults(%q) = %+v, %v; want %+v, err %v", tt.in, got, err, tt.want, tt.wantErr)
			continue
		}
		if err == nil {
			back, err := ParseFaults(got.String())
			if err != nil || back != got {
				t.Errorf("ParseFaults(%q.String()=%q) = %+v, %v", tt.in, got.String(), back, err)
			}
		}
	}
}

func TestParseFaultSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		ep      string
		wantErr bool
	}{
		{in: "push:error=0.1", ep: EPPush},
		{in: "*:outage=true", ep: "*"},
		{in: "markasread:latency=1ms", ep: EPMarkAsRead},
		{in: "nope:error=0.1", wantErr: true},
		{in: "error=0.1", wantErr: true},
		{in: "push:error=9", wantErr: true},
	}
	for _, tt := range tests {
		ep, _, err := ParseFaultSpec(tt.in)
		if (err != nil) != tt.wantErr || ep != tt.ep {
			t.Errorf("ParseFaultSpec(%q) = %q, %v; want %q, err %v", tt.in, ep, err, tt.ep, tt.wantErr)
		}
	}
}

func TestFaultsJSON(t *testing.T) {
	t.Parallel()
	f := Faults{ErrorRatio: 0.25, LatencyMean: 5 * time.Millisecond, LatencyJitter: time.Millisecond, HangFor: time.Second,
		AcceptThenFailRatio: 0.5, AcceptThenFailMode: ModeHang, Outage: true}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"latencyMean":"5ms"`) {
		t.Errorf("durations are not strings: %s", b)
	}
	var back Faults
	if err := json.Unmarshal(b, &back); err != nil || back != f {
		t.Fatalf("round trip: %+v, %v; want %+v", back, err, f)
	}
	if err := json.Unmarshal([]byte(`{"latencyMean":5000000}`), &back); err != nil || back.LatencyMean != 5*time.Millisecond {
		t.Errorf("numeric duration: %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"errorRatoi":0.1}`), &back); err == nil {
		t.Error("unknown field accepted")
	}
}

func TestParseConfigFile(t *testing.T) {
	t.Parallel()
	yml := `
addr: 0.0.0.0:9000
bot_header: X-Module-Bot
period_scale: 0.01
unit_cap: 10
monthly_quota: 1000
reply_token_ttl: 30s
channels:
  - id: "1234567890"
    secret: s3cret
    bots: [` + botA + `, ` + botB + `]
    static_tokens: [dev]
limits:
  push: 100/1s
  narrowcast: 60/hour
faults:
  push: "error=0.5,latency=1ms+-1ms"
  "*": {accept_then_fail_ratio: 0.1, accept_then_fail_mode: drop, hang_for: 2s}
`
	fc, err := ParseConfigFile([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	c := fc.Config()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if fc.Addr != "0.0.0.0:9000" || c.BotHeader != "X-Module-Bot" || c.PeriodScale != 0.01 || c.UnitCap != 10 ||
		c.MonthlyQuota != 1000 || c.ReplyTokenTTL != 30*time.Second || len(c.Channels[0].Bots) != 2 {
		t.Errorf("parsed %+v", c)
	}
	if c.Limits[EPPush] != (Limit{100, time.Second}) || c.Limits[EPNarrowcast] != (Limit{60, time.Hour}) {
		t.Errorf("limits %v", c.Limits)
	}
	if c.Faults[EPPush].ErrorRatio != 0.5 || c.Faults["*"].AcceptThenFailMode != ModeDrop || c.Faults["*"].HangFor != 2*time.Second {
		t.Errorf("faults %+v", c.Faults)
	}
	for _, bad := range []string{
		"chanels: []",
		"limits: {push: fast}",
		"faults: {push: {error: 0.1}}",
		"faults: {push: \"error=7\"}",
	} {
		if _, err := ParseConfigFile([]byte(bad)); err == nil {
			t.Errorf("ParseConfigFile(%q) accepted", bad)
		}
	}
}
