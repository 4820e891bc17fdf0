package sender_test

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/sender"
	"github.com/linedispatch/linedispatch/internal/token"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  sender.Config
		want string // error prefix; "" means valid
	}{
		{"minimal", sender.Config{BotHeader: botHeader}, ""},
		{"full", sender.Config{BaseURL: "http://linesim:8080/", BotHeader: botHeader, Timeout: 1, MaxConnsPerHost: 10, UserAgent: "x/1"}, ""},
		{"no bot header", sender.Config{}, "sender: BotHeader: required"},
		{"bot header with space", sender.Config{BotHeader: "X Bot"}, "sender: BotHeader:"},
		{"bot header is Authorization", sender.Config{BotHeader: "authorization"}, "sender: BotHeader:"},
		{"bot header is the retry key", sender.Config{BotHeader: "x-line-retry-key"}, "sender: BotHeader:"},
		{"bad scheme", sender.Config{BotHeader: botHeader, BaseURL: "ftp://x"}, "sender: BaseURL:"},
		{"no host", sender.Config{BotHeader: botHeader, BaseURL: "https://"}, "sender: BaseURL:"},
		{"query", sender.Config{BotHeader: botHeader, BaseURL: "https://x/?a=b"}, "sender: BaseURL:"},
		{"negative timeout", sender.Config{BotHeader: botHeader, Timeout: -1}, "sender: Timeout:"},
		{"negative conns", sender.Config{BotHeader: botHeader, MaxConnsPerHost: -1}, "sender: MaxConnsPerHost:"},
		{"user agent newline", sender.Config{BotHeader: botHeader, UserAgent: "a\nb"}, "sender: UserAgent:"},
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

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	if _, err := sender.New(sender.Config{}, token.NewStatic(nil), zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "BotHeader") {
		t.Fatalf("New without BotHeader: %v", err)
	}
	if _, err := sender.New(sender.Config{BotHeader: botHeader}, nil, zerolog.Nop()); err == nil {
		t.Fatal("New without token provider succeeded")
	}
}

func TestRoute(t *testing.T) {
	t.Parallel()
	for _, e := range intent.Endpoints {
		method, path, ok := sender.Route(e)
		if !ok || method != "POST" || !strings.HasPrefix(path, "/v2/bot/message/") {
			t.Errorf("Route(%s) = %s %s %v", e, method, path, ok)
		}
	}
	if _, _, ok := sender.Route("richmenu"); ok {
		t.Error("Route accepted an unsupported endpoint")
	}
	if _, path, _ := sender.Route(intent.MarkAsRead); path != "/v2/bot/message/markAsRead" {
		t.Errorf("markasread path = %s", path)
	}
}
