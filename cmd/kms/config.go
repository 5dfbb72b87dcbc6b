package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/imsphone/imsphone/gba/zn"
	"github.com/imsphone/imsphone/internal/yamlconf"
	"github.com/imsphone/imsphone/keymgmt/kms"
)

// fileConfig is configs/kms.yaml. Relative paths are taken from the file's directory.
type fileConfig struct {
	FQDN    string      `yaml:"fqdn"`
	Listen  string      `yaml:"listen"`
	Path    string      `yaml:"path"`
	TLSCert string      `yaml:"tls_cert"`
	TLSKey  string      `yaml:"tls_key"`
	Store   storeConfig `yaml:"store"`
	Policy  string      `yaml:"policy"`

	Zn struct {
		BaseURL         string        `yaml:"base_url"`
		BearerToken     string        `yaml:"bearer_token"`
		BearerTokenFile string        `yaml:"bearer_token_file"`
		CAFile          string        `yaml:"ca_file"`
		Timeout         time.Duration `yaml:"timeout"`
		CacheEntries    int           `yaml:"cache_entries"`
	} `yaml:"zn"`

	Skew              time.Duration `yaml:"skew"`
	MaxValidity       time.Duration `yaml:"max_validity"`
	TicketKeyRotation time.Duration `yaml:"ticket_key_rotation"`

	Limits struct {
		MaxBodyBytes      int64         `yaml:"max_body_bytes"`
		MaxConcurrent     int           `yaml:"max_concurrent"`
		IdentityRate      float64       `yaml:"identity_rate"`
		IdentityBurst     int           `yaml:"identity_burst"`
		SourceRate        float64       `yaml:"source_rate"`
		SourceBurst       int           `yaml:"source_burst"`
		ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
		ReadTimeout       time.Duration `yaml:"read_timeout"`
		WriteTimeout      time.Duration `yaml:"write_timeout"`
		IdleTimeout       time.Duration `yaml:"idle_timeout"`
		ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`
	} `yaml:"limits"`

	dir string
}

// configLimits bound configs/kms.yaml (internal/yamlconf).
func configLimits() yamlconf.Limits {
	return yamlconf.Limits{MaxBytes: 1 << 20, What: "a KMS configuration"}
}

// loadConfig reads and checks the configuration; errors name the file, line and field.
func loadConfig(path string) (*fileConfig, error) {
	b, err := yamlconf.ReadFile(path, configLimits())
	if err != nil {
		return nil, err
	}
	fc, err := parseConfig(path, b)
	if err != nil {
		return nil, err
	}
	fc.dir = filepath.Dir(path)
	return fc, nil
}

func parseConfig(file string, data []byte) (*fileConfig, error) {
	var fc fileConfig
	doc, err := yamlconf.Decode(file, data, &fc, configLimits())
	if err != nil {
		return nil, err
	}
	for _, r := range []struct{ field, v string }{{"fqdn", fc.FQDN}, {"listen", fc.Listen}, {"policy", fc.Policy}, {"zn.base_url", fc.Zn.BaseURL}} {
		if r.v == "" {
			return nil, doc.Errorf(r.field, "required (fqdn, listen, store, policy and zn.base_url are)")
		}
	}
	if err := fc.Store.validate(doc); err != nil {
		return nil, err
	}
	if (fc.TLSCert == "") != (fc.TLSKey == "") {
		return nil, doc.Errorf("tls_cert", "set both tls_cert and tls_key, or neither")
	}
	return &fc, nil
}

func (fc *fileConfig) rel(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(fc.dir, p)
}

func (fc *fileConfig) serverConfig() (kms.Config, error) {
	l := fc.Limits
	c := kms.Config{FQDN: fc.FQDN, Path: fc.Path, Skew: fc.Skew, MaxValidity: fc.MaxValidity,
		TicketKeyRotation: fc.TicketKeyRotation, MaxBodyBytes: l.MaxBodyBytes, MaxConcurrent: l.MaxConcurrent,
		IdentityRate: l.IdentityRate, IdentityBurst: l.IdentityBurst, SourceRate: l.SourceRate, SourceBurst: l.SourceBurst,
		ReadHeaderTimeout: l.ReadHeaderTimeout, ReadTimeout: l.ReadTimeout, WriteTimeout: l.WriteTimeout,
		IdleTimeout: l.IdleTimeout, ShutdownTimeout: l.ShutdownTimeout}
	if fc.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(fc.rel(fc.TLSCert), fc.rel(fc.TLSKey))
		if err != nil {
			return c, fmt.Errorf("tls: %w", err)
		}
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return c, nil
}

func (fc *fileConfig) znConfig() (zn.ClientConfig, error) {
	c := zn.ClientConfig{BaseURL: fc.Zn.BaseURL, BearerToken: fc.Zn.BearerToken, Timeout: fc.Zn.Timeout}
	if fc.Zn.BearerTokenFile != "" {
		b, err := os.ReadFile(fc.rel(fc.Zn.BearerTokenFile))
		if err != nil {
			return c, fmt.Errorf("zn bearer token: %w", err)
		}
		c.BearerToken = strings.TrimSpace(string(b))
	}
	if fc.Zn.CAFile != "" {
		pem, err := os.ReadFile(fc.rel(fc.Zn.CAFile))
		if err != nil {
			return c, fmt.Errorf("zn ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return c, errors.New("zn ca: no certificates")
		}
		c.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return c, nil
}
