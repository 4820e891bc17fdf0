package unit_test

import (
	"strings"
	"testing"

	"github.com/linedispatch/linedispatch/internal/unit"
)

func TestConfigValidateNamesField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   unit.Config
		field string
	}{
		{"cap negative", unit.Config{Cap: -1}, "units.cap"},
		{"cap too big", unit.Config{Cap: unit.MaxCap + 1}, "units.cap"},
		{"policy", unit.Config{Policy: "drop"}, "units.policy"},
		{"bucket", unit.Config{Bucket: "LINE.UNITS"}, "units.bucket"},
		{"replicas", unit.Config{Replicas: 7}, "units.replicas"},
		{"cache", unit.Config{CacheSize: -1}, "units.cacheSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.field)
			}
		})
	}
	if err := (unit.Config{}).Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	d := unit.Config{}.WithDefaults()
	if d.Cap != unit.DefaultCap || d.Policy != unit.PolicyReject || d.Bucket != unit.DefaultBucket {
		t.Errorf("defaults = %+v", d)
	}
}
