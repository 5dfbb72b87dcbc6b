package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/imsphone/imsphone/gba/zn"
	"github.com/imsphone/imsphone/internal/kmszn"
	"github.com/imsphone/imsphone/internal/logging"
	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/kms/policy"
	"github.com/imsphone/imsphone/keymgmt/kms/store"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kms:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("kms", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "configs/kms.yaml", "YAML configuration file")
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
	fc, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	cfg, err := fc.serverConfig()
	if err != nil {
		return err
	}
	znCfg, err := fc.znConfig()
	if err != nil {
		return err
	}
	eng, err := policy.Load(fc.rel(fc.Policy))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := fc.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("kms store", "backend", fc.Store.Backend)
	if err := syncUsers(ctx, st, eng.Current()); err != nil {
		return err
	}
	zr, err := kmszn.New(znCfg, zn.CacheConfig{MaxEntries: fc.Zn.CacheEntries})
	if err != nil {
		return err
	}
	srv, err := kms.New(ctx, cfg, kms.Options{Store: st, Policy: eng, Zn: zr, Logger: log,
		Audit: log.With("log", "audit")})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", fc.Listen)
	if err != nil {
		return err
	}
	go reloadOnHUP(ctx, log, eng, st)
	log.Info("kms listening", "addr", ln.Addr().String(), "path", cfg.Path, "tls", cfg.TLS != nil, "fqdn", cfg.FQDN)
	err = srv.Serve(ctx, ln)
	log.Info("kms stopped", "err", err)
	return err
}

// syncUsers puts the policy file's users (IMPI → IMPUs, groups) into the store, the KMS's user
// store.
func syncUsers(ctx context.Context, st store.Store, p *policy.Policy) error {
	for _, u := range p.Users() {
		if err := st.PutUser(ctx, store.User{IMPI: u.IMPI, IMPUs: u.IMPUs, Groups: u.Groups}); err != nil {
			return fmt.Errorf("user %s: %w", u.IMPI, err)
		}
	}
	return nil
}

// reloadOnHUP reloads the policy (and its users) on SIGHUP; a bad file leaves the running policy.
func reloadOnHUP(ctx context.Context, log *slog.Logger, eng *policy.Engine, st store.Store) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := eng.Reload(); err != nil {
				log.Error("policy reload failed, keeping the running policy", "err", err)
				continue
			}
			if err := syncUsers(ctx, st, eng.Current()); err != nil {
				log.Error("policy users", "err", err)
			}
			log.Info("policy reloaded", "digest", eng.Current().Digest)
		}
	}
}
