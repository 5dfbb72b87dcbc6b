package client

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/gba"
)

// RegisterOptions configure a registration (RFC 3261 §10).
type RegisterOptions struct {
	// Registrar is the registrar's URI, e.g. sip:ims.example.net or sip:127.0.0.1:5060. With
	// Config.OutboundProxy the REGISTER goes to the proxy (the P-CSCF) with this Request-URI,
	// typically the home network domain (TS 24.229 §5.1.1.2.1: sip:home1.net).
	Registrar string
	// AOR is the address-of-record to bind (the IMPU); default Config.AOR, else
	// sip:<User>@<registrar host>.
	AOR string
	// Username and Password answer a Digest challenge (RFC 3261 §22.4; MD5 per RFC 2617 and
	// SHA-256 per RFC 8760 — the first challenge whose algorithm we support, RFC 8760 §2.4).
	// Username is also the IMPI for IMS AKA (default USIM.IMPI()).
	Username, Password string
	// USIM, when set, answers an AKAv1-MD5 (RFC 3310) or AKAv2-MD5 (RFC 4169) challenge:
	// password = RES (AKAv1) or base64(HMAC-MD5(RES‖IK‖CK, "http-digest-akav2-password"))
	// (AKAv2), through gba.DigestAKAClient. A stale SQN is resynchronised (RFC 3310 §3.4: auts,
	// then the new challenge is answered). An AUTN whose MAC fails is answered once over an
	// empty password without auts, so the registrar learns the challenge was refused, and
	// Register fails with ErrNetworkAuth; no RES nor anything else derived from K is sent.
	// The initial REGISTER carries the IMPI in an Authorization with empty nonce and response
	// (TS 24.229 §5.1.1.2.1).
	USIM gba.USIM
	// Expires is the binding lifetime we ask for (default 600 s, §10.2.1).
	Expires time.Duration
	// MaxAttempts bounds how often Register sends a REGISTER that fails transiently (5xx, 408,
	// no response); default 3. Refreshes keep retrying, with back-off, until Unregister.
	MaxAttempts int
}

// Registration is a binding kept fresh until Unregister or Phone.Close.
type Registration struct {
	p      *Phone
	opts   RegisterOptions
	reg    sip.Uri
	aor    sip.Uri
	tag    string
	callID sip.CallIDHeader
	creds  credentials

	mu       sync.Mutex
	cseq     uint32
	granted  time.Duration
	routes   []string
	assoc    []string
	observed netip.AddrPort
	removed  bool
	// ask is the lifetime we ask for: RegisterOptions.Expires, raised to the registrar's
	// Min-Expires after a 423 (RFC 3261 §10.2.8).
	ask time.Duration

	cancel context.CancelFunc
	done   chan struct{}
}

// ErrRegister is wrapped by registration failures carrying the registrar's final response.
var ErrRegister = errors.New("client: registration refused")

// Back-off for failed REGISTERs when the response names no Retry-After: doubling from
// retryBase up to retryCap (RFC 3261 §10.2.4 leaves the interval open; RFC 5626 §4.5 uses the
// same doubling shape, capped).
const (
	retryBase = time.Second
	retryCap  = 64 * time.Second
)

// Register binds our Contact to the AOR at the registrar, answering Digest or IMS AKA
// challenges, and keeps the binding fresh before the granted lifetime runs out (§10.2.4: the
// same Call-ID, a growing CSeq; the granted lifetime is the registrar's, from our Contact's
// expires parameter or the Expires header of the 2xx). Transient failures (5xx, 408, no
// response) are retried after the Retry-After the registrar gave (§20.33, §21.5.4) or with
// back-off.
func (p *Phone) Register(ctx context.Context, o RegisterOptions) (*Registration, error) {
	r := &Registration{p: p, opts: o, tag: sip.GenerateTagN(16), done: make(chan struct{})}
	if err := sip.ParseUri(o.Registrar, &r.reg); err != nil {
		return nil, fmt.Errorf("client: registrar %q: %w", o.Registrar, err)
	}
	r.reg.User = "" // §10.2: no userinfo in the REGISTER Request-URI
	if o.AOR != "" {
		if err := sip.ParseUri(o.AOR, &r.aor); err != nil {
			return nil, fmt.Errorf("client: AOR %q: %w", o.AOR, err)
		}
	} else if p.cfg.AOR != "" {
		r.aor = p.aor
	} else {
		r.aor = sip.Uri{Scheme: "sip", User: p.cfg.User, Host: r.reg.Host}
	}
	if r.opts.Expires <= 0 {
		r.opts.Expires = 600 * time.Second
	}
	if r.opts.MaxAttempts <= 0 {
		r.opts.MaxAttempts = 3
	}
	r.ask = r.opts.Expires
	r.creds = credentials{username: o.Username, password: o.Password, usim: o.USIM, rand: p.cfg.Rand}
	if r.creds.username == "" && o.USIM != nil {
		r.creds.username = o.USIM.IMPI()
	}
	var idb [12]byte
	p.cfg.Rand.Read(idb[:])
	r.callID = sip.CallIDHeader(fmt.Sprintf("%x", idb[:]))
	r.cseq = 1
	for attempt := 1; ; attempt++ {
		retry, err := r.send(ctx, r.asked())
		if err == nil {
			break
		}
		if retry < 0 || attempt >= r.opts.MaxAttempts {
			return nil, err
		}
		if retry == 0 {
			retry = backoff(attempt)
		}
		r.p.log.Info("REGISTER failed; retrying", "error", err, "in", retry)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (retry cancelled: %w)", err, ctx.Err())
		case <-p.after(retry):
		}
	}
	var rctx context.Context
	rctx, r.cancel = context.WithCancel(p.ctx)
	if err := p.addRegistration(r); err != nil {
		r.cancel()
		return nil, err
	}
	go r.refresh(rctx)
	return r, nil
}

func (r *Registration) asked() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ask
}

// Expires is the lifetime the registrar granted last.
func (r *Registration) Expires() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.granted
}

// ServiceRoute is the Service-Route of the last 2xx (RFC 3608 §6), preloaded as Route on our
// later dialog-initiating requests.
func (r *Registration) ServiceRoute() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.routes...)
}

// AssociatedURIs are the URIs of the P-Associated-URI of the last 2xx (RFC 3455 §4.1): the
// registered IMPU first, then the others of the implicit registration set.
func (r *Registration) AssociatedURIs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.assoc...)
}

// ObservedAddr is where the registrar saw our REGISTER come from: the received and rport
// parameters of our Via in the last 2xx (RFC 3581 §4); invalid when the registrar added none.
func (r *Registration) ObservedAddr() netip.AddrPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.observed
}

// Unregister stops refreshing and removes the binding (Expires: 0, §10.2.2). A second call does
// nothing.
func (r *Registration) Unregister(ctx context.Context) error {
	r.mu.Lock()
	removed := r.removed
	r.removed = true
	r.mu.Unlock()
	if removed {
		return nil
	}
	r.cancel()
	<-r.done
	r.p.dropRegistration(r)
	_, err := r.send(ctx, 0)
	return err
}

// refreshIn is when to refresh a binding granted for d: TS 24.229 §5.1.1.4.1 re-registers
// 600 s before expiry when the grant exceeds 1200 s, else at half of it [from memory: the
// clause text was not retrieved; RFC 3261 §10.2.4 only asks for "before" expiry].
func refreshIn(d time.Duration) time.Duration {
	if d > 1200*time.Second {
		return d - 600*time.Second
	}
	return max(d/2, time.Second/2)
}

func (r *Registration) refresh(ctx context.Context) {
	defer close(r.done)
	wait := refreshIn(r.Expires())
	fails := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.p.after(wait):
		}
		retry, err := r.send(ctx, r.asked())
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			fails = 0
			wait = refreshIn(r.Expires())
		default:
			fails++
			wait = retry
			if retry <= 0 {
				wait = backoff(fails)
			}
			r.p.log.Warn("registration refresh failed", "error", err, "retry_in", wait)
		}
	}
}

// backoff is the wait before the n-th retry (n ≥ 1).
func backoff(n int) time.Duration {
	d := retryBase
	for i := 1; i < n && d < retryCap; i++ {
		d *= 2
	}
	return min(d, retryCap)
}

func (r *Registration) nextCSeq() uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq := r.cseq
	r.cseq++
	return seq
}

// request builds one REGISTER (§10.2) with a fresh CSeq.
func (r *Registration) request(expires time.Duration, auth map[string]sip.Header) *sip.Request {
	req := sip.NewRequest(sip.REGISTER, r.reg)
	from := &sip.FromHeader{Address: r.aor, Params: sip.NewParams()}
	from.Params.Add("tag", r.tag)
	cid := r.callID
	contact := &sip.ContactHeader{Address: r.p.contact(), Params: sip.NewParams()}
	secs := strconv.Itoa(int(expires / time.Second))
	contact.Params.Add("expires", secs)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: r.aor})
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: r.nextCSeq(), MethodName: sip.REGISTER})
	req.AppendHeader(contact)
	req.AppendHeader(sip.NewHeader("Expires", secs))
	if ppi := r.p.cfg.PreferredIdentity; ppi != "" {
		req.AppendHeader(sip.NewHeader("P-Preferred-Identity", ppi))
	}
	for _, name := range []string{"Proxy-Authorization", "Authorization"} {
		if h := auth[name]; h != nil {
			req.AppendHeader(h)
		}
	}
	r.p.outOfDialog(req)
	return req
}

// initialAuthorization is the Authorization of an initial IMS REGISTER (TS 24.229
// §5.1.1.2.1): the IMPI as username, the home domain as realm, empty nonce and response, so
// the S-CSCF knows which private identity to challenge.
func (r *Registration) initialAuthorization() sip.Header {
	c := gba.Credentials{Username: r.creds.username, Realm: r.aor.Host, URI: r.reg.String()}
	return sip.NewHeader("Authorization", c.String())
}

// maxChallenges bounds the 401/407 answered within one registration attempt: a challenge, a
// resynchronisation (RFC 3310 §3.4) and the challenge after it, and one stale nonce.
const maxChallenges = 4

// send runs one registration attempt (with its authentication round trips). On failure retry
// is the wait the registrar asked for (Retry-After), 0 for a transient failure without one
// (the caller backs off), or negative when retrying is pointless (a refusal such as 403, or a
// network authentication failure).
func (r *Registration) send(ctx context.Context, expires time.Duration) (retry time.Duration, err error) {
	// The answers so far, by header: a 407 from a proxy and a 401 from the registrar may both
	// need one in the same REGISTER (RFC 3261 §22.3).
	auth := map[string]sip.Header{}
	if r.creds.usim != nil {
		auth["Authorization"] = r.initialAuthorization()
	}
	var pending *answered
	defer func() {
		if pending != nil && pending.aka != nil {
			pending.aka.Zero()
		}
	}()
	for challenges := 0; ; challenges++ {
		req := r.request(expires, auth)
		res, err := r.p.cli.Do(ctx, req)
		if err != nil {
			// No final response (Timer F) or a transport error: transient (§8.1.3.1).
			return 0, fmt.Errorf("client: REGISTER: %w", err)
		}
		if pending != nil && pending.outcome == gba.AKAMACFailure {
			return -1, fmt.Errorf("%w: %w (registrar answered %d %s)", ErrRegister, ErrNetworkAuth, res.StatusCode, res.Reason)
		}
		switch {
		case res.IsSuccess():
			if err := r.checkRspAuth(res, pending); err != nil {
				return -1, err
			}
			r.learn(res, expires)
			return 0, nil
		case (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) && challenges < maxChallenges:
			if pending != nil && pending.aka != nil {
				pending.aka.Zero()
			}
			a, err := r.creds.answer(ctx, res, string(sip.REGISTER), r.reg.String(), nil)
			if err != nil {
				return -1, fmt.Errorf("%w: %d %s: %w", ErrRegister, res.StatusCode, res.Reason, err)
			}
			switch a.outcome {
			case gba.AKASyncFailure:
				r.p.log.Info("AKA SQN out of range; resynchronising (RFC 3310 §3.4)")
			case gba.AKAMACFailure:
				// RFC 3310 §3.3 and TS 24.229 §5.1.1.5.3: the challenge is not from our home
				// network. The registrar is told so by an answer over an empty password and
				// without auts (see gba.DigestAKAClient.Answer); no RES is sent.
				r.p.log.Warn("AKA AUTN MAC invalid: network authentication failed")
			}
			pending = a
			auth[a.header.Name()] = a.header
		case res.StatusCode == sip.StatusIntervalToBrief && expires > 0 && challenges < maxChallenges:
			// RFC 3261 §10.2.8: ask again for at least Min-Expires, and keep asking for it.
			h := res.GetHeader("Min-Expires")
			var minExp time.Duration
			ok := false
			if h != nil {
				minExp, ok = parseDeltaSeconds(h.Value())
			}
			if !ok || minExp <= expires {
				return -1, fmt.Errorf("%w: %d %s without a usable Min-Expires", ErrRegister, res.StatusCode, res.Reason)
			}
			expires = minExp
			r.mu.Lock()
			r.ask = minExp
			r.mu.Unlock()
			r.p.log.Info("registration interval too brief; asking for Min-Expires", "min_expires", minExp)
		case res.StatusCode >= 500 || res.StatusCode == sip.StatusRequestTimeout:
			retry = 0
			if h := res.GetHeader("Retry-After"); h != nil {
				if d, ok := parseRetryAfter(h.Value()); ok {
					retry = d
				}
			}
			return retry, fmt.Errorf("%w: %d %s", ErrRegister, res.StatusCode, res.Reason)
		default:
			return -1, fmt.Errorf("%w: %d %s", ErrRegister, res.StatusCode, res.Reason)
		}
	}
}

// parseRetryAfter reads delta-seconds of a Retry-After value (RFC 3261 §20.33), ignoring a
// comment and parameters.
func parseRetryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	end := strings.IndexAny(v, " \t(;")
	if end >= 0 {
		v = v[:end]
	}
	return parseDeltaSeconds(v)
}

// parseDeltaSeconds reads delta-seconds (RFC 3261 §25.1: 1*DIGIT), as in Expires (§20.19) and
// the expires Contact parameter (§20.10). Values beyond 2^31 - 1 s, far past any binding
// lifetime, are refused rather than overflowing.
func parseDeltaSeconds(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" || strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 31)
	if err != nil {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// checkRspAuth verifies the rspauth of an AKA 2xx (RFC 3310 §3.5: the server proves it knew
// XRES, RFC 2617 §3.2.3), when the registrar sent Authentication-Info.
func (r *Registration) checkRspAuth(res *sip.Response, a *answered) error {
	h := res.GetHeader("Authentication-Info")
	if a == nil || a.aka == nil || a.outcome != gba.AKASuccess || h == nil {
		return nil
	}
	ai, err := gba.ParseAuthenticationInfo(h.Value())
	if err != nil {
		return fmt.Errorf("%w: Authentication-Info: %w", ErrRegister, err)
	}
	if ai.RspAuth == "" {
		return nil
	}
	want := gba.RspAuth(a.aka.Credentials, a.aka.Password, res.Body())
	if !constantTimeEqual(strings.ToLower(ai.RspAuth), want) {
		return fmt.Errorf("%w: rspauth in Authentication-Info does not verify (RFC 3310 §3.5)", ErrRegister)
	}
	return nil
}

// learn takes from a 2xx the granted lifetime, Service-Route, P-Associated-URI and our
// observed address.
func (r *Registration) learn(res *sip.Response, expires time.Duration) {
	granted := expires
	if h := res.GetHeader("Expires"); h != nil {
		if d, ok := parseDeltaSeconds(h.Value()); ok {
			granted = d
		}
	}
	me := r.p.URI()
	for _, h := range res.GetHeaders("Contact") {
		if ch, ok := h.(*sip.ContactHeader); ok && strings.EqualFold(ch.Address.Host, me.Host) && ch.Address.Port == me.Port {
			if v, ok := ch.Params.Get("expires"); ok {
				if d, ok := parseDeltaSeconds(v); ok {
					granted = d
				}
			}
		}
	}
	var routes, assoc []string
	for _, h := range res.GetHeaders("Service-Route") {
		routes = append(routes, splitHeaderList(h.Value())...)
	}
	for _, h := range res.GetHeaders("P-Associated-URI") {
		for _, v := range splitHeaderList(h.Value()) {
			v = strings.TrimSpace(v)
			if i, j := strings.IndexByte(v, '<'), strings.IndexByte(v, '>'); i >= 0 && j > i {
				v = strings.TrimSpace(v[i+1 : j])
			}
			if v != "" {
				assoc = append(assoc, v)
			}
		}
	}
	var observed netip.AddrPort
	if via := res.Via(); via != nil {
		host, hok := via.Params.Get("received")
		port, pok := via.Params.Get("rport")
		if a, err := netip.ParseAddr(strings.Trim(host, "[]")); hok && err == nil {
			p := uint64(via.Port)
			if n, err := strconv.ParseUint(port, 10, 16); pok && err == nil {
				p = n
			}
			if p > 0 && p <= 65535 {
				observed = netip.AddrPortFrom(a.Unmap(), uint16(p))
			}
		}
	}
	r.mu.Lock()
	r.granted, r.routes, r.assoc, r.observed = granted, routes, assoc, observed
	r.mu.Unlock()
	if observed.IsValid() && observed != r.p.addr {
		r.p.log.Info("registrar sees us at another address (RFC 3581 received/rport)", "observed", observed, "local", r.p.addr)
	}
	if expires == 0 {
		r.p.log.Info("de-registered", "aor", r.aor.String())
		return
	}
	r.p.setServiceRoute(r, routes)
	r.p.log.Info("registered", "aor", r.aor.String(), "expires", granted)
}

// splitHeaderList splits a comma-separated header value (RFC 3261 §7.3.1) outside <...> and
// quotes.
func splitHeaderList(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"' && (i == 0 || v[i-1] != '\\'):
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>' && depth > 0:
			depth--
		case c == ',' && depth == 0:
			if s := strings.TrimSpace(v[start:i]); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}
