package sender_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/intent"
	"github.com/linedispatch/linedispatch/internal/lineapi"
	"github.com/linedispatch/linedispatch/internal/retrykey"
	"github.com/linedispatch/linedispatch/internal/sender"
	"github.com/linedispatch/linedispatch/internal/token"
)

const benchAnswer = `{"sentMessages":[{"id":"461230966842064897","quoteToken":"IStG5h1Tz7b"}]}`

func benchServer(b *testing.B) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set(lineapi.RequestIDHeader, "f70dd685-499a-4231-a441-f24b8d4fba21")
		_, _ = io.WriteString(w, benchAnswer)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkSendPush measures one push through the sender against a local
// server. allocs/op includes the in-process server's own allocations; compare
// with BenchmarkRawClientPush, the same exchange with a bare http.Client, to
// see the sender's share.
func BenchmarkSendPush(b *testing.B) {
	srv := benchServer(b)
	s, err := sender.New(sender.Config{BaseURL: srv.URL, BotHeader: botHeader, Metrics: sender.NewMetrics()},
		token.NewStatic(map[string]string{testChannel: staticToken}), zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	req := sender.Request{Channel: testChannel, Bot: testBot, Endpoint: intent.Push, Body: []byte(testBody), RetryKey: retrykey.New()}
	ctx := context.Background()

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if resp, err := s.Send(ctx, req); err != nil || resp.Status != 200 {
				b.Fatal(resp, err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if resp, err := s.Send(ctx, req); err != nil || resp.Status != 200 {
					b.Error(resp, err)
					return
				}
			}
		})
	})
}

func BenchmarkRawClientPush(b *testing.B) {
	srv := benchServer(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	b.Cleanup(client.CloseIdleConnections)
	key := retrykey.New()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/bot/message/push", bytes.NewReader([]byte(testBody)))
		req.Header.Set("Authorization", "Bearer "+staticToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(botHeader, testBot)
		req.Header.Set(retrykey.Header, key)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
	}
}
