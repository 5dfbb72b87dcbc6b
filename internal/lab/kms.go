package lab

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/imsphone/imsphone/gba"
	"github.com/imsphone/imsphone/gba/bsf"
	"github.com/imsphone/imsphone/gba/zn"
	"github.com/imsphone/imsphone/internal/kmszn"
	"github.com/imsphone/imsphone/keymgmt/kms"
	"github.com/imsphone/imsphone/keymgmt/kms/policy"
	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/mikey"
	"gopkg.in/yaml.v3"
)

// KMSConfig tunes the lab's KMS (TS 33.328 KMS-based e2e; package keymgmt/kms). The KMS runs
// whenever the BSF does: it is a GBA NAF (TS 33.220 §4.5.3) and gets its keys over Zn.
type KMSConfig struct {
	// FQDN is the KMS's name: its NAF_Id is FQDN ‖ 01 00 00 00 06 (TS 33.220 Annex H.3), and
	// IDRkms (default kms.<domain>).
	FQDN string `yaml:"fqdn"`
	// Skew is the MIKEY timestamp window (RFC 3830 §5.4) of the KMS and the UEs
	// [mikey.DefaultSkew].
	Skew bsf.Duration `yaml:"skew"`
	// MaxValidity caps ticket validity (default 1h).
	MaxValidity bsf.Duration `yaml:"max_validity"`
	// PolicyFile, if set, is a keymgmt/kms/policy YAML file used instead of the lab policy,
	// which lets every subscriber protect calls with every other (group "home") with ticket
	// reuse and forking.
	PolicyFile string `yaml:"policy_file"`
	// RateLimits keeps the KMS's per-identity and per-source rate limits on; the lab turns them
	// off by default, since tests and benchmarks set up calls back to back from one address.
	RateLimits bool `yaml:"rate_limits"`
}

// labGroup is the policy group of the lab's subscribers.
const labGroup = "home"

// labPolicy is the KMS policy of a lab: the subscribers form the group "home"; members may
// request tickets towards members, with reuse (RFC 6043 §5.3) and key forking (§5.1.1, which
// §12.4 recommends), and resolve tickets members requested. Nobody else may do anything.
func labPolicy(subs []Subscriber, maxValidity time.Duration) (*policy.Policy, error) {
	type user struct {
		IMPI   string   `yaml:"impi"`
		IMPUs  []string `yaml:"impus"`
		Groups []string `yaml:"groups"`
	}
	type rule struct {
		Name        string   `yaml:"name"`
		From        []string `yaml:"from,omitempty"`
		To          []string `yaml:"to,omitempty"`
		Who         []string `yaml:"who,omitempty"`
		Of          []string `yaml:"of,omitempty"`
		MaxValidity string   `yaml:"max_validity,omitempty"`
		Features    []string `yaml:"features,omitempty"`
	}
	type defaults struct {
		MaxValidity string   `yaml:"max_validity"`
		Features    []string `yaml:"features"`
	}
	doc := struct {
		Version  int      `yaml:"version"`
		Users    []user   `yaml:"users"`
		Defaults defaults `yaml:"defaults"`
		Request  []rule   `yaml:"request"`
		Resolve  []rule   `yaml:"resolve"`
	}{Version: 1, Defaults: defaults{MaxValidity: maxValidity.String(), Features: []string{policy.FeatureReuse}}}
	for _, s := range subs {
		doc.Users = append(doc.Users, user{IMPI: s.IMPI, IMPUs: s.IMPUs, Groups: []string{labGroup}})
	}
	members := []string{"group:" + labGroup}
	doc.Request = []rule{{Name: "home-calls", From: members, To: members, MaxValidity: maxValidity.String(),
		Features: []string{policy.FeatureReuse, policy.FeatureForking}}}
	doc.Resolve = []rule{{Name: "home-calls", Who: members, Of: members}}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return policy.Parse(b)
}

// startKMS starts the KMS on Host: a memory store holding the subscribers (IMPI → IMPUs), the
// policy, and a Zn client towards the lab's BSF with a key cache.
func (l *Lab) startKMS(ctx context.Context, cfg Config, opts Options) error {
	kc := KMSConfig{}
	if cfg.KMS != nil {
		kc = *cfg.KMS
	}
	if kc.FQDN == "" {
		kc.FQDN = "kms." + cfg.Domain
	}
	if kc.Skew == 0 {
		kc.Skew = bsf.Duration(mikey.DefaultSkew)
	}
	if kc.MaxValidity == 0 {
		kc.MaxValidity = bsf.Duration(time.Hour)
	}
	var eng *policy.Engine
	if kc.PolicyFile != "" {
		var err error
		if eng, err = policy.Load(kc.PolicyFile); err != nil {
			return fmt.Errorf("lab: KMS policy: %w", err)
		}
	} else {
		p, err := labPolicy(cfg.Subscribers, time.Duration(kc.MaxValidity))
		if err != nil {
			return fmt.Errorf("lab: KMS policy: %w", err)
		}
		eng = policy.NewEngine("", p)
	}
	st := store.NewMemory()
	for _, s := range cfg.Subscribers {
		if err := st.PutUser(ctx, store.User{IMPI: s.IMPI, IMPUs: s.IMPUs, Groups: []string{labGroup}}); err != nil {
			st.Close()
			return fmt.Errorf("lab: KMS user %q: %w", s.IMPI, err)
		}
	}
	// The replay cache's epoch (RFC 3830 §5.4, store.ReplayGuard) is put one skew before now:
	// a fresh KMS otherwise refuses every message for one skew after its start, since a lost
	// cache cannot vouch for earlier timestamps. Nothing can precede this store: a message
	// must be keyed with a Ks_NAF of a B-TID the lab's BSF issues, and that BSF is as new as
	// the store, so the cache is complete for any earlier epoch.
	skew := time.Duration(kc.Skew)
	if _, err := st.MarkStarted(ctx, opts.Now().Add(-skew)); err != nil {
		st.Close()
		return fmt.Errorf("lab: KMS store: %w", err)
	}
	znc, err := zn.NewHTTPResolver(zn.ClientConfig{BaseURL: l.ZnURL, BearerToken: l.ZnBearerToken})
	if err != nil {
		st.Close()
		return fmt.Errorf("lab: KMS Zn client: %w", err)
	}
	zr := kmszn.Resolver{Zn: zn.NewCache(znc, zn.CacheConfig{Now: opts.Now})}
	kcfg := kms.Config{FQDN: kc.FQDN, Skew: skew, MaxValidity: time.Duration(kc.MaxValidity)}
	if !kc.RateLimits {
		kcfg.IdentityRate, kcfg.SourceRate = -1, -1
	}
	srv, err := kms.New(ctx, kcfg, kms.Options{Store: st, Policy: eng, Zn: zr, Now: opts.Now, Rand: opts.Rand,
		Logger: opts.Logger.With("component", "kms"), OnAudit: opts.KMSAudit})
	if err != nil {
		st.Close()
		return fmt.Errorf("lab: KMS: %w", err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, "0"))
	if err != nil {
		st.Close()
		return fmt.Errorf("lab: KMS listener: %w", err)
	}
	l.KMS, l.KMSFQDN, l.KMSSkew = srv, kc.FQDN, skew
	l.KMSURL = "http://" + ln.Addr().String() + kms.DefaultPath
	done := make(chan struct{})
	// Serve closes the listener when ctx ends (Close cancels it); the store closes after it.
	l.goServe(func() error { defer close(done); return srv.Serve(ctx, ln) })
	l.closers = append(l.closers, func() error { <-done; znc.CloseIdleConnections(); return st.Close() })
	return nil
}

// KMSNAFID is the KMS's NAF_Id (TS 33.220 Annex H.3: FQDN ‖ Ua security protocol 01 00 00 00
// 06); the zero NAFID without a KMS.
func (l *Lab) KMSNAFID() gba.NAFID {
	if l.KMSFQDN == "" {
		return gba.NAFID{}
	}
	return gba.NAFID{FQDN: l.KMSFQDN, UaSecProtID: gba.UaSecProtIDKMS()}
}
