package linesim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is a running linesim: the LINE API and the admin API on real
// listeners.
type Server struct {
	sim   *Sim
	api   *http.Server
	admin *http.Server
	apiL  net.Listener
	admL  net.Listener
	conns connTracker
}

// connTracker remembers connections that have not sent a request yet, so
// that shutting down does not wait for them (http.Server waits up to 5 s).
type connTracker struct {
	mu    sync.Mutex
	fresh map[net.Conn]struct{}
}

func (c *connTracker) track(conn net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fresh == nil {
		c.fresh = map[net.Conn]struct{}{}
	}
	if st == http.StateNew {
		c.fresh[conn] = struct{}{}
	} else {
		delete(c.fresh, conn)
	}
}

func (c *connTracker) closeFresh() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn := range c.fresh {
		_ = conn.Close()
	}
}

// Start creates a Sim and serves its LINE API on apiAddr and its admin API
// on adminAddr ("127.0.0.1:0" picks free ports).
func Start(cfg Config, apiAddr, adminAddr string) (*Server, error) {
	sim, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return StartSim(sim, apiAddr, adminAddr)
}

// StartSim serves an existing Sim.
func StartSim(sim *Sim, apiAddr, adminAddr string) (*Server, error) {
	apiL, err := net.Listen("tcp", apiAddr)
	if err != nil {
		return nil, err
	}
	admL, err := net.Listen("tcp", adminAddr)
	if err != nil {
		apiL.Close()
		return nil, err
	}
	s := &Server{
		sim:   sim,
		api:   &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute},
		admin: &http.Server{Handler: sim.AdminHandler(), ReadHeaderTimeout: 10 * time.Second},
		apiL:  apiL, admL: admL,
	}
	s.api.ConnState = s.conns.track
	s.admin.ConnState = s.conns.track
	for _, p := range []struct {
		srv *http.Server
		l   net.Listener
	}{{s.api, apiL}, {s.admin, admL}} {
		go func() {
			if err := p.srv.Serve(p.l); !errors.Is(err, http.ErrServerClosed) {
				sim.log.Error().Err(err).Str("addr", p.l.Addr().String()).Msg("serve")
			}
		}()
	}
	sim.log.Info().Str("api", s.URL()).Str("admin", s.AdminURL()).Msg("linesim listening")
	return s, nil
}

// URL is the base URL of the LINE API (use it as the dispatcher's LINE base URL).
func (s *Server) URL() string { return "http://" + s.apiL.Addr().String() }

// AdminURL is the base URL of the admin API (for NewClient).
func (s *Server) AdminURL() string { return "http://" + s.admL.Addr().String() }

// Sim returns the simulator being served.
func (s *Server) Sim() *Sim { return s.sim }

// Shutdown stops accepting requests and waits for in-flight ones until ctx
// ends; hanging requests are cut at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.sim.Close()
	s.conns.closeFresh()
	err := errors.Join(s.api.Shutdown(ctx), s.admin.Shutdown(ctx))
	if err != nil {
		err = errors.Join(err, s.api.Close(), s.admin.Close())
	}
	return err
}

// Close shuts the server down, waiting at most 5 s for in-flight requests.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}
