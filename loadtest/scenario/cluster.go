package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ClusterSize is the number of nodes of a ClusterNATS.
const ClusterSize = 3

// Cluster is a NATSFactory that starts a ClusterNATS of three nats-server
// processes (the binary bin, see BuildNATSServer) storing under dir.
func Cluster(bin string) NATSFactory {
	return withNATSServer(bin, "the cluster", func(dir string) (NATS, error) {
		return StartClusterNATS(context.Background(), bin, filepath.Join(dir, "nats-cluster"))
	})
}

// ClusterNATS is a 3-node JetStream cluster on loopback: three nats-server
// processes with routes between them, each with its own store, the shape of
// docker-compose's cluster (config/nats/). Streams on it are R3. Nodes can
// be killed, stopped and started again (same ports, same store). The nodes
// run at the pods' niceness (natsProc.spawn says why).
type ClusterNATS struct {
	bin   string
	dir   string
	nodes []*natsNode
}

// natsNode is a cluster node: a nats-server process with a route port.
type natsNode struct {
	*natsProc
	index int
	route int
}

// StartClusterNATS writes the three nodes' configuration files under dir
// (random free loopback ports for clients, monitoring and routes), starts
// the nodes and waits until the cluster has a JetStream meta leader that
// knows every peer.
func StartClusterNATS(ctx context.Context, bin, dir string) (*ClusterNATS, error) {
	return retryPorts(dir, func() (*ClusterNATS, error) { return startCluster(ctx, bin, dir) })
}

func startCluster(ctx context.Context, bin, dir string) (*ClusterNATS, error) {
	c := &ClusterNATS{bin: bin, dir: dir}
	for i := 0; i < ClusterSize; i++ {
		p, err := newNATSProc(dir, fmt.Sprintf("nats-%d", i+1))
		if err != nil {
			return nil, err
		}
		n := &natsNode{natsProc: p, index: i}
		if n.route, err = freePort(); err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		if err := n.writeConfig(c.config(n)); err != nil {
			return nil, err
		}
	}
	for _, n := range c.nodes {
		if err := n.spawn(bin); err != nil {
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
	return n.baseConfig(fmt.Sprintf("Node %d of the scenario runner's 3-node JetStream cluster", n.index+1)) + fmt.Sprintf(`
cluster {
  name: linedispatch-scenario
  listen: 127.0.0.1:%d
  routes: [
%s
  ]
  no_advertise: true
}
`, n.route, strings.Join(routes, "\n"))
}

// URL implements NATS: every node's client URL, comma-separated.
func (c *ClusterNATS) URL() string {
	urls := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		urls[i] = n.clientURL()
	}
	return strings.Join(urls, ",")
}

// Replicas implements NATS: R3 streams.
func (c *ClusterNATS) Replicas() int { return ClusterSize }

// PIDs implements NATSProcesses: the running nodes' process IDs.
func (c *ClusterNATS) PIDs() []int {
	var out []int
	for _, n := range c.nodes {
		if pid := n.pid(); pid != 0 {
			out = append(out, pid)
		}
	}
	return out
}

// CPU implements NATSProcesses: the CPU of every node over all its lives.
func (c *ClusterNATS) CPU() time.Duration {
	var sum time.Duration
	for _, n := range c.nodes {
		sum += n.CPU()
	}
	return sum
}

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
func (c *ClusterNATS) MonitorURL(i int) string { return c.nodes[i].monitorURL() }

// Running reports whether node i's process is alive.
func (c *ClusterNATS) Running(i int) bool { return c.nodes[i].running() }

// KillNode kills node i with SIGKILL (a crash) and waits for it to exit.
func (c *ClusterNATS) KillNode(i int) error {
	return c.nodes[i].signal(syscall.SIGKILL, 10*time.Second)
}

// StopNode stops node i with SIGTERM (SIGKILL after timeout).
func (c *ClusterNATS) StopNode(i int, timeout time.Duration) error {
	return c.nodes[i].signal(syscall.SIGTERM, timeout)
}

// StartNode starts a stopped node again (same ports, same store) and waits
// until it serves /healthz?js-enabled-only=true.
func (c *ClusterNATS) StartNode(ctx context.Context, i int) error {
	n := c.nodes[i]
	if n.running() {
		return nil
	}
	if err := n.spawn(c.bin); err != nil {
		return err
	}
	return n.waitHealthy(ctx, "?js-enabled-only=true")
}

// Unexpected lists node exits nobody asked for.
func (c *ClusterNATS) Unexpected() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, n.Unexpected()...)
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
			if u := n.Unexpected(); len(u) > 0 {
				return fmt.Errorf("%s\n%s", u[0], tailFile(n.logPath, 15))
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
		if err := c.nodes[i].healthy(ctx, ""); err != nil {
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
