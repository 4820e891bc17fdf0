package ownership

import (
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{}.WithDefaults()
	want := Config{Bucket: "LINE_MEMBERS", TTL: 10 * time.Second, Heartbeat: 10 * time.Second / 3, Settle: 500 * time.Millisecond, Replicas: 1}
	if c != want {
		t.Errorf("defaults = %+v, want %+v", c, want)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	if got := (Config{TTL: 3 * time.Second}).WithDefaults().Heartbeat; got != time.Second {
		t.Errorf("heartbeat for ttl 3s = %s, want 1s", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for valid
	}{
		{"defaults", Config{}, ""},
		{"small ttl", Config{TTL: time.Second}, ""},
		{"explicit", Config{Bucket: "MEMBERS_2", TTL: 5 * time.Second, Heartbeat: time.Second, Settle: time.Second, Replicas: 3}, ""},
		{"bad bucket", Config{Bucket: "LINE.MEMBERS"}, "ownership.bucket:"},
		{"ttl too short", Config{TTL: 500 * time.Millisecond}, "ownership.ttl: must be 1s..1h0m0s"},
		{"ttl too long", Config{TTL: 2 * time.Hour}, "ownership.ttl:"},
		{"ttl fraction", Config{TTL: 1500 * time.Millisecond}, "ownership.ttl: must be a whole number of seconds"},
		{"negative ttl", Config{TTL: -time.Second}, "ownership.ttl:"},
		{"heartbeat above ttl/2", Config{TTL: 2 * time.Second, Heartbeat: 1500 * time.Millisecond}, "ownership.heartbeat:"},
		{"heartbeat too fast", Config{Heartbeat: time.Millisecond}, "ownership.heartbeat:"},
		{"negative settle", Config{Settle: -time.Second}, "ownership.settle:"},
		{"settle too long", Config{Settle: 2 * time.Minute}, "ownership.settle:"},
		{"replicas", Config{Replicas: 7}, "ownership.replicas:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case c.want != "" && err == nil:
				t.Errorf("no error, want %q", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestValidatePodID(t *testing.T) {
	for id, ok := range map[string]bool{
		"linedispatch-7d9f8c6b5-x2x4b": true,
		"pod_1":                        true,
		"a.b":                          true,
		"":                             false,
		".a":                           false,
		"a.":                           false,
		"a..b":                         false,
		"a b":                          false,
		"a*":                           false,
		"a>":                           false,
		strings.Repeat("a", 254):       false,
	} {
		if err := validatePodID(id); (err == nil) != ok {
			t.Errorf("validatePodID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}
