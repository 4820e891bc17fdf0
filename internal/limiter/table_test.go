package limiter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/linedispatch/linedispatch/intent"
)

func TestDefaultTable(t *testing.T) {
	want := map[intent.Endpoint]string{
		intent.Push:       "2000/1s",
		intent.Reply:      "2000/1s",
		intent.MarkAsRead: "2000/1s",
		intent.Multicast:  "200/1s",
		intent.Narrowcast: "60/1h",
		intent.Broadcast:  "60/1h",
		Other:             "2000/1s",
		"getcontent":      "2000/1s", // not a supported endpoint: "other"
	}
	table := DefaultTable()
	for e, w := range want {
		if got := table.For(e).String(); got != w {
			t.Errorf("For(%q) = %s, want %s", e, got, w)
		}
	}
	for _, e := range intent.Endpoints {
		if _, ok := table[e]; !ok {
			t.Errorf("DefaultTable has no entry for %q", e)
		}
	}
	if err := table.Validate(); err != nil {
		t.Error(err)
	}
}

func TestTableForFallbacks(t *testing.T) {
	partial := Table{Other: MustParseLimit("5/1s"), intent.Push: MustParseLimit("7/1s")}
	tests := []struct {
		e    intent.Endpoint
		want string
	}{
		{intent.Push, "7/1s"},
		{intent.Multicast, "200/1s"}, // LINE's default, not Other: never looser by omission
		{"unknown", "5/1s"},
	}
	for _, tt := range tests {
		if got := partial.For(tt.e).String(); got != tt.want {
			t.Errorf("For(%q) = %s, want %s", tt.e, got, tt.want)
		}
	}
	var empty Table
	if got := empty.For("unknown").String(); got != "2000/1s" {
		t.Errorf("nil table, unknown endpoint: %s", got)
	}
}

func TestTableScaled(t *testing.T) {
	base := DefaultTable()
	fast := base.Scaled(0.001)
	if got := fast.For(intent.Broadcast); got != (Limit{60, 3600 * time.Millisecond}) {
		t.Errorf("scaled broadcast = %v, want 60/3.6s", got)
	}
	if got := fast.For(intent.Push); got != (Limit{2000, time.Millisecond}) {
		t.Errorf("scaled push = %v", got)
	}
	if got := base.For(intent.Broadcast); got != (Limit{60, time.Hour}) {
		t.Errorf("Scaled modified its receiver: %v", got)
	}
}

func TestParseTable(t *testing.T) {
	tests := []struct {
		name    string
		in      map[string]string
		want    map[intent.Endpoint]string // checked entries
		wantErr []string                   // substrings, each must appear
	}{
		{
			name: "empty keeps LINE's defaults",
			in:   nil,
			want: map[intent.Endpoint]string{intent.Push: "2000/1s", intent.Narrowcast: "60/1h"},
		},
		{
			name: "overrides merge over defaults",
			in:   map[string]string{"multicast": "2000/1s", "other": "100/1s"},
			want: map[intent.Endpoint]string{intent.Multicast: "2000/1s", Other: "100/1s", intent.Broadcast: "60/1h"},
		},
		{
			name: "keys are case-insensitive",
			in:   map[string]string{"MarkAsRead": "10/1s", " Push ": "20/1s"},
			want: map[intent.Endpoint]string{intent.MarkAsRead: "10/1s", intent.Push: "20/1s"},
		},
		{
			name:    "unknown key is named",
			in:      map[string]string{"pushh": "2000/1s"},
			wantErr: []string{`limits["pushh"]`, "unknown endpoint", "push, multicast"},
		},
		{
			name:    "bad value names its key",
			in:      map[string]string{"narrowcast": "60 per hour"},
			wantErr: []string{`limits["narrowcast"]`, `"60 per hour"`},
		},
		{
			name:    "every error is reported",
			in:      map[string]string{"broadcast": "0/1h", "reply": "1/0s", "push": "2000/1s"},
			wantErr: []string{`limits["broadcast"]`, "at least 1", `limits["reply"]`, "positive"},
		},
		{
			name:    "duplicate after folding case",
			in:      map[string]string{"Push": "1/1s", "push": "2/1s"},
			wantErr: []string{`limits["push"]: duplicates limits["Push"]`},
		},
		{
			name:    "empty key",
			in:      map[string]string{"": "1/1s"},
			wantErr: []string{`limits[""]`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTable(tt.in)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("ParseTable(%v) succeeded", tt.in)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for e, w := range tt.want {
				if got.For(e).String() != w {
					t.Errorf("For(%q) = %s, want %s", e, got.For(e), w)
				}
			}
		})
	}
}

func TestTableValidate(t *testing.T) {
	bad := Table{"pushh": MustParseLimit("1/1s"), intent.Push: {}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad table")
	}
	for _, w := range []string{`limits["pushh"]`, `limits["push"]`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %s", err, w)
		}
	}
}

func TestTableDecoding(t *testing.T) {
	type config struct {
		Limits Table `json:"limits" yaml:"limits"`
	}
	t.Run("json", func(t *testing.T) {
		var c config
		if err := json.Unmarshal([]byte(`{"limits":{"push":"100/1s"}}`), &c); err != nil {
			t.Fatal(err)
		}
		if c.Limits.For(intent.Push).String() != "100/1s" || c.Limits.For(intent.Broadcast).String() != "60/1h" {
			t.Errorf("decoded %v", c.Limits)
		}
		err := json.Unmarshal([]byte(`{"limits":{"brodcast":"1/1h"}}`), &c)
		if err == nil || !strings.Contains(err.Error(), `"brodcast"`) {
			t.Errorf("unknown key: %v", err)
		}
		out, err := json.Marshal(config{Limits: Table{intent.Push: MustParseLimit("2000/1s")}})
		if err != nil || string(out) != `{"limits":{"push":"2000/1s"}}` {
			t.Errorf("encoded %s, %v", out, err)
		}
	})
	t.Run("yaml", func(t *testing.T) {
		var c config
		if err := yaml.Unmarshal([]byte("limits:\n  narrowcast: 30/1h\n  multicast: 100/s\n"), &c); err != nil {
			t.Fatal(err)
		}
		if c.Limits.For(intent.Narrowcast).String() != "30/1h" || c.Limits.For(intent.Multicast).String() != "100/1s" {
			t.Errorf("decoded %v", c.Limits)
		}
		err := yaml.Unmarshal([]byte("limits:\n  push: fast\n"), &c)
		if err == nil || !strings.Contains(err.Error(), `limits["push"]`) {
			t.Errorf("bad value: %v", err)
		}
		out, err := yaml.Marshal(config{Limits: Table{intent.Broadcast: MustParseLimit("60/1h")}})
		if err != nil || string(out) != "limits:\n    broadcast: 60/1h\n" {
			t.Errorf("encoded %q, %v", out, err)
		}
	})
	t.Run("config yaml", func(t *testing.T) {
		var c Config
		in := "safety: 0.98\nburst: 3\naimd:\n  decrease: 0.7\n  recoverEvery: 500ms\n"
		if err := yaml.Unmarshal([]byte(in), &c); err != nil {
			t.Fatal(err)
		}
		want := Config{Safety: 0.98, Burst: 3, AIMD: AIMDConfig{Decrease: 0.7, RecoverEvery: 500 * time.Millisecond}}
		if c != want {
			t.Errorf("decoded %+v, want %+v", c, want)
		}
	})
}
