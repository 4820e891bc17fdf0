package scenario

import (
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// child is what the runner keeps of a process it starts, stops and starts
// again (a pod, a nats-server): the running life and what its lives add
// up to. mu also guards the fields of the type that embeds it.
type child struct {
	mu       sync.Mutex
	cmd      *exec.Cmd     // nil when stopped
	exited   chan struct{} // closed once the running life is reaped
	stopping bool          // the exit was asked for
	starts   int
	cpu      time.Duration // user+system CPU of the ended lives
	// unexpected records exits nobody asked for.
	unexpected []string
}

// running reports whether the process is alive.
func (c *child) running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return false
	}
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// reapedLocked records the end of the life cmd (its Wait returned err):
// its CPU, and an unexpected exit unless it was asked for. c.mu is held.
func (c *child) reapedLocked(cmd *exec.Cmd, err error) {
	c.cpu += exitCPU(cmd.ProcessState)
	if !c.stopping {
		c.unexpected = append(c.unexpected, fmt.Sprintf("pid %d exited unexpectedly: %v", cmd.Process.Pid, err))
	}
}

// stop sends sig to the running process (if any) and waits until it is
// reaped; after timeout it calls onTimeout (when set) and kills it. before
// (when set) runs first, while the process still lives.
func (c *child) stop(sig syscall.Signal, timeout time.Duration, before, onTimeout func()) {
	c.mu.Lock()
	cmd, exited := c.cmd, c.exited
	if cmd == nil {
		c.mu.Unlock()
		return
	}
	c.stopping = true
	c.mu.Unlock()
	if before != nil {
		before()
	}
	select {
	case <-exited:
	default:
		_ = cmd.Process.Signal(sig)
		select {
		case <-exited:
		case <-time.After(timeout):
			if onTimeout != nil {
				onTimeout()
			}
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	c.mu.Lock()
	c.cmd = nil
	c.mu.Unlock()
}
