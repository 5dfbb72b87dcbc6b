package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/imsphone/imsphone/gba/bsf"
	"github.com/imsphone/imsphone/internal/logging"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bsf:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("bsf", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "configs/bsf.yaml", "YAML configuration file")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	format := fs.String("log-format", "text", "log format: text or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	log, err := logging.New(stderr, *level, *format)
	if err != nil {
		return fmt.Errorf("-log-level/-log-format: %w", err)
	}

	fc, err := bsf.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	subs, err := fc.LoadSubscribers()
	if err != nil {
		return err
	}
	auc, err := bsf.NewAuC(subs, fc.StatePath())
	if err != nil {
		return err
	}
	cfg, err := fc.ServerConfig()
	if err != nil {
		return err
	}
	srv, err := bsf.New(cfg, auc, bsf.Options{Logger: log})
	if err != nil {
		return err
	}
	ub, err := net.Listen("tcp", fc.Ub.Listen)
	if err != nil {
		return fmt.Errorf("ub: %w", err)
	}
	zn, err := net.Listen("tcp", fc.Zn.Listen)
	if err != nil {
		ub.Close()
		return fmt.Errorf("zn: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("bsf starting", "subscribers", len(subs), "realm", cfg.Realm, "key_lifetime", cfg.KeyLifetime)
	return srv.Serve(ctx, ub, zn)
}
