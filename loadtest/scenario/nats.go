package scenario

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/linedispatch/linedispatch/internal/queue"
)

// NATS is the JetStream deployment a scenario runs against. The runner, the
// pods and the baseline all connect to URL. Implementations: EmbeddedNATS (a
// single node inside the runner process); a cluster can be added for
// scenarios that kill a node.
type NATS interface {
	// URL is the client URL list (comma-separated for a cluster).
	URL() string
	// Replicas is the stream replication factor the deployment supports.
	Replicas() int
	// Close stops every server and keeps the store on disk.
	Close()
}

// NATSFactory starts a NATS deployment storing under dir.
type NATSFactory func(dir string) (NATS, error)

// Embedded is the default NATSFactory: one nats-server with JetStream in the
// runner process, on a random loopback port.
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
