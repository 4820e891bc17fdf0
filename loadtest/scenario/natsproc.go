package scenario

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// BuildNATSServer builds the nats-server of the version go.mod requires
// (github.com/nats-io/nats-server/v2, from the module cache) into dir and
// returns the binary's path. Like BuildDispatcher it must run inside the
// linedispatch module.
func BuildNATSServer(ctx context.Context, dir string) (string, error) {
	return buildInModule(ctx, filepath.Join(dir, "nats-server"), "github.com/nats-io/nats-server/v2")
}

// natsProc is one nats-server process of a deployment (ProcessNATS has one,
// ClusterNATS three): its configuration file, log, JetStream store and
// loopback ports, started (again, on the same ports and store) by spawn and
// stopped by signal.
type natsProc struct {
	name       string
	dir        string // JetStream store
	configPath string
	logPath    string
	client     int // ports
	monitor    int

	child
	livePID int // the running life's pid, 0 once it has been reaped
}

// newNATSProc names a server whose files go under dir (name.conf, name.log,
// the store name/) and picks free loopback client and monitoring ports.
func newNATSProc(dir, name string) (*natsProc, error) {
	p := &natsProc{name: name, dir: filepath.Join(dir, name),
		configPath: filepath.Join(dir, name+".conf"), logPath: filepath.Join(dir, name+".log")}
	for _, port := range []*int{&p.client, &p.monitor} {
		var err error
		if *port, err = freePort(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// baseConfig renders what every server's configuration holds (the shape of
// config/nats/): its name, loopback client and monitoring ports,
// max_payload, and JetStream with its store in the run directory.
func (p *natsProc) baseConfig(title string) string {
	return fmt.Sprintf(`# %s (generated).
server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
max_payload: 4MB

jetstream {
  store_dir: %q
  max_memory_store: 256MB
  max_file_store: 4GB
}
`, title, p.name, p.client, p.monitor, p.dir)
}

func (p *natsProc) writeConfig(conf string) error {
	if err := os.MkdirAll(filepath.Dir(p.configPath), 0o750); err != nil {
		return err
	}
	return os.WriteFile(p.configPath, []byte(conf), 0o600)
}

// spawn starts the server with its configuration file, logging to its log.
func (p *natsProc) spawn(bin string) error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// NATS runs at the pods' niceness, below the runner, for the pods'
	// reason (PodSet.spawn): the runner hosts linesim, which plays LINE's
	// own servers and timestamps arrivals for the window check. LINE does
	// not share CPUs with our NATS; a simulator starved by the NATS under
	// measurement would read requests late and in bunches. NATS's own
	// scheduling delays stay in the measurement, as the pods' do.
	name, args := niced(bin, "--config", p.configPath)
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("%s: start %s: %w", p.name, bin, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.livePID, p.exited, p.stopping = cmd, cmd.Process.Pid, exited, false
	p.starts++
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.reapedLocked(cmd, err)
		p.livePID = 0
		p.mu.Unlock()
		logf.Close()
		close(exited)
	}()
	return nil
}

// CPU is the server's user+system CPU over all its lives: the ended ones
// from their exit status, as for pods (so a killed server's CPU up to its
// death counts too), the running one from /proc/<pid>/stat. Between a
// life's end and its reaping a read may miss that life for a moment.
func (p *natsProc) CPU() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	total := p.cpu
	if p.livePID != 0 {
		if c, err := procCPU(p.livePID); err == nil {
			total += c
		}
	}
	return total
}

// pid is the running process's ID, 0 when it is not running (once its
// exit has been reaped).
func (p *natsProc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.livePID
}

// signal sends sig and waits for the exit (SIGKILL after timeout).
func (p *natsProc) signal(sig syscall.Signal, timeout time.Duration) error {
	p.stop(sig, timeout, nil, nil)
	return nil
}

// Unexpected lists exits nobody asked for, named by the server.
func (p *natsProc) Unexpected() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, len(p.unexpected))
	for i, u := range p.unexpected {
		out[i] = p.name + ": " + u
	}
	return out
}

func (p *natsProc) clientURL() string  { return fmt.Sprintf("nats://127.0.0.1:%d", p.client) }
func (p *natsProc) monitorURL() string { return fmt.Sprintf("http://127.0.0.1:%d", p.monitor) }

var monitorClient = &http.Client{Timeout: 2 * time.Second}

// healthy asks the server's /healthz (with query q).
func (p *natsProc) healthy(ctx context.Context, q string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.monitorURL()+"/healthz"+q, nil)
	if err != nil {
		return err
	}
	resp, err := monitorClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s /healthz%s: %s", p.name, q, resp.Status)
	}
	return nil
}

// waitHealthy polls /healthz (with query q) until it answers 200; it fails
// when the process exits or ctx ends.
func (p *natsProc) waitHealthy(ctx context.Context, q string) error {
	for {
		if p.healthy(ctx, q) == nil {
			return nil
		}
		if !p.running() {
			return fmt.Errorf("%s exited during start-up:\n%s", p.name, tailFile(p.logPath, 15))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy: %w\n%s", p.name, ctx.Err(), tailFile(p.logPath, 15))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// retryPorts runs start up to three times while it fails because a port
// was taken between picking and binding, removing dir in between.
func retryPorts[T any](dir string, start func() (T, error)) (T, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		v, err := start()
		if err == nil {
			return v, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
		_ = os.RemoveAll(dir)
	}
	var zero T
	return zero, lastErr
}

// freePort picks a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return 0, err
	}
	var port int
	_, err = fmt.Sscanf(addr[strings.LastIndexByte(addr, ':')+1:], "%d", &port)
	return port, err
}

// tailFile returns the last n lines of a file.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
