package client

import (
	"crypto/subtle"
	"time"

	"github.com/emiago/sipgo/sip"
)

// outOfDialog routes a request that starts a transaction outside any dialog over our
// transport, to the outbound proxy when one is configured (in IMS the P-CSCF, TS 24.229
// §5.1.1.1): RFC 3261 §8.1.2 makes it a route set of one loose-routing URI, so it goes in as
// the top Route. sipgo sends to the top Route, and its CANCEL copies the INVITE's Route
// headers, so a CANCEL reaches the same proxy as its INVITE (§9.1).
func (p *Phone) outOfDialog(req *sip.Request) {
	p.setTransport(req)
	if p.proxyRoute != nil {
		req.PrependHeader(&sip.RouteHeader{Address: *p.proxyRoute.Clone()})
	}
}

// preloadRoute adds the Service-Route learned at registration as Route headers of a
// dialog-initiating request (RFC 3608 §6, TS 24.229 §5.1.2A.1.1). Path (RFC 3327) is for the
// registrar's way towards us and never used here.
func (p *Phone) preloadRoute(req *sip.Request) {
	p.mu.Lock()
	routes := p.serviceRoute
	p.mu.Unlock()
	for _, r := range routes {
		req.AppendHeader(sip.NewHeader("Route", r))
	}
}

// setServiceRoute records the Service-Route of registration r's last 2xx; the registration
// refreshed (or made) last wins.
func (p *Phone) setServiceRoute(r *Registration, routes []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serviceRoute = append([]string(nil), routes...)
	p.routeOwner = r
}

func (p *Phone) addRegistration(r *Registration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errPhoneClosed
	}
	p.regs[r] = struct{}{}
	return nil
}

func (p *Phone) dropRegistration(r *Registration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.regs, r)
	if p.routeOwner == r {
		p.serviceRoute, p.routeOwner = nil, nil
	}
}

// inviteCredentials are the username and password an INVITE challenge (401, or 407 as Kamailio
// sends for every INVITE) is answered with: Config.Username/Password, else those of a live
// registration that has a password.
func (p *Phone) inviteCredentials() (user, pass string) {
	if p.cfg.Password != "" {
		if p.cfg.Username == "" {
			return p.cfg.User, p.cfg.Password
		}
		return p.cfg.Username, p.cfg.Password
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if r := p.routeOwner; r != nil && r.opts.Password != "" {
		return r.creds.username, r.opts.Password
	}
	for r := range p.regs {
		if r.opts.Password != "" {
			return r.creds.username, r.opts.Password
		}
	}
	return "", ""
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func realAfter(d time.Duration) <-chan time.Time { return time.After(d) }
