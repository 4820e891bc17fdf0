package scenario

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/queue"
)

func TestParseProcStat(t *testing.T) {
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
	// majflt cmajflt utime stime …; the name may hold spaces and ')'.
	line := "4242 (nats server) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 37 0 0 25 5 12 0 100 0 0\n"
	got, err := parseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2870 * time.Millisecond; got != want {
		t.Errorf("parseProcStat = %s, want %s", got, want)
	}
	if _, err := parseProcStat("4242 (short) S 1 2"); err == nil {
		t.Error("short line accepted")
	}
	// /proc counts whole clock ticks: spin past a few.
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
	}
	if c, err := procCPU(os.Getpid()); err != nil || c <= 0 {
		t.Errorf("procCPU(self) = %s, %v", c, err)
	}
}

// TestProcessNATS starts the single-node nats-server process, provisions
// the streams on it and reads its CPU.
func TestProcessNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nats-server and starts it")
	}
	bin := natsServerBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	n, err := StartProcessNATS(ctx, bin, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	conf, err := os.ReadFile(n.configPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server_name: nats", "max_payload: 4MB", `store_dir: "` + dir, "max_file_store: 4GB"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	conn, err := queue.Open(ctx, queue.Config{URL: n.URL(), Partitions: 4, Replicas: n.Replicas(), ConnName: "process-test"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	var _ NATSProcesses = n
	if pids := n.PIDs(); len(pids) != 1 {
		t.Errorf("PIDs %v", pids)
	}
	live := n.CPU() // whole clock ticks of /proc: start-up may take less than one
	n.Close()
	if n.PIDs() != nil || n.running() {
		t.Error("still running after Close")
	}
	if c := n.CPU(); c <= 0 || c < live {
		t.Errorf("CPU %s after Close, %s before (the ended life must count)", c, live)
	}
	if u := n.Unexpected(); len(u) > 0 {
		t.Errorf("unexpected exits: %v", u)
	}
}
