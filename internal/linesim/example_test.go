package linesim_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/linedispatch/linedispatch/internal/linesim"
)

// Start linesim, send a push as a dispatcher would, then assert on the
// counters through the admin client.
func ExampleStart() {
	const (
		channel = "1234567890"
		bot     = "U0123456789abcdef0123456789abcdef"
		user    = "U1111111111111111111111111111111a"
	)
	srv, err := linesim.Start(linesim.Config{
		Channels: []linesim.Channel{{ID: channel, Secret: "secret", Bots: []string{bot}, StaticTokens: []string{"dev-token"}}},
	}, "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	push := func() int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/v2/bot/message/push",
			strings.NewReader(`{"to":"`+user+`","messages":[{"type":"text","text":"hello"}]}`))
		req.Header.Set("Authorization", "Bearer dev-token")
		req.Header.Set(linesim.DefaultBotHeader, bot)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Line-Retry-Key", "123e4567-e89b-12d3-a456-426614174000")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	first, retry := push(), push()

	ctx := context.Background()
	cli := linesim.NewClient(srv.AdminURL())
	ks, err := cli.Key(ctx, channel, bot, linesim.EPPush)
	if err != nil {
		panic(err)
	}
	n, _ := cli.Deliveries(ctx, user)
	rep, _ := cli.Report(ctx)
	fmt.Println(first, retry)
	fmt.Printf("accepted=%d conflicts=%d throttled=%d limit=%s deliveries=%d duplicates=%d\n",
		ks.Accepted, ks.Conflicts, ks.Throttled, ks.Limit, n, rep.DuplicateDeliveries)
	// Output:
	// 200 409
	// accepted=1 conflicts=1 throttled=0 limit=2000/1s deliveries=1 duplicates=0
}
