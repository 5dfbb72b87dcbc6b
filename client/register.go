package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// RegisterOptions configure a registration (RFC 3261 §10).
type RegisterOptions struct {
	// Registrar is the registrar's URI, e.g. sip:ims.example.net or sip:127.0.0.1:5060.
	Registrar string
	// AOR is the address-of-record to bind; default Config.AOR, else sip:<User>@<registrar host>.
	AOR string
	// Username and Password answer a digest challenge (RFC 3261 §22.4, RFC 2617 MD5; the
	// challenge's algorithm decides, through sipgo and icholy/digest).
	Username, Password string
	// Expires is the binding lifetime we ask for (default 600 s, §10.2.1).
	Expires time.Duration
}

// Registration is a binding kept fresh until Unregister or Phone.Close.
type Registration struct {
	p      *Phone
	opts   RegisterOptions
	reg    sip.Uri
	aor    sip.Uri
	tag    string
	callID sip.CallIDHeader

	mu      sync.Mutex
	cseq    uint32
	granted time.Duration
	routes  []string

	cancel context.CancelFunc
	done   chan struct{}
}

// ErrRegister is wrapped by registration failures carrying the registrar's final response.
var ErrRegister = errors.New("client: registration refused")

// Register binds our Contact to the AOR at the registrar, answering a digest challenge, and
// refreshes the binding at half the granted lifetime (§10.2.4: the same Call-ID, a growing
// CSeq; the granted lifetime is the registrar's, from the Contact's expires or Expires).
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
	var idb [12]byte
	p.cfg.Rand.Read(idb[:])
	r.callID = sip.CallIDHeader(fmt.Sprintf("%x", idb[:]))
	r.cseq = 1
	if err := r.send(ctx, r.opts.Expires); err != nil {
		return nil, err
	}
	var rctx context.Context
	rctx, r.cancel = context.WithCancel(p.ctx)
	go r.refresh(rctx)
	return r, nil
}

// Expires is the lifetime the registrar granted last.
func (r *Registration) Expires() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.granted
}

// ServiceRoute is the Service-Route of the last 2xx (RFC 3608), kept for an IMS preloaded route.
func (r *Registration) ServiceRoute() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.routes...)
}

// Unregister stops refreshing and removes the binding (Expires: 0, §10.2.2).
func (r *Registration) Unregister(ctx context.Context) error {
	r.cancel()
	<-r.done
	return r.send(ctx, 0)
}

func (r *Registration) refresh(ctx context.Context) {
	defer close(r.done)
	for {
		wait := r.Expires() / 2
		if wait < time.Second/2 {
			wait = time.Second / 2
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if err := r.send(ctx, r.opts.Expires); err != nil && ctx.Err() == nil {
			r.p.log.Warn("registration refresh failed", "error", err)
		}
	}
}

func (r *Registration) send(ctx context.Context, expires time.Duration) error {
	r.mu.Lock()
	seq := r.cseq
	r.cseq++
	r.mu.Unlock()
	req := sip.NewRequest(sip.REGISTER, r.reg)
	from := &sip.FromHeader{Address: r.aor, Params: sip.NewParams()}
	from.Params.Add("tag", r.tag)
	cid := r.callID
	contact := &sip.ContactHeader{Address: r.p.URI(), Params: sip.NewParams()}
	secs := strconv.Itoa(int(expires / time.Second))
	contact.Params.Add("expires", secs)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: r.aor})
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.REGISTER})
	req.AppendHeader(contact)
	req.AppendHeader(sip.NewHeader("Expires", secs))
	res, err := r.p.cli.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("client: REGISTER: %w", err)
	}
	if (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) && r.opts.Password != "" {
		res, err = r.p.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: r.opts.Username, Password: r.opts.Password})
		if err != nil {
			return fmt.Errorf("client: REGISTER with credentials: %w", err)
		}
		r.mu.Lock()
		r.cseq = max(r.cseq, req.CSeq().SeqNo+1)
		r.mu.Unlock()
	}
	if !res.IsSuccess() {
		return fmt.Errorf("%w: %d %s", ErrRegister, res.StatusCode, res.Reason)
	}
	granted := expires
	if h := res.GetHeader("Expires"); h != nil {
		if v, err := strconv.Atoi(h.Value()); err == nil {
			granted = time.Duration(v) * time.Second
		}
	}
	for _, h := range res.GetHeaders("Contact") {
		if ch, ok := h.(*sip.ContactHeader); ok && ch.Address.Host == r.p.addr.Addr().String() && ch.Address.Port == int(r.p.addr.Port()) {
			if v, ok := ch.Params.Get("expires"); ok {
				if n, err := strconv.Atoi(v); err == nil {
					granted = time.Duration(n) * time.Second
				}
			}
		}
	}
	var routes []string
	for _, h := range res.GetHeaders("Service-Route") {
		routes = append(routes, h.Value())
	}
	r.mu.Lock()
	r.granted, r.routes = granted, routes
	r.mu.Unlock()
	r.p.log.Info("registered", "aor", r.aor.String(), "expires", granted)
	return nil
}
