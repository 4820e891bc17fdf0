package dispatch

import "testing"

func TestSubjectKeyOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		subject     string
		ch, bot, ep string
		ok          bool
	}{
		{"line.q.7.1234567890.Uabc.push", "1234567890", "Uabc", "push", true},
		{"line.backlog.63.1.U1.multicast", "1", "U1", "multicast", true},
		{"line.q.7.1234567890.Uabc", "", "", "", false},
		{"line.q.7.1234567890.Uabc.push.extra", "", "", "", false},
		{"line.q.7..Uabc.push", "", "", "", false},
		{"line.q.7.1.U1.", "", "", "", false},
		{"", "", "", "", false},
	}
	for _, tt := range tests {
		ch, bot, ep, ok := subjectKeyOf(tt.subject)
		if ch != tt.ch || bot != tt.bot || ep != tt.ep || ok != tt.ok {
			t.Errorf("subjectKeyOf(%q) = %q, %q, %q, %v; want %q, %q, %q, %v",
				tt.subject, ch, bot, ep, ok, tt.ch, tt.bot, tt.ep, tt.ok)
		}
	}
}

func BenchmarkSubjectKeyOf(b *testing.B) {
	for b.Loop() {
		subjectKeyOf("line.q.7.1234567890.U000000000000000000000000b0700000.push")
	}
}
