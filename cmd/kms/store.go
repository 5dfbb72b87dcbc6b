package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imsphone/imsphone/internal/yamlconf"
	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/kms/store/etcd"
)

// storeConfig is the store section of configs/kms.yaml:
//
//	store: {backend: bbolt, path: ../tmp/kms.db}
//	store: {backend: memory}
//	store: {backend: etcd, etcd: {endpoints: [http://127.0.0.1:2379], prefix: /imsphone/kms/}}
//
// The older scalar form is still read: a file name means bbolt, "memory" the memory store.
type storeConfig struct {
	Backend string `yaml:"backend"`
	Path    string `yaml:"path"` // bbolt file
	// BatchDelay makes the bbolt group commit wait this long for companions (default 0: none).
	BatchDelay time.Duration `yaml:"batch_delay"`
	// CommitInterval is the least time between two bbolt group commits (0: the default, 2 ms;
	// negative: none).
	CommitInterval time.Duration `yaml:"commit_interval"`
	// ReplayWriteBehind answers before the replay entry is synced; after a crash the KMS then
	// refuses all messages for one skew (keymgmt/kms/store doc).
	ReplayWriteBehind bool `yaml:"replay_write_behind"`
	Etcd              struct {
		Endpoints      []string      `yaml:"endpoints"`
		Prefix         string        `yaml:"prefix"`
		DialTimeout    time.Duration `yaml:"dial_timeout"`
		RequestTimeout time.Duration `yaml:"request_timeout"`
		Username       string        `yaml:"username"`
		PasswordFile   string        `yaml:"password_file"`
		CAFile         string        `yaml:"ca_file"`
		CertFile       string        `yaml:"cert_file"` // client certificate, with key_file
		KeyFile        string        `yaml:"key_file"`
	} `yaml:"etcd"`
}

// UnmarshalYAML reads the mapping (unknown keys refused) or the scalar form.
func (sc *storeConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*sc = storeConfig{}
		if n.Value == "memory" {
			sc.Backend = "memory"
		} else {
			sc.Backend, sc.Path = "bbolt", n.Value
		}
		return nil
	}
	type plain storeConfig
	var p plain
	if err := yamlconf.DecodeNode(n, &p); err != nil {
		return err
	}
	*sc = storeConfig(p)
	return nil
}

// validate checks the store section of doc, already decoded into sc.
func (sc *storeConfig) validate(doc *yamlconf.Doc) error {
	switch sc.Backend {
	case "bbolt":
		if sc.Path == "" {
			return doc.Errorf("store.path", "backend bbolt needs path")
		}
	case "memory":
	case "etcd":
		if len(sc.Etcd.Endpoints) == 0 {
			return doc.Errorf("store.etcd.endpoints", "backend etcd needs etcd.endpoints")
		}
		if (sc.Etcd.CertFile == "") != (sc.Etcd.KeyFile == "") {
			return doc.Errorf("store.etcd.cert_file", "set both etcd.cert_file and etcd.key_file, or neither")
		}
	case "":
		return doc.Errorf("store.backend", "backend is required (bbolt, memory or etcd)")
	default:
		return doc.Errorf("store.backend", "unknown backend %q (bbolt, memory or etcd)", sc.Backend)
	}
	return nil
}

// openStore opens the configured backend.
func (fc *fileConfig) openStore(ctx context.Context) (store.Store, error) {
	sc := fc.Store
	switch sc.Backend {
	case "memory":
		return store.NewMemory(), nil
	case "etcd":
		cfg := etcd.Config{Endpoints: sc.Etcd.Endpoints, Prefix: sc.Etcd.Prefix, DialTimeout: sc.Etcd.DialTimeout,
			RequestTimeout: sc.Etcd.RequestTimeout, Username: sc.Etcd.Username}
		if sc.Etcd.PasswordFile != "" {
			b, err := os.ReadFile(fc.rel(sc.Etcd.PasswordFile))
			if err != nil {
				return nil, fmt.Errorf("store: etcd password: %w", err)
			}
			cfg.Password = strings.TrimSpace(string(b))
		}
		if sc.Etcd.CAFile != "" || sc.Etcd.CertFile != "" {
			cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
			if sc.Etcd.CAFile != "" {
				pem, err := os.ReadFile(fc.rel(sc.Etcd.CAFile))
				if err != nil {
					return nil, fmt.Errorf("store: etcd ca: %w", err)
				}
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pem) {
					return nil, errors.New("store: etcd ca: no certificates")
				}
				cfg.TLS.RootCAs = pool
			}
			if sc.Etcd.CertFile != "" {
				cert, err := tls.LoadX509KeyPair(fc.rel(sc.Etcd.CertFile), fc.rel(sc.Etcd.KeyFile))
				if err != nil {
					return nil, fmt.Errorf("store: etcd client certificate: %w", err)
				}
				cfg.TLS.Certificates = []tls.Certificate{cert}
			}
		}
		return etcd.Open(ctx, cfg)
	}
	return store.OpenBolt(fc.rel(sc.Path), store.BoltOptions{BatchDelay: sc.BatchDelay, CommitInterval: sc.CommitInterval,
		ReplayWriteBehind: sc.ReplayWriteBehind})
}
