package linesim

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// benchSim starts linesim with limits high enough not to throttle.
func benchConfig() Config {
	return Config{
		Channels: []Channel{{ID: testChannel, Secret: testSecret, Bots: []string{botA, botB}, StaticTokens: []string{testStatic}}},
		Limits:   map[string]Limit{EPPush: {Count: 10_000_000, Period: time.Second}},
	}
}

// benchPushRequest builds push number n: a distinct text and, with withKey,
// a distinct retry key (a UUID derived from n: cheaper than crypto/rand).
func benchPushRequest(u *url.URL, n uint64, withKey bool) *http.Request {
	body := []byte(`{"to":"` + userU + `","messages":[{"type":"text","text":"benchmark message ` + strconv.FormatUint(n, 10) + `"}]}`)
	h := http.Header{
		"Authorization": {"Bearer " + testStatic},
		"X-Line-Bot-Id": {botA},
		"Content-Type":  {"application/json"},
	}
	if withKey {
		var id uuid.UUID
		binary.BigEndian.PutUint64(id[8:], n)
		id[6], id[8] = 0x40, 0x80
		h["X-Line-Retry-Key"] = []string{id.String()}
	}
	return &http.Request{Method: http.MethodPost, URL: u, Host: u.Host, Header: h, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
}

// BenchmarkPush measures push requests per second over real loopback HTTP
// with parallel keep-alive clients, each request with its own retry key.
func BenchmarkPush(b *testing.B) {
	srv, err := Start(benchConfig(), "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	u, _ := url.Parse(srv.URL() + "/v2/bot/message/push")
	var seq atomic.Uint64
	var failed atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := hc.Do(benchPushRequest(u, seq.Add(1), true))
			if err != nil {
				failed.Add(1)
				continue
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N)
	}
	reportRates(b, elapsed, cpu)
}

// reportRates reports requests per second of wall time, and the process CPU
// time per request (client and server together): on a busy machine,
// runtime.NumCPU()/cpu-per-request is what the cores could do alone.
func reportRates(b *testing.B, elapsed, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	if cpu > 0 {
		per := cpu.Seconds() / float64(b.N)
		b.ReportMetric(per*1e6, "cpu-µs/req")
		b.ReportMetric(float64(runtime.GOMAXPROCS(0))/per, "req/s-at-full-cpu")
	}
}

// cpuTime is the CPU time (user + system) this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHandlerPush measures the handler alone (no network).
func BenchmarkHandlerPush(b *testing.B) {
	sim, err := New(benchConfig())
	if err != nil {
		b.Fatal(err)
	}
	h := sim.Handler()
	u, _ := url.Parse("http://linesim/v2/bot/message/push")
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, benchPushRequest(u, seq.Add(1), true))
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
	reportRates(b, time.Since(start), cpuTime()-cpu0)
}
