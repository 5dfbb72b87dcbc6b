package lab

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/imsphone/imsphone/gba/bsf"
	"github.com/imsphone/imsphone/internal/lab/registrar"
	"github.com/imsphone/imsphone/keymgmt/kms"
)

// Options are the lab's injected dependencies.
type Options struct {
	Now    func() time.Time // default time.Now
	Rand   io.Reader        // default crypto/rand
	Logger *slog.Logger     // default discards
	// KMSAudit, if set, receives the KMS's audit event of every decision (tests, metrics).
	KMSAudit func(kms.AuditEvent)
	// SIPReceived, if set, is told the method, transport and size of every SIP request the
	// registrar/proxy receives (tests check which transport a UE chose).
	SIPReceived func(method, transport string, size int)
}

// Lab is a running in-process IMS lab.
type Lab struct {
	// SIPAddr is the registrar/proxy address, host:port, for UDP and TCP alike; a UE uses it as
	// its outbound proxy (the P-CSCF of a real network).
	SIPAddr string
	// SIPTLSAddr is its TLS address with Config.SIPTLS ("" otherwise): the outbound proxy of a
	// UE on transport tls, verified with CAPool.
	SIPTLSAddr string
	// Domain is the home domain; RegistrarURI ("sip:<Domain>") is the REGISTER Request-URI.
	Domain       string
	RegistrarURI string
	// UbURL and ZnURL are the BSF endpoints ("" without a BSF); ZnBearerToken authenticates a
	// NAF on Zn. The KMS is a NAF: it resolves B-TIDs at ZnURL with this token.
	UbURL, ZnURL  string
	ZnBearerToken string
	BSFRealm      string

	// KMSURL is where UEs POST MIKEY-TICKET messages ("" without a KMS); KMSFQDN is the KMS's
	// name (its NAF_Id with KMSNAFID, and IDRkms); KMSSkew the MIKEY timestamp window.
	KMSURL  string
	KMSFQDN string
	KMSSkew time.Duration

	Registrar *registrar.Server
	BSF       *bsf.Server
	KMS       *kms.Server
	// AuC is the one HSS/AuC behind both the registrar and the BSF, so a UE keeps one SQN
	// sequence whichever it talks to (as a USIM facing one HSS does).
	AuC *bsf.AuC

	accounts []Account
	ca       *certAuthority
	now      func() time.Time
	rand     io.Reader
	log      *slog.Logger
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	closers  []func() error
	errMu    sync.Mutex
	serveErr error
	once     sync.Once
}

// Account is what a UE needs to use one subscription in this lab.
type Account struct {
	IMPI     string
	IMPUs    []string
	Password string // Digest password ("" for AKA)
	AKA      bool
	K, OPc   []byte // AKA only
	AMF      [2]byte
	Realm    string // the Digest realm, the home domain
}

// String keeps the password, K and OPc out of logs and %v output.
func (a Account) String() string {
	return fmt.Sprintf("Account{IMPI: %q, IMPUs: %q, AKA: %v, Realm: %q, secrets: [redacted]}", a.IMPI, a.IMPUs, a.AKA, a.Realm)
}

// GoString redacts like String.
func (a Account) GoString() string { return a.String() }

// LogValue redacts like String.
func (a Account) LogValue() slog.Value {
	return slog.GroupValue(slog.String("impi", a.IMPI), slog.Any("impus", a.IMPUs), slog.Bool("aka", a.AKA))
}

// String describes the lab without keys or passwords (fmt would print unexported fields raw).
func (l *Lab) String() string {
	return fmt.Sprintf("lab.Lab{Domain: %q, SIP: %s, Ub: %q, Zn: %q, KMS: %q, accounts: %d}", l.Domain, l.SIPAddr, l.UbURL, l.ZnURL, l.KMSURL, len(l.accounts))
}

// GoString redacts like String.
func (l *Lab) GoString() string { return l.String() }

// Accounts returns the subscriptions with their settings (copies).
func (l *Lab) Accounts() []Account {
	out := make([]Account, len(l.accounts))
	for i, a := range l.accounts {
		a.IMPUs = append([]string(nil), a.IMPUs...)
		a.K = append([]byte(nil), a.K...)
		a.OPc = append([]byte(nil), a.OPc...)
		out[i] = a
	}
	return out
}

// Account returns the settings of one IMPI.
func (l *Lab) Account(impi string) (Account, bool) {
	for _, a := range l.Accounts() {
		if a.IMPI == impi {
			return a, true
		}
	}
	return Account{}, false
}

// Start brings the lab up: the shared AuC, the registrar/proxy on Host:SIPPort (UDP and TCP on
// one port), and the BSF if configured. Components start in dependency order and Close stops
// them in reverse; cancelling ctx closes the lab too.
func Start(ctx context.Context, cfg Config, opts Options) (l *Lab, err error) {
	if cfg.Domain == "" {
		return nil, errors.New("lab: domain is empty")
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	accts, subs, err := cfg.subscribers()
	if err != nil {
		return nil, err
	}
	policy, err := cfg.senderPolicy()
	if err != nil {
		return nil, fmt.Errorf("lab config: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	l = &Lab{Domain: cfg.Domain, RegistrarURI: "sip:" + cfg.Domain, cancel: cancel, now: opts.Now, rand: opts.Rand,
		log: opts.Logger}
	defer func() {
		if err != nil {
			l.Close()
			l = nil
		}
	}()

	// The HSS/AuC, shared.
	if l.AuC, err = bsf.NewAuC(subs, ""); err != nil {
		return l, fmt.Errorf("lab: AuC: %w", err)
	}

	// The registrar/proxy.
	rc := registrar.Config{Domain: cfg.Domain, Host: cfg.Host, Accounts: accts,
		DigestAlgorithms: cfg.Registrar.DigestAlgorithms, AKAAlgorithm: cfg.Registrar.AKAAlgorithm,
		MinExpires: time.Duration(cfg.Registrar.MinExpires), MaxExpires: time.Duration(cfg.Registrar.MaxExpires),
		DefaultExpires: time.Duration(cfg.Registrar.DefaultExpires), NonceLifetime: time.Duration(cfg.Registrar.NonceLifetime),
		Sender: policy}
	var serverTLS, dialTLS *tls.Config
	if cfg.SIPTLS {
		if l.ca, err = newCertAuthority(opts.Now, cfg.Domain); err != nil {
			return l, err
		}
		cert, err := l.ca.issue(cfg.Host, cfg.Domain)
		if err != nil {
			return l, err
		}
		serverTLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		dialTLS = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: l.ca.pool, Certificates: []tls.Certificate{cert}}
	}
	if l.Registrar, err = registrar.New(rc, l.AuC, registrar.Options{Now: opts.Now, Rand: opts.Rand,
		Logger: opts.Logger.With("component", "registrar"), Received: opts.SIPReceived, TLS: dialTLS}); err != nil {
		return l, fmt.Errorf("lab: %w", err)
	}
	l.closers = append(l.closers, l.Registrar.Close)
	tl, pc, err := listenSIP(cfg.Host, cfg.SIPPort)
	if err != nil {
		return l, fmt.Errorf("lab: SIP listeners: %w", err)
	}
	l.closers = append(l.closers, tl.Close, pc.Close)
	l.SIPAddr = tl.Addr().String()
	l.Registrar.SetListenAddr("udp", pc.LocalAddr())
	l.Registrar.SetListenAddr("tcp", tl.Addr())
	l.goServe(func() error { return l.Registrar.ServeUDP(pc) })
	l.goServe(func() error { return l.Registrar.ServeTCP(tl) })
	if cfg.SIPTLS {
		tcp, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.SIPTLSPort)))
		if err != nil {
			return l, fmt.Errorf("lab: SIP TLS listener: %w", err)
		}
		tlsL := tls.NewListener(tcp, serverTLS)
		l.closers = append(l.closers, tlsL.Close)
		l.SIPTLSAddr = tcp.Addr().String()
		l.Registrar.SetListenAddr("tls", tcp.Addr())
		l.goServe(func() error { return l.Registrar.ServeTLS(tlsL) })
	}

	// The BSF (Ub for UEs, Zn for NAFs), over the same AuC.
	if cfg.BSF != nil {
		if err := l.startBSF(ctx, cfg, *cfg.BSF, opts); err != nil {
			return l, err
		}
	}

	// The KMS is a NAF: it starts after the BSF and resolves B-TIDs at its Zn.
	if cfg.BSF != nil {
		if err := l.startKMS(ctx, cfg, opts); err != nil {
			return l, err
		}
	} else if cfg.KMS != nil {
		return l, errors.New("lab: the KMS needs the BSF (Zn)")
	}

	for _, a := range accts {
		acc := Account{IMPI: a.IMPI, IMPUs: a.IMPUs, Password: a.Password, AKA: a.AKA, Realm: cfg.Domain}
		for _, s := range subs {
			if s.IMPI == a.IMPI {
				acc.K, acc.OPc, acc.AMF = append([]byte(nil), s.K...), append([]byte(nil), s.OPc...), s.AMF
			}
		}
		l.accounts = append(l.accounts, acc)
	}
	for i := range subs {
		clear(subs[i].K)
		clear(subs[i].OPc)
	}
	context.AfterFunc(ctx, func() { l.Close() })
	opts.Logger.Info("lab started", "sip", l.SIPAddr, "sip-tls", l.SIPTLSAddr, "ub", l.UbURL, "zn", l.ZnURL, "kms", l.KMSURL, "subscribers", len(accts))
	return l, nil
}

func (l *Lab) startBSF(ctx context.Context, cfg Config, bc BSFConfig, opts Options) error {
	if bc.Realm == "" {
		bc.Realm = "bsf." + cfg.Domain
	}
	if bc.Domain == "" {
		bc.Domain = bc.Realm
	}
	if bc.KeyLifetime == 0 {
		bc.KeyLifetime = bsf.Duration(time.Hour)
	}
	if bc.ZnBearerToken == "" {
		tok := make([]byte, 16)
		if _, err := io.ReadFull(opts.Rand, tok); err != nil {
			return fmt.Errorf("lab: Zn token: %w", err)
		}
		bc.ZnBearerToken = hex.EncodeToString(tok)
	}
	srv, err := bsf.New(bsf.Config{Realm: bc.Realm, Domain: bc.Domain, KeyLifetime: time.Duration(bc.KeyLifetime),
		ZnBearerTokens: []string{bc.ZnBearerToken}}, l.AuC,
		bsf.Options{Now: opts.Now, Rand: opts.Rand, Logger: opts.Logger.With("component", "bsf")})
	if err != nil {
		return fmt.Errorf("lab: BSF: %w", err)
	}
	ub, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, "0"))
	if err != nil {
		return fmt.Errorf("lab: Ub listener: %w", err)
	}
	zn, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, "0"))
	if err != nil {
		ub.Close()
		return fmt.Errorf("lab: Zn listener: %w", err)
	}
	l.BSF, l.BSFRealm, l.ZnBearerToken = srv, bc.Realm, bc.ZnBearerToken
	l.UbURL = "http://" + ub.Addr().String() + "/"
	l.ZnURL = "http://" + zn.Addr().String()
	// Serve closes both listeners when ctx ends (Close cancels it).
	l.goServe(func() error { return srv.Serve(ctx, ub, zn) })
	return nil
}

// listenSIP binds TCP and UDP on the same port, so one address serves both transports.
func listenSIP(host string, port int) (net.Listener, net.PacketConn, error) {
	tries := 1
	if port == 0 {
		tries = 20
	}
	var lastErr error
	for i := 0; i < tries; i++ {
		tl, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, nil, err
		}
		pc, err := net.ListenPacket("udp", tl.Addr().String())
		if err == nil {
			return tl, pc, nil
		}
		tl.Close()
		lastErr = err
	}
	return nil, nil, fmt.Errorf("no port free for both TCP and UDP: %w", lastErr)
}

func (l *Lab) goServe(f func() error) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		if err := f(); err != nil && !errors.Is(err, net.ErrClosed) {
			l.errMu.Lock()
			if l.serveErr == nil {
				l.serveErr = err
			}
			l.errMu.Unlock()
		}
	}()
}

// Close stops every component, in reverse start order, and waits for them. It returns the first
// error a server reported while running, if any.
func (l *Lab) Close() error {
	l.once.Do(func() {
		l.cancel()
		for i := len(l.closers) - 1; i >= 0; i-- {
			l.closers[i]()
		}
		l.wg.Wait()
		for i := range l.accounts {
			clear(l.accounts[i].K)
			clear(l.accounts[i].OPc)
		}
	})
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return l.serveErr
}
