package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"

	"github.com/linedispatch/linedispatch/internal/config"
	"github.com/linedispatch/linedispatch/internal/pod"
)

// runPod is `dispatcher run`.
func runPod(ctx context.Context, args []string, _ io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	path := fs.String("config", os.Getenv("LINEDISPATCH_CONFIG"), "configuration file (YAML; see config/dispatcher.example.yaml); env LINEDISPATCH_CONFIG")
	natsURL := fs.String("nats-url", "", "NATS server or cluster URL; overrides nats.url (empty: embedded server)")
	lineURL := fs.String("line-base-url", "", "LINE API base URL; overrides line.baseURL (e.g. a linesim URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*path, func(c *config.Config) {
		if *natsURL != "" {
			c.NATS.URL = *natsURL
		}
		if *lineURL != "" {
			c.LINE.BaseURL = *lineURL
		}
	})
	if err != nil {
		return err
	}
	log := newLogger(os.Stderr, cfg.Log.Level)
	p, err := pod.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	return p.Wait()
}

func newLogger(w io.Writer, level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// runCheckConfig is `dispatcher check-config FILE`.
func runCheckConfig(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: dispatcher check-config FILE")
	}
	if _, err := config.Load(fs.Arg(0), nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", fs.Arg(0))
	return nil
}
