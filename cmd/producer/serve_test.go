package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestServeShutsDownGracefully: after the stop signal (ctx) a request in
// flight still gets its answer, new connections are refused, and serve
// returns nil.
func TestServeShutsDownGracefully(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, h, zerolog.Nop(), time.Second, 10*time.Second) }()

	url := "http://" + ln.Addr().String()
	answer := make(chan string, 1)
	go func() {
		res, err := http.Get(url)
		if err != nil {
			answer <- "error: " + err.Error()
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		answer <- string(b)
	}()
	<-entered
	stop()
	// Poll until the listener is closed (Shutdown's first step).
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after shutdown began")
		}
		<-tick.C
	}
	close(release)
	if got := <-answer; got != "done" {
		t.Fatalf("in-flight request got %q", got)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return")
	}
}

func TestServeCommandValidatesFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--max-batch", "0"}, {"--log-level", "loud"}, {"extra"}} {
		std, _, errb := testStdio(nil)
		if code := runServe(context.Background(), args, std); code != exitUsage {
			t.Errorf("serve %q: exit %d, stderr %s", args, code, errb.String())
		}
	}
	std, _, errb := testStdio(nil)
	if code := runServe(context.Background(), []string{"--nats-url", "nats://127.0.0.1:1"}, std); code != exitFail ||
		!strings.Contains(errb.String(), "connect to NATS") {
		t.Errorf("serve without NATS: exit %d, stderr %s", code, errb.String())
	}
}

// TestServeCommand runs the whole command against JetStream: it logs where it
// listens, accepts an intent, and exits 0 on the stop signal.
func TestServeCommand(t *testing.T) {
	t.Parallel()
	qctx, q := setupQueue(t)
	std, _, errb := testStdio(map[string]string{"LINEDISPATCH_NATS_URL": q.URL()})
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	exited := make(chan int, 1)
	go func() { exited <- runServe(ctx, []string{"--addr", "127.0.0.1:0", "--log-level", "debug"}, std) }()

	listening := regexp.MustCompile(`"addr":"(127\.0\.0\.1:\d+)".*"message":"gateway listening"`)
	var addr string
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(10 * time.Second); addr == ""; <-tick.C {
		if m := listening.FindStringSubmatch(errb.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("gateway did not log its address:\n%s", errb.String())
		}
	}
	res, err := http.Post("http://"+addr+"/v1/intents", "application/json", strings.NewReader(minimal("via serve")))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", res.StatusCode)
	}
	if n := len(stored(t, qctx, q.JS)); n != 1 {
		t.Fatalf("%d stored", n)
	}
	stop()
	select {
	case code := <-exited:
		if code != exitOK || !strings.Contains(errb.String(), "gateway stopped") {
			t.Fatalf("exit %d:\n%s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not exit")
	}
}
