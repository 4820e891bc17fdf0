package sender_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/linedispatch/linedispatch/internal/sender"
)

func TestRetryConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  sender.RetryConfig
		want string
	}{
		{"zero is defaults", sender.RetryConfig{}, ""},
		{"explicit", sender.RetryConfig{InitialInterval: time.Second, MaxInterval: time.Minute, Multiplier: 1.5, RandomizationFactor: 1}, ""},
		{"negative initial", sender.RetryConfig{InitialInterval: -1}, "sender: retry InitialInterval:"},
		{"negative max", sender.RetryConfig{MaxInterval: -1}, "sender: retry MaxInterval:"},
		{"max below initial", sender.RetryConfig{InitialInterval: time.Minute, MaxInterval: time.Second}, "sender: retry MaxInterval:"},
		{"initial above default max", sender.RetryConfig{InitialInterval: time.Hour}, "sender: retry MaxInterval:"},
		{"shrinking", sender.RetryConfig{Multiplier: 0.5}, "sender: retry Multiplier:"},
		{"jitter above 1", sender.RetryConfig{RandomizationFactor: 1.5}, "sender: retry RandomizationFactor:"},
		{"negative jitter", sender.RetryConfig{RandomizationFactor: -0.1}, "sender: retry RandomizationFactor:"},
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

func TestNewBackOffGrowsWithinBoundsAndNeverStops(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  sender.RetryConfig
		init time.Duration
		max  time.Duration
		mult float64
		rf   float64
	}{
		{"defaults", sender.RetryConfig{}, 500 * time.Millisecond, time.Minute, 2, 0.5},
		{"custom", sender.RetryConfig{InitialInterval: 10 * time.Millisecond, MaxInterval: 80 * time.Millisecond, Multiplier: 3, RandomizationFactor: 0.1},
			10 * time.Millisecond, 80 * time.Millisecond, 3, 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := tt.cfg.NewBackOff()
			cur := float64(tt.init)
			for i := range 200 {
				d := b.NextBackOff()
				if d == backoff.Stop {
					t.Fatalf("attempt %d: Stop; the intent's deadline, not the backoff, ends retries", i)
				}
				lo, hi := time.Duration(cur*(1-tt.rf)), time.Duration(cur*(1+tt.rf))
				if d < lo-1 || d > hi+1 {
					t.Fatalf("attempt %d: %s outside [%s, %s]", i, d, lo, hi)
				}
				cur = min(cur*tt.mult, float64(tt.max))
			}
		})
	}
}
