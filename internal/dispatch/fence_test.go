package dispatch

import (
	"testing"

	"github.com/linedispatch/linedispatch/internal/ownership"
)

func TestPreviousOwner(t *testing.T) {
	t.Parallel()
	three := []string{"pod-0", "pod-1", "pod-2"}
	// A partition that pod-2 owns among all three, and who owned it among
	// the other two.
	p, before := -1, ""
	for q := 0; q < 64 && p < 0; q++ {
		if ownership.Owner(64, q, three) == "pod-2" {
			p, before = q, ownership.Owner(64, q, []string{"pod-0", "pod-1"})
		}
	}
	if p < 0 {
		t.Fatal("no partition owned by pod-2")
	}
	tests := []struct {
		name    string
		prev    []string
		members []string
		want    string
	}{
		{"joined: the owner among the others, who is still a member", nil, three, before},
		{"known previous members", []string{"pod-0", "pod-1"}, three, before},
		{"previous owner gone: no fence", []string{"pod-0", "pod-1"}, []string{"pod-2", other(before)}, ""},
		{"alone", nil, []string{"pod-2"}, ""},
		{"owned it before: no fence", three, three, ""},
	}
	for _, tt := range tests {
		if got := previousOwners(ownership.ProtocolVersion, 64, "pod-2", tt.prev, tt.members)[p]; got != tt.want {
			t.Errorf("%s: previousOwners[%d] = %q, want %q", tt.name, p, got, tt.want)
		}
	}
}

// other returns the one of pod-0 and pod-1 that is not pod.
func other(pod string) string {
	if pod == "pod-0" {
		return "pod-1"
	}
	return "pod-0"
}

func TestPodReleasedKeyIsAValidKVKey(t *testing.T) {
	t.Parallel()
	for pod, want := range map[string]string{
		"pod-0":             "released.p7.pod-0",
		"host.example.com":  "released.p7.host_example_com",
		"weird name/with*>": "released.p7.weird_name_with__",
	} {
		if got := podReleasedKey(7, pod); got != want {
			t.Errorf("podReleasedKey(7, %q) = %q, want %q", pod, got, want)
		}
	}
}
