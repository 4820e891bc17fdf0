package scenario

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/linedispatch/linedispatch/internal/queue"
)

// NATS is the JetStream deployment a scenario runs against. The runner, the
// pods and the baseline all connect to URL. Implementations: ProcessNATS (a
// single nats-server process, the default), EmbeddedNATS (a single node
// inside the runner process) and ClusterNATS (three nats-server processes,
// for scenarios that kill a node).
type NATS interface {
	// URL is the client URL list (comma-separated for a cluster).
	URL() string
	// Replicas is the stream replication factor the deployment supports.
	Replicas() int
	// Close stops every server and keeps the store on disk.
	Close()
}

// NATSProcesses is a NATS deployment whose servers are processes of their
// own (ProcessNATS, ClusterNATS): the runner's CPU no longer includes them,
// so the report adds theirs.
type NATSProcesses interface {
	NATS
	// PIDs are the running servers' process IDs.
	PIDs() []int
	// CPU is the user+system CPU of every server process over all its lives.
	CPU() time.Duration
}

// NATSFactory starts a NATS deployment storing under dir.
type NATSFactory func(dir string) (NATS, error)

// Process is the default NATSFactory when a nats-server binary is at hand
// (Options.NATSServer): one nats-server process with JetStream (the binary
// bin, see BuildNATSServer), so that the runner's CPU is left to linesim.
func Process(bin string) NATSFactory {
	return withNATSServer(bin, "process NATS", func(dir string) (NATS, error) {
		return StartProcessNATS(context.Background(), bin, filepath.Join(dir, "nats"))
	})
}

// withNATSServer is start, failing at once when there is no binary.
func withNATSServer(bin, what string, start NATSFactory) NATSFactory {
	return func(dir string) (NATS, error) {
		if bin == "" {
			return nil, fmt.Errorf("scenario: %s needs a nats-server binary (Options.NATSServer; see BuildNATSServer)", what)
		}
		return start(dir)
	}
}

// ProcessNATS is a single nats-server process with JetStream on loopback,
// at the pods' niceness (natsProc.spawn says why): the single-node
// deployment the way production runs it, on other CPUs than LINE's.
type ProcessNATS struct {
	*natsProc
}

// StartProcessNATS writes the server's configuration under dir (random free
// loopback client and monitoring ports, the store dir/nats/), starts it and
// waits until /healthz (JetStream included) answers.
func StartProcessNATS(ctx context.Context, bin, dir string) (*ProcessNATS, error) {
	return retryPorts(dir, func() (*ProcessNATS, error) {
		p, err := newNATSProc(dir, "nats")
		if err != nil {
			return nil, err
		}
		if err := p.writeConfig(p.baseConfig("The scenario runner's single JetStream node")); err != nil {
			return nil, err
		}
		if err := p.spawn(bin); err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := p.waitHealthy(wctx, ""); err != nil {
			_ = p.signal(syscall.SIGKILL, 10*time.Second)
			return nil, fmt.Errorf("nats-server: %w", err)
		}
		return &ProcessNATS{p}, nil
	})
}

// URL implements NATS.
func (n *ProcessNATS) URL() string { return n.clientURL() }

// Replicas implements NATS: a single node holds one replica.
func (n *ProcessNATS) Replicas() int { return 1 }

// PIDs implements NATSProcesses.
func (n *ProcessNATS) PIDs() []int {
	if pid := n.pid(); pid != 0 {
		return []int{pid}
	}
	return nil
}

// MonitorURL is the server's monitoring endpoint (/healthz, /varz, /jsz).
func (n *ProcessNATS) MonitorURL() string { return n.monitorURL() }

// Close implements NATS: SIGTERM, SIGKILL after 10 s.
func (n *ProcessNATS) Close() { _ = n.signal(syscall.SIGTERM, 10*time.Second) }

// Embedded is the NATSFactory of Options.NATS when no nats-server binary is
// given: one nats-server with JetStream in the runner process, on a random
// loopback port.
func Embedded() NATSFactory {
	return func(dir string) (NATS, error) { return StartEmbeddedNATS(filepath.Join(dir, "nats")) }
}

// EmbeddedNATS is a single nats-server with JetStream in this process.
type EmbeddedNATS struct {
	mu   sync.Mutex
	dir  string
	port int
	srv  *server.Server
}

// StartEmbeddedNATS starts a server storing in dir on a free loopback port.
func StartEmbeddedNATS(dir string) (*EmbeddedNATS, error) {
	srv, err := queue.StartEmbedded(dir, "127.0.0.1:-1")
	if err != nil {
		return nil, err
	}
	_, p, err := net.SplitHostPort(srv.Addr().String())
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	port, _ := strconv.Atoi(p)
	return &EmbeddedNATS{dir: dir, port: port, srv: srv}, nil
}

// URL implements NATS.
func (n *EmbeddedNATS) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// Replicas implements NATS: a single node holds one replica.
func (n *EmbeddedNATS) Replicas() int { return 1 }

// Server is the running server (nil while stopped).
func (n *EmbeddedNATS) Server() *server.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv
}

// Stop shuts the server down (clients reconnect once it is started again).
func (n *EmbeddedNATS) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// Start starts a stopped server again on the same port and store, for
// scenarios that restart NATS.
func (n *EmbeddedNATS) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		return nil
	}
	srv, err := queue.StartEmbedded(n.dir, fmt.Sprintf("127.0.0.1:%d", n.port))
	if err != nil {
		return err
	}
	n.srv = srv
	return nil
}

// Close implements NATS.
func (n *EmbeddedNATS) Close() { n.Stop() }
