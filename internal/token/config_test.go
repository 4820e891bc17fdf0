package token

import (
	"strings"
	"testing"
)

func TestStatelessConfigValidate(t *testing.T) {
	t.Parallel()
	ok := map[string]string{"1": "s"}
	tests := []struct {
		name string
		cfg  StatelessConfig
		want string
	}{
		{"ok", StatelessConfig{Credentials: ok}, ""},
		{"bad scheme", StatelessConfig{BaseURL: "ftp://x", Credentials: ok}, "token: BaseURL:"},
		{"no host", StatelessConfig{BaseURL: "http://", Credentials: ok}, "token: BaseURL:"},
		{"no credentials", StatelessConfig{}, "token: Credentials:"},
		{"empty id", StatelessConfig{Credentials: map[string]string{"": "s"}}, "token: Credentials: empty channel ID"},
		{"empty secret", StatelessConfig{Credentials: map[string]string{"7": ""}}, `token: Credentials["7"]: empty secret`},
		{"negative timeout", StatelessConfig{Credentials: ok, Timeout: -1}, "token: Timeout:"},
		{"negative refresh", StatelessConfig{Credentials: ok, RefreshBefore: -1}, "token: RefreshBefore:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v, want prefix %q", err, tt.want)
			}
		})
	}
}
