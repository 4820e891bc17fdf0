package sender_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/lineapi"
	"github.com/linedispatch/linedispatch/internal/sender"
	"github.com/linedispatch/linedispatch/internal/token"
)

func ExampleSender_Send() {
	// A stand-in for LINE; in production BaseURL is left at the default.
	line := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(lineapi.RequestIDHeader, "f70dd685-499a-4231-a441-f24b8d4fba21")
		_, _ = io.WriteString(w, `{"sentMessages":[{"id":"461230966842064897","quoteToken":"IStG5h1Tz7b"}]}`)
	}))
	defer line.Close()

	tokens := token.NewStatic(map[string]string{"1234567890": "channel-access-token"})
	s, err := sender.New(sender.Config{
		BaseURL:   line.URL,
		BotHeader: "X-Module-Bot", // the partner-confidential name comes from configuration
	}, tokens, zerolog.Nop())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	resp, err := s.Send(context.Background(), sender.Request{
		Channel:  "1234567890",
		Bot:      "U0123456789abcdef0123456789abcdef",
		Endpoint: intent.Push,
		Body:     []byte(`{"to":"U4af4980629...","messages":[{"type":"text","text":"Hello"}]}`),
		RetryKey: "123e4567-e89b-42d3-a456-426614174000", // minted once, by the producer
	})
	fmt.Println(sender.Classify(resp, err), resp.Status, resp.RequestID)
	// Output: sent 200 f70dd685-499a-4231-a441-f24b8d4fba21
}

// A lane's loop: every attempt, including retries, first takes a rate-limit
// token (elided here); the backoff only spaces retries, and the intent's
// deadline ends them.
func ExampleClassify() {
	var calls atomic.Int32
	line := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 { // LINE has a bad moment
			lineapi.WriteError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		_, _ = io.WriteString(w, `{}`)
	}))
	defer line.Close()

	s, _ := sender.New(sender.Config{BaseURL: line.URL, BotHeader: "X-Module-Bot"},
		token.NewStatic(map[string]string{"1234567890": "t"}), zerolog.Nop())
	defer s.Close()
	req := sender.Request{
		Channel: "1234567890", Bot: "U0123456789abcdef0123456789abcdef", Endpoint: intent.Multicast,
		Body: []byte(`{"to":["U1"],"messages":[{"type":"text","text":"Hi"}]}`), RetryKey: "123e4567-e89b-42d3-a456-426614174000",
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // the intent's deadline
	defer cancel()
	b := sender.RetryConfig{InitialInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond}.NewBackOff()
	for {
		// limiter.Wait(ctx) would go here.
		resp, err := s.Send(ctx, req) // same request, same key, every time
		class := sender.Classify(resp, err)
		fmt.Println("attempt", calls.Load(), class)
		if class != sender.ClassRetry && class != sender.ClassThrottle {
			break // sent: record and ack; quota/reject: dead letter; canceled: put back
		}
		select {
		case <-time.After(b.NextBackOff()):
		case <-ctx.Done():
			return
		}
	}
	// Output:
	// attempt 1 retry
	// attempt 2 retry
	// attempt 3 sent
}
