package sender

import (
	"bytes"
	"errors"
	"io"
	"net/textproto"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/linedispatch/linedispatch/internal/retrykey"
)

func TestRetryKeyHeaderIsCanonical(t *testing.T) {
	t.Parallel()
	if got := textproto.CanonicalMIMEHeaderKey(retrykey.Header); got != hRetryKey {
		t.Fatalf("canonical %q != hRetryKey %q", got, hRetryKey)
	}
}

func TestReadBody(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", maxResponseBody+10)
	tests := []struct {
		name    string
		r       io.Reader
		cl      int64
		wantLen int
		wantErr bool
	}{
		{"exact length", strings.NewReader("{}"), 2, 2, false},
		{"unknown length", strings.NewReader(strings.Repeat("a", 2000)), -1, 2000, false},
		{"empty", strings.NewReader(""), 0, 0, false},
		{"capped", strings.NewReader(big), int64(len(big)), maxResponseBody, false},
		{"capped, unknown length", strings.NewReader(big), -1, maxResponseBody, false},
		{"one byte at a time", iotest.OneByteReader(strings.NewReader("hello")), 5, 5, false},
		{"read error keeps prefix", io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(errors.New("reset"))), -1, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := readBody(tt.r, tt.cl)
			if len(b) != tt.wantLen || (err != nil) != tt.wantErr {
				t.Fatalf("len %d err %v", len(b), err)
			}
		})
	}
}

func TestHeaderSharesNoState(t *testing.T) {
	t.Parallel()
	s := &Sender{cfg: Config{UserAgent: "ua"}, botHeader: "X-Bot"}
	h1 := s.header(&Request{Bot: "U1", RetryKey: "k"}, "t1")
	h2 := s.header(&Request{Bot: "U2"}, "t2")
	h1["Authorization"][0] = "mutated"
	if h2.Get("Authorization") != "Bearer t2" || h2.Get("X-Line-Retry-Key") != "" || h1.Get("X-Bot") != "U1" {
		t.Fatalf("h1 %v h2 %v", h1, h2)
	}
	var buf bytes.Buffer
	_ = h2.Write(&buf)
	if strings.Contains(buf.String(), "Retry") {
		t.Fatalf("unkeyed header carries a retry key: %s", buf.String())
	}
}
