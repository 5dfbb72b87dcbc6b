package client

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/client/sdpoa"
	"github.com/imsphone/imsphone/keymgmt"
	"github.com/imsphone/imsphone/media/audio"
)

// Config configures a Phone.
type Config struct {
	// Conn is the SIP UDP socket; nil: the Phone listens on ListenAddr (default 127.0.0.1:0).
	Conn       net.PacketConn
	ListenAddr string
	// Transport is the transport of the requests we send outside a dialog: "udp" (default) or
	// "tcp" (RFC 3261 §18). The Phone listens on UDP and on TCP at the same address either way.
	// With "tcp" its Contact carries transport=tcp, and requests leave over connections it
	// opens (Via sent-by is the connection's own address, §18.1.1). With "udp" a request
	// larger than 1300 octets (an INVITE with a MIKEY-TICKET, or with five a=crypto lines and
	// credentials) leaves over TCP to the same destination with its Via saying TCP (§18.1.1;
	// transport.go), falling back to UDP only when the TCP connection is refused; sipgo then
	// still refuses datagrams above sip.UDPMTUSize - 200 unless the program raised that
	// global. This package never changes it.
	//
	// With "tls" (RFC 3261 §26.2, over TCP) the TCP port of our address carries TLS instead
	// of plain TCP, our Contact is sip:user@ip:port;transport=tls and requests leave over TLS
	// connections verified with Config.TLS. We use sip: URIs with transport=tls rather than
	// sips: URIs: sips: would demand TLS on every hop to the callee (RFC 5630), which the lab
	// and most IMS cores do not promise, while RFC 3263 lets a sip: URI be reached over TLS
	// "to allow security that is better than no TLS at all". This protects the hop to the
	// proxy (the P-CSCF), not the path to the callee; the media keys never depend on it with
	// MIKEY-TICKET, but SDES keys do.
	Transport string
	// TLS configures transport tls: RootCAs (or the system roots) verify the proxy's
	// certificate, named by the host we connect to (an IP address or name) unless ServerName
	// is set; Certificates (or GetCertificate) is the certificate we show to a peer or proxy
	// that connects to our Contact, which transport tls needs. Never set
	// InsecureSkipVerify outside tests.
	TLS *tls.Config
	// User is the user part of our SIP URI and Contact.
	User string
	// AOR is our address-of-record (the IMPU in IMS, e.g. sip:alice@home1.net): the From of our
	// requests, the identity given to key management (MIKEY IDRi/IDRr) and the default AOR of
	// Register. Empty: our contact URI.
	AOR string
	// MediaIP is the address RTP sockets bind to and SDP announces; default: the SIP socket's.
	MediaIP netip.Addr
	// Security is the account's media security policy; KMS the MIKEY-TICKET method for mode
	// kms (see package keymgmt). SDES keys travel only over transport tls unless
	// Security.AllowSDESWithoutTLS is set (RFC 4568 §8.3); a call that uses them without TLS
	// then logs one warning.
	Security keymgmt.Policy
	KMS      keymgmt.Method
	// Formats are our audio formats in preference order; nil: PCMU, PCMA, telephone-event.
	Formats []sdpoa.Format
	// NoRTCPMux neither offers nor accepts RTCP-mux (RFC 5761): RTCP then uses its own port,
	// announced with a=rtcp (RFC 3605).
	NoRTCPMux bool
	// AutoAnswer, when set, answers every incoming call at once with these options.
	AutoAnswer *CallOptions
	// IncomingQueue bounds calls waiting on Incoming (default 8); beyond it a call gets 486.
	IncomingQueue int
	// TCPIdle is how long a TCP connection a Phone on UDP opened (for a request over 1300
	// octets, or a next hop naming TCP) stays open once no transaction and no call uses it;
	// then it is closed with our FIN. 0: 64*T1 = 32 s, RFC 3261 §18's RECOMMENDED minimum
	// (the longest a transaction takes to terminate); negative: closed at once.
	TCPIdle time.Duration
	// NoAnswerTimeout, when not 0, bounds how long a call may stay unanswered. An outgoing
	// call not answered within it (counted from its first INVITE) is CANCELled (RFC 3261
	// §9.1) and ends By Local with reason "no answer" and the 487 its INVITE then gets. An
	// incoming call neither answered nor rejected within it (counted from the INVITE) is
	// refused with 480 (§21.4.18: the callee's end system was reached but the callee is not
	// available; 408, §21.4.9, is for a server that could not produce a response in time) and
	// ends By Local with reason "no answer". Auto-answered calls do not wait.
	NoAnswerTimeout time.Duration
	// SessionExpires, when not 0, asks for SIP session timers (RFC 4028) on our INVITEs, and
	// on calls we answer whose INVITE did not ask: the session is refreshed by re-INVITE at
	// half this interval (by whichever side the 2xx names) and ended with BYE when no refresh
	// came min(32 s, interval/3) before it expires: the call then ends By Local with reason
	// "session timer expired" and the BYE carries Reason: SIP;cause=408 (RFC 3326). When the
	// peer's 2xx has no Session-Expires (it does not do timers), we refresh (§7.2). Without
	// it we still support timers a peer asks for (Supported: timer). At least MinSE; RFC 4028
	// §4 recommends 1800 s.
	SessionExpires time.Duration
	// MinSE is the shortest session interval we accept (RFC 4028 §5): an INVITE asking for
	// less gets 422 with this Min-SE, or, from a UAC without Supported: timer, which could not
	// act on a 422, has its interval raised to it in our 2xx. 0: 90 s, the least allowed.
	MinSE time.Duration
	// sessionFloor replaces RFC 4028's 90 s floor in this package's tests, so that they can
	// run session timers of a few seconds. Zero outside tests.
	sessionFloor time.Duration
	// StatsInterval, when not 0, sends an EventStats every interval during media.
	StatsInterval time.Duration
	// RTCPMinInterval is passed to media (0: RFC 3550's 5 s).
	RTCPMinInterval time.Duration
	// OutboundProxy (host:port), when set, receives every request we send outside a dialog
	// (REGISTER, INVITE, ...), whatever its Request-URI: the P-CSCF of TS 24.229 §5.1.1.1.
	// It is put in as the top Route, <sip:host:port;lr> (RFC 3261 §8.1.2), so a CANCEL
	// follows its INVITE there.
	OutboundProxy string
	// PreferredIdentity, when set, is sent as P-Preferred-Identity (RFC 3325 §9.2) on REGISTER
	// and INVITE, e.g. "<sip:alice@home1.net>".
	PreferredIdentity string
	// Username and Password answer a 401 or 407 to our INVITE (RFC 3261 §22.2, §22.3: MD5 or
	// SHA-256 Digest). When Password is empty, the username and password of a live
	// Registration (RegisterOptions) are used instead; a registration by IMS AKA alone gives
	// none, since IMS does not challenge INVITEs (TS 24.229 §5.4.3.2).
	Username, Password string
	// KeyLog, when not nil, receives the SRTP master keys of every call, for decrypting
	// captures (as SSLKEYLOGFILE does for TLS): one line per stream direction,
	//
	//	<time> <Call-ID> <send|recv> ssrc=<8 hex> suite=<name> key=<base64> mki=<hex or ->
	//
	// with the time in RFC 3339 with nanoseconds (UTC), the SSRC of the stream in 8 lower-case
	// hex digits, the suite name as negotiated (e.g. AES_CM_128_HMAC_SHA1_80), key the
	// standard base64 of master key ‖ master salt (the RFC 4568 inline key-salt layout), and
	// the MKI in hex or "-" when none. The send line is written when media starts; the recv
	// line then too if key management named the peer's SSRC (MIKEY), else when the first
	// authenticated packet fixes it. Keys are never logged anywhere else.
	KeyLog io.Writer
	// Rand is the key and identifier source (default crypto/rand).
	Rand      io.Reader
	Logger    *slog.Logger
	UserAgent string
}

// CallOptions are the audio of one call.
type CallOptions struct {
	Source audio.Source // what we send (nil: silence)
	Sink   audio.Sink   // where received audio goes (nil: discarded)
	// Direction we offer or accept (default sendrecv).
	Direction sdpoa.Direction
}

// Phone is a SIP user agent with one UDP socket.
type Phone struct {
	cfg  Config
	log  *slog.Logger
	conn net.PacketConn
	tcp  net.Listener // on conn's address (nil only with a Config.Conn whose TCP port is taken)
	// proxyRoute is Config.OutboundProxy as a loose-routing URI (RFC 3261 §8.1.2).
	proxyRoute *sip.Uri
	addr       netip.AddrPort
	aor        sip.Uri
	ua         *sipgo.UserAgent
	srv        *sipgo.Server
	cli        *sipgo.Client
	dua        *sipgo.DialogUA
	keys       *keymgmt.Negotiator
	// minSE is Config.MinSE with its default (RFC 4028 §5).
	minSE time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	served chan struct{}

	mu       sync.Mutex
	uac, uas map[string]*Call // by sipgo dialog ID
	calls    map[*Call]struct{}
	incoming chan *Call
	closed   bool
	// Live registrations and the Service-Route (RFC 3608) of the one that set it last.
	regs         map[*Registration]struct{}
	serviceRoute []string
	routeOwner   *Registration

	keyLogMu sync.Mutex

	// conns closes the TCP/TLS connections in order (conn.go).
	conns *tcpConns

	// after is the timer of registration refreshes and retries (tests replace it).
	after func(time.Duration) <-chan time.Time
}

var errPhoneClosed = errors.New("client: phone closed")

// NewPhone starts a Phone serving SIP on its socket until Close.
func NewPhone(cfg Config) (*Phone, error) {
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.User == "" {
		cfg.User = "ue"
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "imsphone"
	}
	if cfg.IncomingQueue <= 0 {
		cfg.IncomingQueue = 8
	}
	if cfg.TCPIdle == 0 {
		cfg.TCPIdle = 64 * sip.T1
	}
	if cfg.Security.Mode == "" {
		cfg.Security.Mode = keymgmt.ModeNone
	}
	floor := minSEFloor
	if cfg.sessionFloor > 0 {
		floor = cfg.sessionFloor
	}
	minSE := cfg.MinSE
	if minSE == 0 {
		minSE = minSEFloor
	}
	switch {
	case minSE < floor || minSE > maxSessionInterval:
		return nil, fmt.Errorf("client: MinSE %v outside %v..%v (RFC 4028 §5)", cfg.MinSE, floor, maxSessionInterval)
	case cfg.SessionExpires != 0 && (cfg.SessionExpires < minSE || cfg.SessionExpires > maxSessionInterval):
		return nil, fmt.Errorf("client: SessionExpires %v outside MinSE %v..%v (RFC 4028 §4)", cfg.SessionExpires, minSE, maxSessionInterval)
	case cfg.SessionExpires%time.Second != 0 || minSE%time.Second != 0:
		return nil, errors.New("client: SessionExpires and MinSE are whole seconds (delta-seconds, RFC 4028 §4, §5)")
	}
	keys, err := keymgmt.New(keymgmt.Config{Policy: cfg.Security, Rand: cfg.Rand, KMS: cfg.KMS})
	if err != nil {
		return nil, err
	}
	var aor sip.Uri
	if cfg.AOR != "" {
		if err := sip.ParseUri(cfg.AOR, &aor); err != nil {
			return nil, fmt.Errorf("client: AOR %q: %w", cfg.AOR, err)
		}
	}
	switch strings.ToLower(cfg.Transport) {
	case "", "udp":
		cfg.Transport = "udp"
	case "tcp":
		cfg.Transport = "tcp"
	case "tls":
		cfg.Transport = "tls"
		if cfg.TLS == nil || (len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetCertificate == nil) {
			return nil, errors.New("client: transport tls needs Config.TLS with a certificate (requests to our Contact arrive over TLS)")
		}
	default:
		return nil, fmt.Errorf("client: transport %q is not udp, tcp or tls", cfg.Transport)
	}
	var proxyRoute *sip.Uri
	if cfg.OutboundProxy != "" {
		proxyRoute = &sip.Uri{}
		u := "sip:" + cfg.OutboundProxy + ";lr"
		if cfg.Transport != "udp" {
			u += ";transport=" + cfg.Transport
		}
		if err := sip.ParseUri(u, proxyRoute); err != nil || proxyRoute.Host == "" {
			return nil, fmt.Errorf("client: outbound proxy %q is not host:port: %v", cfg.OutboundProxy, err)
		}
	}
	conn, tcpL, err := listenSIP(cfg)
	if conn == nil {
		return nil, err
	} else if err != nil {
		cfg.Logger.Warn("no TCP listener: requests too large for UDP cannot reach us", "error", err)
	}
	closeSockets := func() {
		conn.Close()
		if tcpL != nil {
			tcpL.Close()
		}
	}
	ap, err := netip.ParseAddrPort(conn.LocalAddr().String())
	if err != nil || ap.Addr().IsUnspecified() {
		closeSockets()
		return nil, fmt.Errorf("client: SIP socket %s needs a concrete address", conn.LocalAddr())
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if !cfg.MediaIP.IsValid() {
		cfg.MediaIP = ap.Addr()
	}
	p := &Phone{cfg: cfg, log: cfg.Logger.With("ua", cfg.User), conn: conn, tcp: tcpL, proxyRoute: proxyRoute, addr: ap, served: make(chan struct{}),
		uac: map[string]*Call{}, uas: map[string]*Call{}, calls: map[*Call]struct{}{},
		incoming: make(chan *Call, cfg.IncomingQueue), keys: keys, minSE: minSE,
		regs: map[*Registration]struct{}{}, after: realAfter}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.conns = newTCPConns(p)
	if p.aor = aor; cfg.AOR == "" {
		p.aor = p.URI()
	}
	// sipgo dials TLS with this configuration (a nil one would crash it on a transport=tls
	// Contact or Route even when we are not on TLS): Config.TLS, else the system roots.
	dialTLS := cfg.TLS
	if dialTLS == nil {
		dialTLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if p.ua, err = sipgo.NewUA(sipgo.WithUserAgent(cfg.UserAgent), sipgo.WithUserAgentHostname(ap.Addr().String()), sipgo.WithUserAgenTLSConfig(dialTLS),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(p.log)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(p.log))); err != nil {
		closeSockets()
		return nil, err
	}
	if p.srv, err = sipgo.NewServer(p.ua, sipgo.WithServerLogger(p.log)); err != nil {
		p.ua.Close()
		closeSockets()
		return nil, err
	}
	// UDP requests leave from the listening socket, so Via, Contact and the real source agree.
	// TCP requests leave over connections of their own: binding them to the listening port
	// would collide with the listener.
	copts := []sipgo.ClientOption{sipgo.WithClientLogger(p.log), sipgo.WithClientHostname(ap.Addr().String()), sipgo.WithClientNAT()}
	if cfg.Transport == "udp" {
		copts = append(copts, sipgo.WithClientConnectionAddr(ap.String()))
	}
	if p.cli, err = sipgo.NewClient(p.ua, copts...); err != nil {
		p.ua.Close()
		closeSockets()
		return nil, err
	}
	p.cli.TxRequester = transportChooser{p}
	p.dua = &sipgo.DialogUA{Client: p.cli, ContactHDR: sip.ContactHeader{Address: p.contact()}}
	p.handlers()
	serving := 1
	if tcpL != nil {
		serving = 2
	}
	ended := make(chan struct{}, 2)
	go func() {
		for range serving {
			<-ended
		}
		close(p.served)
	}()
	go func() {
		defer func() { ended <- struct{}{} }()
		if err := p.srv.ServeUDP(conn); err != nil && !errors.Is(err, net.ErrClosed) {
			p.log.Debug("SIP serve ended", "error", err)
		}
	}()
	if tcpL != nil {
		go func() {
			defer func() { ended <- struct{}{} }()
			serve := p.srv.ServeTCP
			if cfg.Transport == "tls" {
				serve = p.srv.ServeTLS
			}
			if err := serve(p.conns.listener(tcpL)); err != nil && !errors.Is(err, net.ErrClosed) {
				p.log.Debug("SIP TCP serve ended", "error", err)
			}
		}()
	}
	// ServeUDP registers the socket with the transport layer from its own goroutine; requests
	// can leave from it only after that.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(time.Millisecond) {
		if c, _ := p.ua.TransportLayer().GetConnection("udp", ap.String()); c != nil {
			break
		}
		if time.Now().After(deadline) {
			p.Close()
			return nil, fmt.Errorf("client: SIP socket %s not served", ap)
		}
	}
	return p, nil
}

// listenSIP opens the SIP sockets: the UDP socket (Config.Conn or a new one) and a TCP
// listener on the same address. With transport udp the TCP listener takes the requests a peer
// sends us over TCP because they are too large for UDP (RFC 3261 §18.1.1); when the address is
// taken for TCP a Phone on udp goes without it (the UDP socket comes back with err saying why).
// When the port is left to the kernel, the one it gives UDP may be in use for TCP (by any TCP
// socket bound to it), so the pair is retried.
func listenSIP(cfg Config) (net.PacketConn, net.Listener, error) {
	tcp := cfg.Transport != "udp"
	if cfg.Conn != nil {
		l, err := net.Listen("tcp", cfg.Conn.LocalAddr().String())
		if err != nil {
			err = fmt.Errorf("client: listen tcp %s: %w", cfg.Conn.LocalAddr(), err)
			if tcp {
				return nil, nil, err
			}
			return cfg.Conn, nil, err
		}
		if cfg.Transport == "tls" {
			l = tls.NewListener(l, cfg.TLS)
		}
		return cfg.Conn, l, nil
	}
	la := cfg.ListenAddr
	if la == "" {
		la = "127.0.0.1:0"
	}
	tries := 1
	if _, port, err := net.SplitHostPort(la); err == nil && port == "0" {
		tries = 20
	}
	for i := 1; ; i++ {
		pc, err := net.ListenPacket("udp", la)
		if err != nil {
			return nil, nil, fmt.Errorf("client: listen %s: %w", la, err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			if cfg.Transport == "tls" {
				l = tls.NewListener(l, cfg.TLS)
			}
			return pc, l, nil
		}
		err = fmt.Errorf("client: listen tcp %s: %w", pc.LocalAddr(), err)
		if i >= tries {
			if !tcp {
				// Transport udp works without it; only requests too large for UDP cannot
				// reach us (NewPhone logs a warning).
				return pc, nil, err
			}
			pc.Close()
			return nil, nil, err
		}
		pc.Close()
	}
}

// URI is our SIP URI (and Contact): sip:user@ip:port.
func (p *Phone) URI() sip.Uri {
	return sip.Uri{Scheme: "sip", User: p.cfg.User, Host: p.addr.Addr().String(), Port: int(p.addr.Port())}
}

// contact is our Contact URI: URI, with transport=tcp or tls when we use them (RFC 3261 §19.1.4).
func (p *Phone) contact() sip.Uri {
	u := p.URI()
	if p.cfg.Transport != "udp" {
		u.UriParams = sip.NewParams()
		u.UriParams.Add("transport", p.cfg.Transport)
	}
	return u
}

// setTransport makes an out-of-dialog request use our configured transport.
func (p *Phone) setTransport(req *sip.Request) {
	if p.cfg.Transport != "udp" {
		req.SetTransport(strings.ToUpper(p.cfg.Transport))
	}
}

// AOR is our address-of-record (Config.AOR, else URI).
func (p *Phone) AOR() sip.Uri { return p.aor }

// Addr is the SIP socket's address.
func (p *Phone) Addr() netip.AddrPort { return p.addr }

// Incoming delivers calls that ring (not with AutoAnswer).
func (p *Phone) Incoming() <-chan *Call { return p.incoming }

// Close hangs up every call, removes every registration (Expires: 0, RFC 3261 §10.2.2) and
// stops the Phone.
func (p *Phone) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	calls := make([]*Call, 0, len(p.calls))
	for c := range p.calls {
		calls = append(calls, c)
	}
	regs := make([]*Registration, 0, len(p.regs))
	for r := range p.regs {
		regs = append(regs, r)
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, c := range calls {
		c.Hangup(ctx)
	}
	for _, r := range regs {
		if err := r.Unregister(ctx); err != nil {
			p.log.Warn("de-registration at close failed", "error", err)
		}
	}
	p.cancel()
	// Our FIN on every connection before sipgo's hard close (conn.go).
	p.conns.close()
	p.ua.Close()
	p.conn.Close()
	if p.tcp != nil {
		p.tcp.Close()
	}
	<-p.served
	return nil
}

func (p *Phone) track(c *Call) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errPhoneClosed
	}
	p.calls[c] = struct{}{}
	return nil
}

func (p *Phone) register(m map[string]*Call, id string, c *Call) {
	p.mu.Lock()
	m[id] = c
	p.mu.Unlock()
}

func (p *Phone) forget(c *Call) {
	// A connection kept for this call may close now (after p.mu is released).
	defer p.conns.check()
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.calls, c)
	for _, m := range []map[string]*Call{p.uac, p.uas} {
		for id, x := range m {
			if x == c {
				delete(m, id)
			}
		}
	}
}

// anyCallLive says whether one of these Call-IDs is a call that has not ended.
func (p *Phone) anyCallLive(ids map[string]struct{}) bool {
	if len(ids) == 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.calls {
		if _, ok := ids[c.CallID]; ok {
			return true
		}
	}
	return false
}

func (p *Phone) lookup(m map[string]*Call, id string) *Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return m[id]
}

// origin is the o= line of a new session (RFC 4566 §5.2: session id and version from a random
// value; the version is then incremented per new SDP, RFC 3264 §8).
func (p *Phone) origin() sdpoa.Origin {
	var b [4]byte
	io.ReadFull(p.cfg.Rand, b[:])
	id := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	return sdpoa.Origin{Username: p.cfg.User, SessionID: id, SessionVersion: id, Address: p.cfg.MediaIP}
}
