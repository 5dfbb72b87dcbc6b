package registrar

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Server is the registrar and stateful proxy: one sipgo UserAgent whose server side takes
// REGISTER (register.go) and every other request (proxy.go), and whose client side forwards.
type Server struct {
	cfg    Config
	auc    AuC
	accts  *accountIndex
	loc    *Location
	nonces *nonceStore
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger

	ua  *sipgo.UserAgent
	srv *sipgo.Server
	cli *sipgo.Client

	mu    sync.Mutex
	ports map[string]int // "udp"/"tcp" → listening port, for Via, Record-Route, Service-Route
}

// New builds the server. auc may be nil when no account uses AKA.
func New(cfg Config, auc AuC, opts Options) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	ix, err := indexAccounts(cfg.Accounts)
	if err != nil {
		return nil, fmt.Errorf("registrar config: %w", err)
	}
	for _, a := range cfg.Accounts {
		if a.AKA && auc == nil {
			return nil, fmt.Errorf("registrar config: account %q uses AKA but no AuC is given", a.IMPI)
		}
	}
	s := &Server{cfg: cfg, auc: auc, accts: ix, now: opts.Now, rand: opts.Rand, log: opts.Logger,
		ports: map[string]int{}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.loc = NewLocation(s.now)
	s.nonces = newNonceStore(cfg.MaxPendingNonces, cfg.NonceLifetime)

	dialTLS := opts.TLS
	if dialTLS == nil {
		dialTLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("imsphone-lab-scscf"), sipgo.WithUserAgentHostname(cfg.Domain), sipgo.WithUserAgenTLSConfig(dialTLS),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(s.log),
			sip.WithTransactionLayerUnhandledResponseHandler(s.onStrayResponse)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(s.log)))
	if err != nil {
		return nil, fmt.Errorf("sipgo user agent: %w", err)
	}
	s.ua = ua
	if s.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(s.log)); err != nil {
		ua.Close()
		return nil, fmt.Errorf("sipgo server: %w", err)
	}
	if s.cli, err = sipgo.NewClient(ua, sipgo.WithClientHostname(cfg.Host), sipgo.WithClientLogger(s.log)); err != nil {
		ua.Close()
		return nil, fmt.Errorf("sipgo client: %w", err)
	}
	s.srv.OnRegister(s.observe(opts.Received, s.onRegister))
	s.srv.OnAck(s.observe(opts.Received, s.onAck))
	s.srv.OnNoRoute(s.observe(opts.Received, s.onRequest))
	return s, nil
}

// String describes the server without its accounts' passwords (fmt would print unexported
// fields raw).
func (s *Server) String() string {
	return fmt.Sprintf("registrar.Server{Domain: %q, Host: %q, accounts: %d}", s.cfg.Domain, s.cfg.Host, len(s.cfg.Accounts))
}

// GoString redacts like String.
func (s *Server) GoString() string { return s.String() }

// Location exposes the location service (for tests and the lab's status output).
func (s *Server) Location() *Location { return s.loc }

// ServeUDP serves SIP over UDP on pc until pc is closed.
func (s *Server) ServeUDP(pc net.PacketConn) error {
	s.setPort("udp", pc.LocalAddr())
	return s.srv.ServeUDP(pc)
}

// ServeTCP serves SIP over TCP on l until l is closed.
func (s *Server) ServeTCP(l net.Listener) error {
	s.setPort("tcp", l.Addr())
	return s.srv.ServeTCP(l)
}

// ServeTLS serves SIP over TLS (RFC 3261 §26.2) on l, a listener that does the TLS handshake
// (tls.NewListener), until l is closed.
func (s *Server) ServeTLS(l net.Listener) error {
	s.setPort("tls", l.Addr())
	return s.srv.ServeTLS(l)
}

// SetListenAddr records where a transport listens before Serve* runs, so that a request racing
// the serve goroutine already sees the right Record-Route.
func (s *Server) SetListenAddr(network string, a net.Addr) { s.setPort(network, a) }

func (s *Server) setPort(network string, a net.Addr) {
	_, p, err := net.SplitHostPort(a.String())
	if err != nil {
		return
	}
	n, _ := strconv.Atoi(p)
	s.mu.Lock()
	s.ports[network] = n
	s.mu.Unlock()
}

func (s *Server) port(network string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.ports[strings.ToLower(network)]; ok {
		return p
	}
	for _, p := range s.ports {
		return p
	}
	return 0
}

// Close stops the transports and transactions. Listeners passed to Serve* are closed too.
func (s *Server) Close() error {
	return s.ua.Close()
}

// routeURI is this node's URI for Record-Route and Service-Route on transport tp (RFC 3261
// §16.6 step 4: a URI that resolves to this proxy, with lr; RFC 5658 transport parameter).
func (s *Server) routeURI(user, tp string) sip.Uri {
	u := sip.Uri{Scheme: "sip", User: user, Host: s.cfg.Host, Port: s.port(tp), UriParams: sip.NewParams()}
	if t := strings.ToLower(tp); t != "" && t != "udp" {
		u.UriParams.Add("transport", t)
	}
	u.UriParams.Add("lr", "")
	return u
}

// isSelf says whether u addresses this node (a Route or Record-Route entry we inserted, or a
// Request-URI naming our address).
func (s *Server) isSelf(u sip.Uri) bool {
	if !strings.EqualFold(u.Host, s.cfg.Host) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.Port == 0 {
		return s.ports["udp"] == 5060 || s.ports["tcp"] == 5060
	}
	for _, p := range s.ports {
		if p == u.Port {
			return true
		}
	}
	return false
}

// isHomeDomain says whether the Request-URI is within the domain this registrar serves (RFC
// 3261 §10.3 step 1, §16.5).
func (s *Server) isHomeDomain(u sip.Uri) bool {
	return strings.EqualFold(u.Host, s.cfg.Domain) || s.isSelf(u)
}

func (s *Server) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil && !errors.Is(err, sip.ErrTransactionTerminated) {
		s.log.Debug("respond failed", "code", code, "err", err)
	}
}

func (s *Server) onStrayResponse(res *sip.Response) {
	s.log.Debug("response matches no transaction", "status", res.StatusCode, "cseq", res.CSeq().Value())
}

// observe wraps a handler so that Options.Received sees each request first.
func (s *Server) observe(f func(string, string, int), h sipgo.RequestHandler) sipgo.RequestHandler {
	if f == nil {
		return h
	}
	return func(req *sip.Request, tx sip.ServerTransaction) {
		f(req.Method.String(), strings.ToUpper(req.Transport()), len(req.String()))
		h(req, tx)
	}
}
