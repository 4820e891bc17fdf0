package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/linedispatch/linedispatch/internal/config"
)

func TestExampleFileIsValid(t *testing.T) {
	t.Setenv("LINEDISPATCH_CHANNEL_1234567890_SECRET", "from-env")
	c, err := config.Load("../../config/dispatcher.example.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.LINE.Channels[0].Secret != "from-env" {
		t.Errorf("secret not taken from the environment")
	}
	if c.NATS.Partitions != 32 || c.Dispatch.AckWait.String() != "30s" {
		t.Errorf("example values not read: partitions %d, ackWait %s", c.NATS.Partitions, c.Dispatch.AckWait)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	base := `line: {botHeader: X-Bot, channels: [{id: "1", token: t}]}` + "\n"
	tests := []struct {
		name, yaml, field string
	}{
		{"no bot header", `line: {channels: [{id: "1", token: t}]}`, "line.botHeader"},
		{"no channels", `line: {botHeader: X-Bot}`, "line.channels"},
		{"bad channel id", `line: {botHeader: X-Bot, channels: [{id: "abc", token: t}]}`, "line.channels[0].id"},
		{"no credentials", `line: {botHeader: X-Bot, channels: [{id: "1"}]}`, "line.channels[0]"},
		{"both credentials", `line: {botHeader: X-Bot, channels: [{id: "1", token: t, secret: s}]}`, "line.channels[0]"},
		{"bad limit", base + `limits: {push: "fast"}`, "limits"},
		{"unknown endpoint limit", base + `limits: {pigeon: "1/1s"}`, "pigeon"},
		{"bad base URL", `line: {baseURL: "ftp://x", botHeader: X-Bot, channels: [{id: "1", token: t}]}`, "line.baseURL"},
		{"bad level", base + `log: {level: loud}`, "log.level"},
		{"bad partitions", base + `nats: {partitions: 5000}`, "nats.partitions"},
		{"bad senders", base + `dispatch: {senders: -1}`, "dispatch.senders"},
		{"bad policy", base + `units: {policy: maybe}`, "units.policy"},
		{"bad scale", base + `periodScale: 2`, "periodScale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c config.Config
			if err := config.Parse([]byte(tt.yaml), &c); err != nil {
				t.Fatal(err)
			}
			c.SetDefaults()
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.field)
			}
		})
	}
}

func TestUnknownFieldIsAnError(t *testing.T) {
	t.Parallel()
	var c config.Config
	err := config.Parse([]byte("line: {botHeadr: X}\n"), &c)
	if err == nil || !strings.Contains(err.Error(), "botHeadr") {
		t.Errorf("Parse() = %v, want an error naming the unknown field", err)
	}
}

func TestMissingFileIsAnError(t *testing.T) {
	t.Parallel()
	if _, err := config.Load("does-not-exist.yaml", nil); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("Load() = %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func FuzzParse(f *testing.F) {
	b, err := os.ReadFile("../../config/dispatcher.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`line: {botHeader: X-Bot, channels: [{id: "1", token: t}]}`))
	f.Add([]byte("limits: {push: 1/0s}\n"))
	f.Add([]byte("nats: {partitions: -1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c config.Config
		if config.Parse(data, &c) != nil {
			return
		}
		c.SetDefaults()
		_ = c.Validate() // must not panic, whatever the file says
	})
}
