package limiter

import (
	"testing"
	"time"
)

// BenchmarkReserve is the scheduler's hot path: a backlogged 2000/1s lane
// polled at its own pace, so calls alternate between admissions and
// refusals the way a real scheduler's do.
func BenchmarkReserve(b *testing.B) {
	l := newLimiter(b, "2000/1s", Config{})
	now := epoch
	driveExact(l, now, now.Add(2*time.Second), nil) // warm: ring at full size
	now = now.Add(2 * time.Second)
	b.ReportAllocs()
	for b.Loop() {
		if ok, wait := l.Reserve(now); !ok {
			now = now.Add(wait)
		}
	}
}

// BenchmarkReserveRefused: a lane polled while it has no token (the call a
// round-robin scheduler makes for every lane that cannot send yet).
func BenchmarkReserveRefused(b *testing.B) {
	l := newLimiter(b, "60/1h", Config{})
	l.Reserve(epoch)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := l.Reserve(epoch.Add(time.Second)); ok {
			b.Fatal("admitted")
		}
	}
}

// BenchmarkReserveParallel: the same lane from all cores at once, on the real
// clock (the contended case the Limiter is safe for, not optimised for).
func BenchmarkReserveParallel(b *testing.B) {
	l := newLimiter(b, "1000000/1s", Config{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Reserve(time.Now())
		}
	})
}
