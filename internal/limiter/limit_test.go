package limiter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in      string
		want    Limit
		str     string // String() of the result
		wantErr string // substring of the error; "" = success
	}{
		{in: "2000/1s", want: Limit{2000, time.Second}, str: "2000/1s"},
		{in: "60/1h", want: Limit{60, time.Hour}, str: "60/1h"},
		{in: "60/h", want: Limit{60, time.Hour}, str: "60/1h"},
		{in: "200/s", want: Limit{200, time.Second}, str: "200/1s"},
		{in: "5/200ms", want: Limit{5, 200 * time.Millisecond}, str: "5/200ms"},
		{in: " 60 / 3.6s ", want: Limit{60, 3600 * time.Millisecond}, str: "60/3600ms"},
		{in: "100/60m", want: Limit{100, time.Hour}, str: "100/1h"},
		{in: "3/90m", want: Limit{3, 90 * time.Minute}, str: "3/90m"},
		{in: "1/1500us", want: Limit{1, 1500 * time.Microsecond}, str: "1/1500us"},
		{in: "1/7ns", want: Limit{1, 7}, str: "1/7ns"},
		{in: "2000", wantErr: "COUNT/PERIOD"},
		{in: "", wantErr: "COUNT/PERIOD"},
		{in: "abc/1s", wantErr: `count "abc"`},
		{in: "1.5/1s", wantErr: `count "1.5"`},
		{in: "/1s", wantErr: `count ""`},
		{in: "10/", wantErr: `period ""`},
		{in: "10/fortnight", wantErr: `period "1fortnight"`},
		{in: "10/1s/2", wantErr: `period "1s/2"`},
		{in: "0/1s", wantErr: "at least 1"},
		{in: "-5/1s", wantErr: "at least 1"},
		{in: "2000000/1s", wantErr: "above the maximum"},
		{in: "10/0s", wantErr: "must be positive"},
		{in: "10/-1s", wantErr: "must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLimit(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseLimit(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.in) {
					t.Errorf("error %q does not quote the input", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLimit(%q): %v", tt.in, err)
			}
			if got != tt.want || got.String() != tt.str {
				t.Errorf("ParseLimit(%q) = %v (%q), want %v (%q)", tt.in, got, got.String(), tt.want, tt.str)
			}
		})
	}
}

func TestLimitRate(t *testing.T) {
	tests := []struct {
		limit string
		want  float64
	}{
		{"2000/1s", 2000},
		{"60/1h", 1.0 / 60},
		{"5/200ms", 25},
	}
	for _, tt := range tests {
		if got := MustParseLimit(tt.limit).Rate(); got != tt.want {
			t.Errorf("%s.Rate() = %v, want %v", tt.limit, got, tt.want)
		}
	}
	if got := (Limit{}).Rate(); got != 0 {
		t.Errorf("zero Limit rate %v", got)
	}
}

func TestLimitScaled(t *testing.T) {
	tests := []struct {
		limit string
		scale float64
		want  string
	}{
		{"60/1h", 0.001, "60/3600ms"},
		{"2000/1s", 0.001, "2000/1ms"},
		{"5/200ms", 10, "5/2s"},
		{"1/1ns", 0.001, "1/1ns"}, // never zero
		{"1/1h", 1e300, "1/9223372036854775807ns"},
	}
	for _, tt := range tests {
		if got := MustParseLimit(tt.limit).Scaled(tt.scale).String(); got != tt.want {
			t.Errorf("%s scaled by %v = %s, want %s", tt.limit, tt.scale, got, tt.want)
		}
	}
	for _, bad := range []float64{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Scaled(%v) did not panic", bad)
				}
			}()
			MustParseLimit("1/1s").Scaled(bad)
		}()
	}
}

func TestLimitText(t *testing.T) {
	type doc struct {
		Limit Limit  `json:"limit"`
		Ptr   *Limit `json:"ptr"`
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"limit":"60/1h","ptr":"200/s"}`), &d); err != nil {
		t.Fatal(err)
	}
	if d.Limit != (Limit{60, time.Hour}) || *d.Ptr != (Limit{200, time.Second}) {
		t.Errorf("decoded %+v %+v", d.Limit, *d.Ptr)
	}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"limit":"60/1h","ptr":"200/1s"}` {
		t.Errorf("encoded %s", out)
	}
	if err := json.Unmarshal([]byte(`{"limit":"lots"}`), &d); err == nil {
		t.Error("decoded an invalid limit")
	}
	if _, err := json.Marshal(doc{Ptr: &Limit{}}); err == nil {
		t.Error("encoded an invalid limit")
	}
}
