package sender_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"

	"github.com/linedispatch/linedispatch/internal/lineapi"
	"github.com/linedispatch/linedispatch/internal/sender"
	"github.com/linedispatch/linedispatch/internal/token"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	lineErr := func(status int, msg string) error {
		return fmt.Errorf("wrapped: %w", &lineapi.Error{Status: status, Message: msg})
	}
	netErr := &url.Error{Op: "Post", URL: "https://api.line.me/v2/bot/message/push", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	tests := []struct {
		name string
		resp *sender.Response
		err  error
		want sender.Class
	}{
		{"200", &sender.Response{Status: 200}, nil, sender.ClassSent},
		{"409", &sender.Response{Status: 409, Conflict: true}, nil, sender.ClassSent},
		{"nothing at all", nil, nil, sender.ClassRetry},
		{"500", nil, lineErr(500, "Internal Server Error"), sender.ClassRetry},
		{"503", nil, lineErr(503, ""), sender.ClassRetry},
		{"408", nil, lineErr(408, ""), sender.ClassRetry},
		{"429 throttle", nil, lineErr(429, "The API rate limit has been exceeded. Try again later."), sender.ClassThrottle},
		{"429 quota", nil, lineErr(429, lineapi.QuotaMessage), sender.ClassQuota},
		{"400", nil, lineErr(400, "bad"), sender.ClassReject},
		{"401", nil, lineErr(401, "invalid token"), sender.ClassReject},
		{"403", nil, lineErr(403, ""), sender.ClassReject},
		{"404", nil, lineErr(404, ""), sender.ClassReject},
		{"410", nil, lineErr(410, ""), sender.ClassReject},
		{"413", nil, lineErr(413, ""), sender.ClassReject},
		{"415", nil, lineErr(415, ""), sender.ClassReject},
		{"invalid request", nil, fmt.Errorf("x: %w", sender.ErrInvalidRequest), sender.ClassReject},
		{"unknown channel", nil, fmt.Errorf("x: %w", token.ErrUnknownChannel), sender.ClassReject},
		{"own timeout", nil, fmt.Errorf("x: %w: %w", sender.ErrTimeout, context.DeadlineExceeded), sender.ClassRetry},
		{"caller canceled", nil, fmt.Errorf("x: %w: %w", sender.ErrCanceled, context.Canceled), sender.ClassCanceled},
		{"caller deadline", nil, fmt.Errorf("x: %w: %w", sender.ErrCanceled, context.DeadlineExceeded), sender.ClassCanceled},
		{"bare context.Canceled", nil, context.Canceled, sender.ClassCanceled},
		{"network error", nil, netErr, sender.ClassRetry},
		{"token endpoint 400", nil, fmt.Errorf("x: %w", &lineapi.TokenError{Status: 400, Code: "invalid_client"}), sender.ClassRetry},
		{"unknown error", nil, errors.New("boom"), sender.ClassRetry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := sender.Classify(tt.resp, tt.err); got != tt.want {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClassString(t *testing.T) {
	t.Parallel()
	want := map[sender.Class]string{
		0: "unknown", sender.ClassSent: "sent", sender.ClassRetry: "retry", sender.ClassThrottle: "throttle",
		sender.ClassQuota: "quota", sender.ClassReject: "reject", sender.ClassCanceled: "canceled", 99: "unknown", -1: "unknown",
	}
	for c, s := range want {
		if c.String() != s {
			t.Errorf("Class(%d).String() = %q, want %q", int(c), c.String(), s)
		}
	}
}
