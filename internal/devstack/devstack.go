// Package devstack runs a whole linedispatch in one process: JetStream
// (embedded, or an external URL), the LINE simulator and a dispatcher pod.
// The demo, the end-to-end tests and the scenario runner build on it; nothing
// here is a mock: every hop is real NATS or real HTTP on loopback.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/config"
	"github.com/linedispatch/linedispatch/internal/dispatch"
	"github.com/linedispatch/linedispatch/internal/linesim"
	"github.com/linedispatch/linedispatch/internal/pod"
	"github.com/linedispatch/linedispatch/internal/queue"
	"github.com/linedispatch/linedispatch/internal/unit"
)

// Defaults of Options.
const (
	DefaultChannel = "1234567890"
	DefaultToken   = "devstack-static-token"
	DefaultBots    = 5
)

// Options shape the stack. Zero fields take defaults.
type Options struct {
	// DataDir holds the embedded JetStream store. Required unless NATSURL is set.
	DataDir string
	// NATSURL joins an existing server instead of embedding one.
	NATSURL string
	// Partitions of LINE_INTENTS. Default 8.
	Partitions int
	// Channel is the module channel ID. Default DefaultChannel.
	Channel string
	// Bots is how many bots are attached to the channel. Default DefaultBots.
	Bots int
	// Sim tunes the simulator; Channels and BotHeader are filled in.
	Sim linesim.Config
	// Dispatch tunes the pod's engine.
	Dispatch dispatch.Config
	// Limits and PeriodScale go to the pod (the simulator gets Sim's own).
	Limits      map[string]string
	PeriodScale float64
	// Units is the pod's unit registry config.
	Units unit.Config
	// Logger receives every component's logs. Default: discarded.
	Logger zerolog.Logger
}

// Stack is a running linedispatch.
type Stack struct {
	Channel string
	Bots    []string
	Sim     *linesim.Server
	SimAPI  *linesim.Client
	Pod     *pod.Pod
	cancel  context.CancelFunc
	opts    Options
}

// BotID returns the i-th bot's user ID (deterministic, so runs compare).
func BotID(i int) string { return fmt.Sprintf("U%032x", 0xb0700000+i) }

// Start starts the simulator and a pod, and returns once both serve.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.Channel == "" {
		o.Channel = DefaultChannel
	}
	if o.Bots == 0 {
		o.Bots = DefaultBots
	}
	if o.Partitions == 0 {
		o.Partitions = 8
	}
	if o.DataDir == "" && o.NATSURL == "" {
		return nil, errors.New("devstack: DataDir or NATSURL is required")
	}
	s := &Stack{Channel: o.Channel, opts: o}
	for i := 0; i < o.Bots; i++ {
		s.Bots = append(s.Bots, BotID(i))
	}
	simCfg := o.Sim
	simCfg.Channels = []linesim.Channel{{ID: o.Channel, Secret: "devstack-secret", Bots: s.Bots, StaticTokens: []string{DefaultToken}}}
	if simCfg.Logger.GetLevel() == zerolog.NoLevel {
		simCfg.Logger = zerolog.Nop()
	}
	sim, err := linesim.Start(simCfg, "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("devstack: linesim: %w", err)
	}
	s.Sim, s.SimAPI = sim, linesim.NewClient(sim.AdminURL())
	if err := s.StartPod(ctx); err != nil {
		_ = sim.Close()
		return nil, err
	}
	return s, nil
}

// PodConfig is the configuration of the stack's pod.
func (s *Stack) PodConfig() *config.Config {
	o := s.opts
	c := &config.Config{
		Log:  config.Log{Level: "warn"},
		HTTP: config.HTTP{Addr: "127.0.0.1:0"},
		NATS: queue.Config{
			URL:        o.NATSURL,
			DataDir:    filepath.Join(o.DataDir, "nats"),
			Listen:     "127.0.0.1:-1",
			Partitions: o.Partitions,
		},
		LINE: config.Line{
			BaseURL:   s.Sim.URL(),
			BotHeader: linesim.DefaultBotHeader,
			Channels:  []config.Channel{{ID: s.Channel, Token: DefaultToken}},
		},
		Limits:      o.Limits,
		PeriodScale: o.PeriodScale,
		Dispatch:    o.Dispatch,
		Units:       o.Units,
	}
	c.SetDefaults()
	return c
}

// StartPod starts (or restarts) the stack's pod.
func (s *Stack) StartPod(ctx context.Context) error {
	cfg := s.PodConfig()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	if s.opts.DataDir != "" {
		if err := os.MkdirAll(s.opts.DataDir, 0o750); err != nil {
			return fmt.Errorf("devstack: %w", err)
		}
	}
	pctx, cancel := context.WithCancel(ctx)
	p, err := pod.Start(pctx, cfg, s.opts.Logger)
	if err != nil {
		cancel()
		return fmt.Errorf("devstack: pod: %w", err)
	}
	s.Pod, s.cancel = p, cancel
	return nil
}

// StopPod stops the pod gracefully and waits for it.
func (s *Stack) StopPod() error {
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	err := s.Pod.Wait()
	s.cancel = nil
	return err
}

// Close stops the pod and the simulator.
func (s *Stack) Close() error {
	err := s.StopPod()
	return errors.Join(err, s.Sim.Close())
}
