package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ClusterSize is the number of nodes of a ClusterNATS.
const ClusterSize = 3

// BuildNATSServer builds the nats-server of the version go.mod requires
// (github.com/nats-io/nats-server/v2, from the module cache) into dir and
// returns the binary's path. Like BuildDispatcher it must run inside the
// linedispatch module.
func BuildNATSServer(ctx context.Context, dir string) (string, error) {
	return buildInModule(ctx, filepath.Join(dir, "nats-server"), "github.com/nats-io/nats-server/v2")
}

// Cluster is a NATSFactory that starts a ClusterNATS of three nats-server
// processes (the binary bin, see BuildNATSServer) storing under dir.
func Cluster(bin string) NATSFactory {
	return func(dir string) (NATS, error) {
		if bin == "" {
			return nil, errors.New("scenario: the cluster needs a nats-server binary (Options.NATSServer; see BuildNATSServer)")
		}
		return StartClusterNATS(context.Background(), bin, filepath.Join(dir, "nats-cluster"))
	}
}

// ClusterNATS is a 3-node JetStream cluster on loopback: three nats-server
// processes with routes between them, each with its own store, the shape of
// docker-compose's cluster (config/nats/). Streams on it are R3. Nodes can
// be killed, stopped and started again (same ports, same store).
type ClusterNATS struct {
	bin   string
	dir   string
	nodes []*natsNode
}

type natsNode struct {
	index      int
	name       string
	dir        string
	configPath string
	logPath    string
	client     int // ports
	monitor    int
	route      int

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	stopping bool
	starts   int
	// unexpected records exits nobody asked for.
	unexpected []string
}

// StartClusterNATS writes the three nodes' configuration files under dir
// (random free loopback ports for clients, monitoring and routes), starts
// the nodes and waits until the cluster has a JetStream meta leader that
// knows every peer.
func StartClusterNATS(ctx context.Context, bin, dir string) (*ClusterNATS, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := startCluster(ctx, bin, dir)
		if err == nil {
			return c, nil
		}
		lastErr = err
		// A port taken between picking and binding: try other ports.
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
		_ = os.RemoveAll(dir)
	}
	return nil, lastErr
}

func startCluster(ctx context.Context, bin, dir string) (*ClusterNATS, error) {
	c := &ClusterNATS{bin: bin, dir: dir}
	for i := 0; i < ClusterSize; i++ {
		n := &natsNode{index: i, name: fmt.Sprintf("nats-%d", i+1)}
		n.dir = filepath.Join(dir, n.name)
		n.configPath = filepath.Join(dir, n.name+".conf")
		n.logPath = filepath.Join(dir, n.name+".log")
		for _, p := range []*int{&n.client, &n.monitor, &n.route} {
			port, err := freePort()
			if err != nil {
				return nil, err
			}
			*p = port
		}
		c.nodes = append(c.nodes, n)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	for _, n := range c.nodes {
		if err := os.WriteFile(n.configPath, []byte(c.config(n)), 0o600); err != nil {
			return nil, err
		}
	}
	for _, n := range c.nodes {
		if err := c.spawn(n); err != nil {
			c.Close()
			return nil, err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := c.WaitReady(wctx); err != nil {
		tails := ""
		for _, n := range c.nodes {
			tails += "\n" + n.name + ":\n" + tailFile(n.logPath, 15)
		}
		c.Close()
		return nil, fmt.Errorf("nats cluster: %w%s", err, tails)
	}
	return c, nil
}

// config renders a node's configuration: config/nats/cluster.conf with
// loopback ports and the run's store.
func (c *ClusterNATS) config(n *natsNode) string {
	var routes []string
	for _, o := range c.nodes {
		routes = append(routes, fmt.Sprintf("    nats-route://127.0.0.1:%d", o.route))
	}
	return fmt.Sprintf(`# Node %d of the scenario runner's 3-node JetStream cluster (generated).
server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
max_payload: 4MB

jetstream {
  store_dir: %q
  max_memory_store: 256MB
  max_file_store: 4GB
}

cluster {
  name: linedispatch-scenario
  listen: 127.0.0.1:%d
  routes: [
%s
  ]
  no_advertise: true
}
`, n.index+1, n.name, n.client, n.monitor, n.dir, n.route, strings.Join(routes, "\n"))
}

func (c *ClusterNATS) spawn(n *natsNode) error {
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(c.bin, "--config", n.configPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("%s: start %s: %w", n.name, c.bin, err)
	}
	exited := make(chan struct{})
	n.mu.Lock()
	n.cmd, n.exited, n.stopping = cmd, exited, false
	n.starts++
	n.mu.Unlock()
	go func() {
		err := cmd.Wait()
		n.mu.Lock()
		if !n.stopping {
			n.unexpected = append(n.unexpected, fmt.Sprintf("pid %d exited unexpectedly: %v", cmd.Process.Pid, err))
		}
		n.mu.Unlock()
		logf.Close()
		close(exited)
	}()
	return nil
}

// URL implements NATS: every node's client URL, comma-separated.
func (c *ClusterNATS) URL() string {
	urls := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		urls[i] = fmt.Sprintf("nats://127.0.0.1:%d", n.client)
	}
	return strings.Join(urls, ",")
}

// Replicas implements NATS: R3 streams.
func (c *ClusterNATS) Replicas() int { return ClusterSize }

// Nodes is the number of nodes.
func (c *ClusterNATS) Nodes() int { return len(c.nodes) }

// NodeName is node i's server name (nats-1…nats-3).
func (c *ClusterNATS) NodeName(i int) string { return c.nodes[i].name }

// NodeIndex returns the index of the node with the given server name.
func (c *ClusterNATS) NodeIndex(name string) (int, bool) {
	for i, n := range c.nodes {
		if n.name == name {
			return i, true
		}
	}
	return 0, false
}

// MonitorURL is node i's monitoring endpoint (/healthz, /varz, /jsz).
func (c *ClusterNATS) MonitorURL(i int) string {
	return fmt.Sprintf("http://127.0.0.1:%d", c.nodes[i].monitor)
}

// Running reports whether node i's process is alive.
func (c *ClusterNATS) Running(i int) bool { return c.nodes[i].running() }

func (n *natsNode) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// KillNode kills node i with SIGKILL (a crash) and waits for it to exit.
func (c *ClusterNATS) KillNode(i int) error { return c.signal(i, syscall.SIGKILL, 10*time.Second) }

// StopNode stops node i with SIGTERM (SIGKILL after timeout).
func (c *ClusterNATS) StopNode(i int, timeout time.Duration) error {
	return c.signal(i, syscall.SIGTERM, timeout)
}

func (c *ClusterNATS) signal(i int, sig syscall.Signal, timeout time.Duration) error {
	n := c.nodes[i]
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	if cmd == nil {
		n.mu.Unlock()
		return nil
	}
	n.stopping = true
	n.mu.Unlock()
	select {
	case <-exited:
	default:
		_ = cmd.Process.Signal(sig)
		select {
		case <-exited:
		case <-time.After(timeout):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	n.mu.Lock()
	n.cmd = nil
	n.mu.Unlock()
	return nil
}

// StartNode starts a stopped node again (same ports, same store) and waits
// until it serves /healthz?js-enabled-only=true.
func (c *ClusterNATS) StartNode(ctx context.Context, i int) error {
	n := c.nodes[i]
	if n.running() {
		return nil
	}
	if err := c.spawn(n); err != nil {
		return err
	}
	for {
		if c.nodeHealthy(ctx, i, "?js-enabled-only=true") == nil {
			return nil
		}
		if !n.running() {
			return fmt.Errorf("%s exited during start-up:\n%s", n.name, tailFile(n.logPath, 15))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy: %w", n.name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Unexpected lists node exits nobody asked for.
func (c *ClusterNATS) Unexpected() []string {
	var out []string
	for _, n := range c.nodes {
		n.mu.Lock()
		for _, u := range n.unexpected {
			out = append(out, n.name+": "+u)
		}
		n.mu.Unlock()
	}
	return out
}

// Close implements NATS: stops every node (SIGTERM, SIGKILL after 10 s).
func (c *ClusterNATS) Close() {
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.StopNode(i, 10*time.Second) }()
	}
	wg.Wait()
}

var monitorClient = &http.Client{Timeout: 2 * time.Second}

// nodeHealthy asks node i's /healthz (with query q).
func (c *ClusterNATS) nodeHealthy(ctx context.Context, i int, q string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.MonitorURL(i)+"/healthz"+q, nil)
	if err != nil {
		return err
	}
	resp, err := monitorClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s /healthz%s: %s", c.nodes[i].name, q, resp.Status)
	}
	return nil
}

// JSZ is the part of a node's /jsz the runner reads.
type JSZ struct {
	ServerName  string `json:"server_name"`
	MetaCluster *struct {
		Name     string `json:"name"`
		Leader   string `json:"leader"`
		Size     int    `json:"cluster_size"`
		Replicas []struct {
			Name    string `json:"name"`
			Current bool   `json:"current"`
			Offline bool   `json:"offline"`
		} `json:"replicas"`
	} `json:"meta_cluster"`
}

// Jsz reads node i's /jsz.
func (c *ClusterNATS) Jsz(ctx context.Context, i int) (*JSZ, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.MonitorURL(i)+"/jsz", nil)
	if err != nil {
		return nil, err
	}
	resp, err := monitorClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s /jsz: %s", c.nodes[i].name, resp.Status)
	}
	var j JSZ
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		return nil, fmt.Errorf("%s /jsz: %w", c.nodes[i].name, err)
	}
	return &j, nil
}

// MetaLeader returns the index of the JetStream meta leader, as a running
// node's /jsz reports it.
func (c *ClusterNATS) MetaLeader(ctx context.Context) (int, error) {
	var lastErr error = errors.New("no node running")
	for i := range c.nodes {
		if !c.Running(i) {
			continue
		}
		j, err := c.Jsz(ctx, i)
		if err != nil {
			lastErr = err
			continue
		}
		if j.MetaCluster == nil || j.MetaCluster.Leader == "" {
			lastErr = fmt.Errorf("%s: no meta leader yet", c.nodes[i].name)
			continue
		}
		if k, ok := c.NodeIndex(j.MetaCluster.Leader); ok {
			return k, nil
		}
		lastErr = fmt.Errorf("%s: unknown meta leader %q", c.nodes[i].name, j.MetaCluster.Leader)
	}
	return -1, lastErr
}

// WaitReady polls until every running node is healthy (/healthz, which
// includes JetStream being current with the meta group) and a meta leader
// knows every other running node as a current peer.
func (c *ClusterNATS) WaitReady(ctx context.Context) error {
	var last error
	for {
		last = c.ready(ctx)
		if last == nil {
			return nil
		}
		for _, n := range c.nodes {
			n.mu.Lock()
			u := append([]string(nil), n.unexpected...)
			n.mu.Unlock()
			if len(u) > 0 {
				return fmt.Errorf("%s: %s\n%s", n.name, u[0], tailFile(n.logPath, 15))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %v (%w)", last, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *ClusterNATS) ready(ctx context.Context) error {
	running := 0
	for i := range c.nodes {
		if !c.Running(i) {
			continue
		}
		running++
		if err := c.nodeHealthy(ctx, i, ""); err != nil {
			return err
		}
	}
	li, err := c.MetaLeader(ctx)
	if err != nil {
		return err
	}
	j, err := c.Jsz(ctx, li)
	if err != nil {
		return err
	}
	if j.MetaCluster == nil {
		return errors.New("meta leader without meta_cluster")
	}
	current := 0
	for _, r := range j.MetaCluster.Replicas {
		if r.Current && !r.Offline {
			current++
		}
	}
	if current < running-1 {
		return fmt.Errorf("meta leader %s: %d of %d peers current", j.ServerName, current, running-1)
	}
	return nil
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
