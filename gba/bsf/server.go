package bsf

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Config is the BSF's behaviour; cmd/bsf builds it from YAML (see FileConfig).
type Config struct {
	// Realm is the Digest realm of the Ub challenge (TS 24.109 §4.4; the BSF FQDN in the Annex A
	// examples). The UE echoes it.
	Realm string
	// Domain is the BSF server domain name appended to base64(RAND) in the B-TID (TS 33.220 §4.5.2).
	Domain string
	// KeyLifetime is the lifetime of Ks (operator policy, TS 33.220 §4.5.2 step 6).
	KeyLifetime time.Duration
	// NonceLifetime bounds the time between a challenge and its answer (default 2 min).
	NonceLifetime time.Duration
	// MaxAuthFailures is how many wrong answers a challenge survives (default 3).
	MaxAuthFailures int
	// MaxPendingChallenges bounds outstanding challenges (default 10000).
	MaxPendingChallenges int
	// MaxBodyBytes bounds a request body on Ub and Zn (default 16 KiB).
	MaxBodyBytes int64

	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout go to both HTTP servers
	// (defaults 5 s, 10 s, 10 s, 60 s).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown (default 5 s).
	ShutdownTimeout time.Duration

	// ZnBearerTokens are the tokens a Zn caller may present ("Authorization: Bearer").
	ZnBearerTokens []string
	// ZnClientCAs, if set, lets a Zn caller authenticate with a client certificate issued by one of
	// these CAs (mutual TLS); it needs ZnTLS. At least one of the two Zn methods is required.
	ZnClientCAs *x509.CertPool

	// UbTLS and ZnTLS, if set, carry the server certificates; the endpoint then speaks HTTPS.
	UbTLS, ZnTLS *tls.Config
}

// Options are the BSF's injected dependencies.
type Options struct {
	Now    func() time.Time // default time.Now
	Rand   io.Reader        // RAND, opaque; default crypto/rand
	Logger *slog.Logger     // default discards
}

// Server is the test BSF: Ub (TS 24.109 clause 4, Annex A) and Zn (TS 33.220 §4.5.3, modelled on
// TS 29.309 Nbsp_GBA) over one AuC.
type Server struct {
	cfg  Config
	auc  *AuC
	now  func() time.Time
	rand io.Reader
	log  *slog.Logger

	challenges *challenges
	sessions   *sessions
	metrics    Metrics
	znTokens   [][]byte
}

// New checks cfg and builds a Server.
func New(cfg Config, auc *AuC, opts Options) (*Server, error) {
	if auc == nil {
		return nil, errors.New("bsf: no AuC")
	}
	if err := checkName("realm", cfg.Realm); err != nil {
		return nil, err
	}
	if err := checkName("domain", cfg.Domain); err != nil {
		return nil, err
	}
	if cfg.KeyLifetime <= 0 {
		return nil, fmt.Errorf("bsf: key lifetime %v, want > 0", cfg.KeyLifetime)
	}
	if len(cfg.ZnBearerTokens) == 0 && cfg.ZnClientCAs == nil {
		return nil, errors.New("bsf: Zn needs bearer tokens or a client CA: Zn hands out keys and is never open")
	}
	if cfg.ZnClientCAs != nil && cfg.ZnTLS == nil {
		return nil, errors.New("bsf: a Zn client CA needs a Zn TLS certificate")
	}
	defDur(&cfg.NonceLifetime, 2*time.Minute)
	defDur(&cfg.ReadHeaderTimeout, 5*time.Second)
	defDur(&cfg.ReadTimeout, 10*time.Second)
	defDur(&cfg.WriteTimeout, 10*time.Second)
	defDur(&cfg.IdleTimeout, 60*time.Second)
	defDur(&cfg.ShutdownTimeout, 5*time.Second)
	if cfg.MaxAuthFailures <= 0 {
		cfg.MaxAuthFailures = 3
	}
	if cfg.MaxPendingChallenges <= 0 {
		cfg.MaxPendingChallenges = 10000
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 16 << 10
	}
	s := &Server{cfg: cfg, auc: auc, now: opts.Now, rand: opts.Rand, log: opts.Logger,
		challenges: newChallenges(cfg.MaxPendingChallenges, cfg.NonceLifetime), sessions: newSessions()}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for i, t := range cfg.ZnBearerTokens {
		if len(t) < 16 {
			return nil, fmt.Errorf("bsf: Zn bearer token %d is shorter than 16 characters", i)
		}
		s.znTokens = append(s.znTokens, []byte(t))
	}
	return s, nil
}

func defDur(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

func checkName(what, v string) error {
	if v == "" {
		return fmt.Errorf("bsf: empty %s", what)
	}
	if strings.ContainsAny(v, "\" \\\r\n\t@") {
		return fmt.Errorf("bsf: %s %q contains a character not allowed in a domain name", what, v)
	}
	return nil
}

// Metrics returns the live counters.
func (s *Server) Metrics() *Metrics { return &s.metrics }

// UbHandler serves Ub on every path but /healthz and /metrics.
func (s *Server) UbHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.serveHealth)
	mux.HandleFunc("/metrics", s.serveMetrics)
	mux.HandleFunc("/", s.serveUb)
	return mux
}

// ZnHandler serves Zn at RetrievalPath, plus /healthz and /metrics (without Zn authentication:
// they hold no secrets).
func (s *Server) ZnHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.serveHealth)
	mux.HandleFunc("/metrics", s.serveMetrics)
	mux.HandleFunc("/", s.serveZn)
	return mux
}

// ZnServerTLS is the TLS configuration Serve uses on Zn: ZnTLS with client certificates verified
// against ZnClientCAs when given (a caller without one may still use a bearer token).
func (s *Server) ZnServerTLS() *tls.Config {
	if s.cfg.ZnTLS == nil {
		return nil
	}
	c := s.cfg.ZnTLS.Clone()
	if s.cfg.ZnClientCAs != nil {
		c.ClientCAs = s.cfg.ZnClientCAs
		c.ClientAuth = tls.VerifyClientCertIfGiven
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// Serve runs Ub on ub and Zn on zn (either may be nil) until ctx ends, then shuts both down
// gracefully. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ub, zn net.Listener) error {
	type srv struct {
		name string
		hs   *http.Server
		ln   net.Listener
		tls  bool
	}
	var srvs []srv
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	mk := func(name string, h http.Handler, ln net.Listener, tc *tls.Config) {
		if ln == nil {
			return
		}
		if tc != nil {
			if tc.MinVersion == 0 {
				tc = tc.Clone()
				tc.MinVersion = tls.VersionTLS12
			}
			ln = tls.NewListener(ln, tc)
		}
		srvs = append(srvs, srv{name, &http.Server{
			Handler:           h,
			ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
			ReadTimeout:       s.cfg.ReadTimeout,
			WriteTimeout:      s.cfg.WriteTimeout,
			IdleTimeout:       s.cfg.IdleTimeout,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          errLog,
		}, ln, tc != nil})
	}
	mk("ub", s.UbHandler(), ub, s.cfg.UbTLS)
	mk("zn", s.ZnHandler(), zn, s.ZnServerTLS())
	if len(srvs) == 0 {
		return errors.New("bsf: no listener")
	}
	errc := make(chan error, len(srvs))
	for _, x := range srvs {
		s.log.Info("bsf listening", "endpoint", x.name, "addr", x.ln.Addr().String(), "tls", x.tls)
		go func() {
			if err := x.hs.Serve(x.ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("bsf %s: %w", x.name, err)
				return
			}
			errc <- nil
		}()
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	for _, x := range srvs {
		if err := x.hs.Shutdown(sctx); err != nil {
			// Requests still running, or connections that never sent a request (net/http treats
			// those as busy for 5 s): stop waiting and close them.
			s.log.Warn("bsf: graceful shutdown timed out, closing connections", "endpoint", x.name, "err", err)
			if err := x.hs.Close(); err != nil && first == nil {
				first = fmt.Errorf("bsf %s: close: %w", x.name, err)
			}
		}
	}
	s.log.Info("bsf stopped")
	return first
}

// String keeps the Zn bearer tokens and TLS private keys out of logs and %v output.
func (c Config) String() string {
	return fmt.Sprintf("bsf.Config{Realm:%s Domain:%s KeyLifetime:%s NonceLifetime:%s ZnBearerTokens:[%d redacted] ZnClientCAs:%t UbTLS:%t ZnTLS:%t}",
		c.Realm, c.Domain, c.KeyLifetime, c.NonceLifetime, len(c.ZnBearerTokens), c.ZnClientCAs != nil, c.UbTLS != nil, c.ZnTLS != nil)
}

// GoString redacts like String.
func (c Config) GoString() string { return c.String() }
