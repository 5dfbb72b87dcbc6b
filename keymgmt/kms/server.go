package kms

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms/policy"
	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// ContentType is the media type of MIKEY messages (RFC 3830 §10.1), in both directions.
const ContentType = "application/mikey"

// DefaultPath is the URL path the KMS takes MIKEY messages on (our choice: TS 33.328 unverified).
const DefaultPath = "/kms/mikey"

// Config is the KMS's behaviour. Zero values take the defaults in brackets.
type Config struct {
	// FQDN is the KMS's name: NAF_Id = FQDN ‖ 01 00 00 00 06 (TS 33.220 H.3) and IDRkms. Required.
	FQDN string
	Path string // URL path for MIKEY POSTs [DefaultPath]

	Skew        time.Duration // timestamp window, RFC 3830 §5.4 [mikey.DefaultSkew]
	MaxValidity time.Duration // cap on any ticket validity TRs..TRe [24h]
	// TicketKeyRotation is how long a ticket-protection key stays current [24h].
	TicketKeyRotation time.Duration
	EncrAlg           mikey.EncrAlg // KEMAC and ticket encryption [AES-CM-128]

	MaxBodyBytes     int64   // request body limit [8 KiB]
	MaxConcurrent    int     // MIKEY requests processed at once [4 × 64]
	IdentityRate     float64 // per B-TID requests per second [20]; negative: no limit
	IdentityBurst    int     // [40]
	SourceRate       float64 // per source IP requests per second [1000]; negative: no limit
	SourceBurst      int     // [2000]
	MaxLimiterTracks int     // identities and sources tracked at once [100000]

	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration // [5 s, 10 s, 10 s, 60 s]
	ShutdownTimeout                                           time.Duration // [5 s]
	// TLS, when set, makes Serve speak HTTPS (HTTP/1.1 and HTTP/2 by ALPN); without it Serve
	// speaks HTTP/1.1 and cleartext HTTP/2 (prior knowledge).
	TLS *tls.Config
}

func (c *Config) defaults() error {
	if c.FQDN == "" {
		return errors.New("kms: config: FQDN is required (NAF_Id)")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	def(&c.Skew, mikey.DefaultSkew)
	def(&c.MaxValidity, 24*time.Hour)
	def(&c.TicketKeyRotation, 24*time.Hour)
	def(&c.ReadHeaderTimeout, 5*time.Second)
	def(&c.ReadTimeout, 10*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.IdleTimeout, 60*time.Second)
	def(&c.ShutdownTimeout, 5*time.Second)
	if c.EncrAlg == mikey.EncrNULL {
		c.EncrAlg = mikey.EncrAESCM128
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 8 << 10
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = 256
	}
	if c.IdentityRate == 0 {
		c.IdentityRate, c.IdentityBurst = 20, max(c.IdentityBurst, 40)
	}
	if c.SourceRate == 0 {
		c.SourceRate, c.SourceBurst = 1000, max(c.SourceBurst, 2000)
	}
	if c.MaxLimiterTracks == 0 {
		c.MaxLimiterTracks = 100000
	}
	return nil
}

// Policy is the authorisation policy the KMS asks (keymgmt/kms/policy.Engine implements it).
type Policy interface {
	Decide(policy.TicketRequest) policy.Decision
	DecideResolve(policy.ResolveRequest) policy.Decision
}

// Options are the KMS's injected dependencies.
type Options struct {
	Store  store.Store // required: ticket keys, users, replay cache, ticket uses
	Policy Policy      // required
	Zn     ZnResolver  // required: Ks_NAF for a B-TID
	Now    func() time.Time
	Rand   io.Reader    // keys, RANDs, ticket keys [crypto/rand]
	Logger *slog.Logger // operational log [discard]
	// Audit receives one "audit" record per decision [Logger]; OnAudit, if set, gets the same
	// event (tests, metrics).
	Audit   *slog.Logger
	OnAudit func(AuditEvent)
}

// Server is the KMS: an http.Handler for MIKEY-TICKET Request and Resolve exchanges (RFC 6043
// §4.2.1, §4.2.3) and a Serve loop with limits and timeouts.
type Server struct {
	cfg    Config
	st     store.Store
	pol    Policy
	zn     ZnResolver
	now    func() time.Time
	rnd    io.Reader
	log    *slog.Logger
	audit  *slog.Logger
	onAud  func(AuditEvent)
	guard  *store.ReplayGuard
	keys   *ticketKeys
	idRate *limiter
	srcRat *limiter
	sem    chan struct{}
	idrKMS *mikey.IDR
	mux    *http.ServeMux

	stats stats
}

type stats struct {
	requests, resolves, errors, limited, overloaded atomic.Uint64
}

// New builds a KMS: it marks the start of the replay cache (store.NewReplayGuard) and makes sure
// a ticket-protection key is current.
func New(ctx context.Context, cfg Config, opts Options) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if opts.Store == nil || opts.Policy == nil || opts.Zn == nil {
		return nil, errors.New("kms: Store, Policy and Zn are required")
	}
	s := &Server{cfg: cfg, st: opts.Store, pol: opts.Policy, zn: opts.Zn, now: opts.Now, rnd: randReader(opts.Rand),
		log: opts.Logger, audit: opts.Audit, onAud: opts.OnAudit}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.audit == nil {
		s.audit = s.log
	}
	var err error
	if s.guard, err = store.NewReplayGuard(ctx, s.st, cfg.Skew, s.now); err != nil {
		return nil, fmt.Errorf("kms: %w", err)
	}
	if s.keys, err = newTicketKeys(ctx, s.st, s.rnd, cfg.TicketKeyRotation, cfg.MaxValidity+cfg.Skew, s.now()); err != nil {
		return nil, err
	}
	s.idRate = newLimiter(cfg.IdentityRate, cfg.IdentityBurst, cfg.MaxLimiterTracks)
	s.srcRat = newLimiter(cfg.SourceRate, cfg.SourceBurst, cfg.MaxLimiterTracks)
	s.sem = make(chan struct{}, cfg.MaxConcurrent)
	s.idrKMS = &mikey.IDR{Role: mikey.IDRoleKMS, Type: mikey.IDTypeURI, Data: []byte(cfg.FQDN)}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc(cfg.Path, s.serveMIKEY)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("GET /metrics", s.serveMetrics)
	return s, nil
}

// ServeHTTP serves MIKEY on Config.Path, GET /healthz and GET /metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Serve answers on ln until ctx is done, then shuts down gracefully (ShutdownTimeout) and
// returns nil; it also prunes the replay cache, ticket uses and retired ticket keys once a
// minute.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	if s.cfg.TLS == nil {
		p.SetUnencryptedHTTP2(true)
	}
	hs.Protocols = &p
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLS != nil {
			hs.TLSConfig = s.cfg.TLS.Clone()
			errc <- hs.ServeTLS(ln, "", "")
			return
		}
		errc <- hs.Serve(ln)
	}()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return err
		case <-tick.C:
			s.Prune(ctx)
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
			defer cancel()
			err := hs.Shutdown(sctx)
			<-errc
			return err
		}
	}
}

// Prune drops expired replay entries, ticket use counts and retired ticket keys.
func (s *Server) Prune(ctx context.Context) {
	now := s.now()
	if _, err := s.guard.Prune(ctx); err != nil {
		s.log.Warn("prune replay cache", "err", err)
	}
	if _, err := s.st.PruneTicketUses(ctx, now); err != nil {
		s.log.Warn("prune ticket uses", "err", err)
	}
	if err := s.keys.prune(ctx, now); err != nil {
		s.log.Warn("prune ticket keys", "err", err)
	}
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if _, err := s.st.StartedAt(r.Context()); err != nil {
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

func (s *Server) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	for _, m := range []struct {
		name string
		v    *atomic.Uint64
	}{{"kms_requests_total", &s.stats.requests}, {"kms_resolves_total", &s.stats.resolves},
		{"kms_errors_total", &s.stats.errors}, {"kms_rate_limited_total", &s.stats.limited},
		{"kms_overloaded_total", &s.stats.overloaded}} {
		fmt.Fprintf(w, "# TYPE %s counter\n%s %d\n", m.name, m.name, m.v.Load())
	}
}

// reply is the outcome of one MIKEY message: the body to send and its status, plus the audit
// event.
type reply struct {
	status     int
	body       []byte
	retryAfter time.Duration
	bootstrap  bool // 401: add the WWW-Authenticate challenge
	ev         AuditEvent
}

func (s *Server) serveMIKEY(w http.ResponseWriter, r *http.Request) {
	ev := AuditEvent{Action: "unknown", ErrNo: -1, Source: r.RemoteAddr}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a MIKEY message", http.StatusMethodNotAllowed)
		return
	}
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if ok, wait := s.srcRat.allow(host, s.now()); !ok {
		s.stats.limited.Add(1)
		ev.Status, ev.Reason = http.StatusTooManyRequests, "source rate limit"
		s.early(w, r, reply{status: http.StatusTooManyRequests, retryAfter: wait, ev: ev})
		return
	}
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		s.stats.overloaded.Add(1)
		ev.Status, ev.Reason = http.StatusServiceUnavailable, "too many requests in progress"
		s.early(w, r, reply{status: http.StatusServiceUnavailable, retryAfter: time.Second, ev: ev})
		return
	}
	if mt := strings.TrimSpace(strings.SplitN(r.Header.Get("Content-Type"), ";", 2)[0]); !strings.EqualFold(mt, ContentType) {
		ev.Status, ev.Reason = http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q", mt)
		s.early(w, r, reply{status: http.StatusUnsupportedMediaType, ev: ev})
		return
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		ev.Status, ev.Reason = http.StatusRequestEntityTooLarge, fmt.Sprintf("body of %d bytes, limit %d", r.ContentLength, s.cfg.MaxBodyBytes)
		s.early(w, r, reply{status: http.StatusRequestEntityTooLarge, ev: ev})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			ev.Status, ev.Reason = http.StatusRequestEntityTooLarge, fmt.Sprintf("body over the limit of %d bytes", s.cfg.MaxBodyBytes)
			s.early(w, r, reply{status: http.StatusRequestEntityTooLarge, ev: ev})
			return
		}
		ev.Status, ev.Reason = http.StatusBadRequest, "read body: "+err.Error()
		s.early(w, r, reply{status: http.StatusBadRequest, ev: ev})
		return
	}
	rp := s.handle(r.Context(), body, r.RemoteAddr)
	s.record(r.Context(), rp)
	s.send(w, r, rp)
}

// Handle processes one MIKEY message body from source without HTTP: it is what ServeHTTP runs
// after the method, source rate, concurrency, content-type and size checks. It writes the audit
// record and returns the HTTP status, the MIKEY answer (REQUEST_RESP, RESOLVE_RESP or Error) and
// the audit event.
func (s *Server) Handle(ctx context.Context, body []byte, source string) (status int, answer []byte, ev AuditEvent) {
	rp := s.handle(ctx, body, source)
	s.record(ctx, rp)
	return rp.status, rp.body, rp.ev
}

func (s *Server) handle(ctx context.Context, body []byte, source string) reply {
	ev := AuditEvent{Action: "unknown", ErrNo: -1, Source: source}
	m, err := mikey.ParseMessage(body)
	if err != nil {
		ev.Reason = "parse: " + err.Error()
		return s.fail(ev, nil, http.StatusBadRequest, mikey.ErrUnspecified, nil, 0)
	}
	switch m.HDR.DataType {
	case mikey.DataTypeRequestInitPSK:
		s.stats.requests.Add(1)
		ev.Action = "request"
		return s.handleRequest(ctx, m, ev)
	case mikey.DataTypeResolveInitPSK:
		s.stats.resolves.Add(1)
		ev.Action = "resolve"
		return s.handleResolve(ctx, m, ev)
	case mikey.DataTypeRequestInitPK, mikey.DataTypeResolveInitPK:
		ev.Reason = fmt.Sprintf("data type %d: public-key variants are not supported", m.HDR.DataType)
		return s.fail(ev, m, http.StatusBadRequest, mikey.ErrMsgTypeNotSupp, nil, 0)
	}
	ev.Reason = fmt.Sprintf("data type %d is not a KMS request", m.HDR.DataType)
	return s.fail(ev, m, http.StatusBadRequest, mikey.ErrInvalidDT, nil, 0)
}

// fail builds the MIKEY Error answer (RFC 6043 §5.4, RFC 3830 §5.1.2): HDR copied from the message
// in error when it parsed, a fresh T, one ERR, and a V MAC'd with the auth key of the message in
// error when it was authenticated (authKey != nil). An unparsable message gets an Error with a
// zero CSB ID.
func (s *Server) fail(ev AuditEvent, m *mikey.Message, status int, n mikey.ErrNo, authKey []byte, ma mikey.MACAlg) reply {
	ev.Status, ev.ErrNo, ev.Granted = status, int(n), false
	s.stats.errors.Add(1)
	var h mikey.HDR
	if m != nil {
		h = m.HDR
	} else {
		h = mikey.HDR{Version: mikey.Version, CSIDMapType: mikey.CSIDMapEmpty}
	}
	h.CSIDMapType, h.NumCS, h.SRTPIDs, h.GenericIDs = mikey.CSIDMapEmpty, 0, nil, nil
	t, err := mikey.NewTNTPUTC(s.now())
	if err != nil {
		return reply{status: http.StatusInternalServerError, ev: ev}
	}
	if authKey == nil {
		ma = mikey.MACNULL
	}
	em, err := mikey.BuildError(mikey.ErrorParams{InError: h, T: t, ErrNos: []mikey.ErrNo{n}, AuthKey: authKey, MACAlg: ma})
	if err != nil {
		s.log.Error("build MIKEY Error", "err", err)
		return reply{status: status, ev: ev}
	}
	return reply{status: status, body: em.Raw, ev: ev}
}

func (s *Server) record(ctx context.Context, rp reply) {
	s.audit.LogAttrs(ctx, slog.LevelInfo, "audit", slog.Any("kms", rp.ev))
	if s.onAud != nil {
		s.onAud(rp.ev)
	}
}

// early answers a request refused before its body was read or parsed: no MIKEY answer.
func (s *Server) early(w http.ResponseWriter, r *http.Request, rp reply) {
	s.stats.errors.Add(1)
	s.record(r.Context(), rp)
	s.send(w, r, rp)
}

func (s *Server) send(w http.ResponseWriter, r *http.Request, rp reply) {
	h := w.Header()
	if rp.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((rp.retryAfter+time.Second-1)/time.Second)))
	}
	if rp.bootstrap {
		h.Set("WWW-Authenticate", fmt.Sprintf("3GPP-bootstrapping realm=%q", "3GPP-bootstrapping@"+s.cfg.FQDN))
	}
	if rp.body == nil {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(rp.status)
		io.WriteString(w, http.StatusText(rp.status)+"\n")
		return
	}
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(rp.body)))
	w.WriteHeader(rp.status)
	w.Write(rp.body)
}
