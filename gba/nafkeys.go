package gba

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Bootstrapper runs GBA bootstrapping; *UbClient implements it.
type Bootstrapper interface {
	Bootstrap(ctx context.Context) (*Bootstrap, error)
}

// NAFKey is a Ks_(ext)_NAF handed to a Ua application, with the B-TID the NAF will resolve over Zn.
type NAFKey struct {
	NAF    NAFID
	BTID   string
	Key    []byte // Ks_NAF, 32 octets; the caller's copy
	Expiry time.Time
}

// String redacts the key.
func (k NAFKey) String() string {
	return fmt.Sprintf("NAFKey{NAF:%s, B-TID:%s, Expiry:%s, Key:[redacted]}", k.NAF, k.BTID, k.Expiry.Format(time.RFC3339))
}

// LogValue redacts the key.
func (k NAFKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// NAFKeysConfig configures a NAFKeys cache.
type NAFKeysConfig struct {
	Bootstrapper Bootstrapper
	// Clock (nil: time.Now) decides expiry.
	Clock func() time.Time
	// UaSecProtID is the Ua protocol of Key (by FQDN); zero means UaSecProtIDKMS (TS 33.220 H.3).
	UaSecProtID [5]byte
	// Margin re-bootstraps this long before the lifetime ends, so that a key handed out is still
	// valid when the NAF checks it.
	Margin time.Duration
	// BootstrapTimeout bounds one bootstrap run (0 means 60 s). The run is shared by all waiting
	// callers, so it is not tied to any single caller's context.
	BootstrapTimeout time.Duration
	Logger           *slog.Logger
}

// NAFKeys hands out NAF keys per NAF_Id from the current bootstrap and re-bootstraps when the
// key lifetime has passed (TS 33.220 §4.5.3: the UE runs a new bootstrap when Ks has expired) or
// when a NAF reports the B-TID unknown (Invalidate; TS 24.109 §5.2.4/§5.2.5). One bootstrap runs
// at a time; concurrent callers wait for it. Safe for concurrent use.
type NAFKeys struct {
	cfg NAFKeysConfig
	log *slog.Logger

	mu     sync.Mutex
	cur    *Bootstrap
	keys   map[string]*NAFKey // by string(NAF_Id)
	flight *bootstrapFlight
	closed bool
}

type bootstrapFlight struct {
	done chan struct{}
	err  error
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("NAF key cache closed")

// NewNAFKeys returns an empty cache; the first Key call bootstraps.
func NewNAFKeys(cfg NAFKeysConfig) (*NAFKeys, error) {
	if cfg.Bootstrapper == nil {
		return nil, errors.New("NAF keys: no Bootstrapper")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.UaSecProtID == ([5]byte{}) {
		cfg.UaSecProtID = UaSecProtIDKMS()
	}
	if cfg.BootstrapTimeout <= 0 {
		cfg.BootstrapTimeout = 60 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &NAFKeys{cfg: cfg, log: log, keys: map[string]*NAFKey{}}, nil
}

// Key is the key provider for Ua clients such as the KMS client (TS 33.328): the B-TID and
// Ks_NAF for NAF_Id = nafFQDN ‖ the configured Ua security protocol identifier. The key is the
// caller's copy.
func (n *NAFKeys) Key(ctx context.Context, nafFQDN string) (btid string, key []byte, err error) {
	k, err := n.KeyFor(ctx, NAFID{FQDN: nafFQDN, UaSecProtID: n.cfg.UaSecProtID})
	if err != nil {
		return "", nil, err
	}
	return k.BTID, k.Key, nil
}

// KeyFor returns the key for naf, bootstrapping first if there is no valid bootstrap.
func (n *NAFKeys) KeyFor(ctx context.Context, naf NAFID) (NAFKey, error) {
	fresh := false // a bootstrap finished for us: accept it even within Margin of its end
	for {
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			return NAFKey{}, ErrClosed
		}
		now := n.cfg.Clock()
		if n.cur != nil && (now.Add(n.cfg.Margin).Before(n.cur.Lifetime) || fresh && now.Before(n.cur.Lifetime)) {
			k := n.derive(naf)
			n.mu.Unlock()
			return k, nil
		}
		if n.cur != nil && !now.Before(n.cur.Lifetime) {
			n.dropLocked() // expired: wipe now rather than when the next bootstrap succeeds
		}
		f := n.flight
		if f == nil {
			f = &bootstrapFlight{done: make(chan struct{})}
			n.flight = f
			go n.run(context.WithoutCancel(ctx), f)
		}
		n.mu.Unlock()
		select {
		case <-f.done:
			if f.err != nil {
				return NAFKey{}, f.err
			}
			fresh = true
			// loop: the new bootstrap is installed (or already expired, which bootstraps again)
		case <-ctx.Done():
			return NAFKey{}, fmt.Errorf("NAF key for %s: waiting for bootstrap: %w", naf, ctx.Err())
		}
	}
}

// derive returns a copy of the cached key for naf, deriving it on first use. n.mu is held.
func (n *NAFKeys) derive(naf NAFID) NAFKey {
	id := string(naf.Bytes())
	k, ok := n.keys[id]
	if !ok {
		k = &NAFKey{NAF: naf, BTID: n.cur.BTID, Key: n.cur.KsNAF(naf), Expiry: n.cur.Lifetime}
		n.keys[id] = k
	}
	out := *k
	out.Key = append([]byte(nil), k.Key...)
	return out
}

// run performs one bootstrap and installs it.
func (n *NAFKeys) run(ctx context.Context, f *bootstrapFlight) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.BootstrapTimeout)
	defer cancel()
	b, err := n.cfg.Bootstrapper.Bootstrap(ctx)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.flight = nil
	switch {
	case err != nil:
		f.err = fmt.Errorf("NAF keys: bootstrap: %w", err)
		n.log.Warn("GBA bootstrap failed", "err", err)
	case n.closed:
		b.Zero()
		f.err = ErrClosed
	case !n.cfg.Clock().Before(b.Lifetime):
		b.Zero()
		f.err = fmt.Errorf("NAF keys: bootstrap returned B-TID %s already expired at %s", b.BTID, b.Lifetime.Format(time.RFC3339))
	default:
		n.dropLocked()
		n.cur = b
		n.log.Info("GBA bootstrapped", "btid", b.BTID, "lifetime", b.Lifetime)
	}
	close(f.done)
}

// Invalidate drops the bootstrap with B-TID btid, typically because a NAF answered that it does
// not know it (expired or unknown at the BSF). The next Key call bootstraps again. Another B-TID
// is ignored, so that a late report about an old B-TID does not discard a fresh bootstrap.
func (n *NAFKeys) Invalidate(btid string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cur != nil && n.cur.BTID == btid {
		n.log.Info("GBA B-TID invalidated", "btid", btid)
		n.dropLocked()
	}
}

// Current returns the B-TID and lifetime of the current bootstrap, if any.
func (n *NAFKeys) Current() (btid string, lifetime time.Time, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cur == nil {
		return "", time.Time{}, false
	}
	return n.cur.BTID, n.cur.Lifetime, true
}

// Close wipes all keys; later calls fail with ErrClosed.
func (n *NAFKeys) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	n.dropLocked()
	return nil
}

// dropLocked wipes and forgets the current bootstrap and its NAF keys. n.mu is held.
func (n *NAFKeys) dropLocked() {
	if n.cur != nil {
		n.cur.Zero()
		n.cur = nil
	}
	for id, k := range n.keys {
		clear(k.Key)
		delete(n.keys, id)
	}
}
