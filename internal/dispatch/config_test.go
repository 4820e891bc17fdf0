package dispatch

import (
	"strings"
	"testing"

	"github.com/linedispatch/linedispatch/internal/limiter"
)

// TestConfigValidateNamesTheLimiterField: the lanes' limiter settings are
// checked at start, not when the first lane needs a limiter.
func TestConfigValidateNamesTheLimiterField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  limiter.Config
		want string // "" = valid
	}{
		{"defaults", limiter.Config{}, ""},
		{"ignore late answers", limiter.Config{LateAnswers: limiter.LateAnswersIgnore}, ""},
		{"late answers", limiter.Config{LateAnswers: "sometimes"}, "dispatch.limiter: lateAnswers"},
		{"safety", limiter.Config{Safety: 1.5}, "dispatch.limiter: safety"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Config{Limiter: tt.cfg}.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}
