package registrar

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/gba"
)

// asBuilt is a sipgo request option that leaves a request exactly as the proxy built it (sipgo
// otherwise adds missing headers, which a proxy must not do).
func asBuilt(*sipgo.Client, *sip.Request) error { return nil }

// onRequest is the stateful proxy of RFC 3261 §16 for every method but REGISTER and ACK (CANCEL
// of a pending INVITE is matched by sipgo's transaction layer and reaches onCancel below).
func (s *Server) onRequest(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsCancel() {
		// §16.10: a CANCEL that matches no transaction is answered 481 statelessly-in-effect.
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	// §16.3 step 3 (Max-Forwards) is our loop detection; step 4's Via-based loop check is
	// optional and not done.
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		s.respond(tx, req, 483, "Too Many Hops")
		return
	}
	fwd := s.popOwnRoutes(req)
	inDialog := false
	if to := req.To(); to != nil && to.Params.Has("tag") {
		inDialog = true
	}

	var targets []sip.Uri
	switch {
	case fwd.Route() != nil:
		// §16.4/§16.6 step 6: loose routing to the next Route entry; Request-URI unchanged.
		targets = []sip.Uri{fwd.Recipient}
	case s.isHomeDomain(fwd.Recipient) && fwd.Recipient.User == "":
		// Addressed to this node itself.
		if req.Method == sip.OPTIONS {
			s.respond(tx, req, 200, "OK", sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER"))
			return
		}
		s.respond(tx, req, 404, "Not Found")
		return
	case s.isHomeDomain(fwd.Recipient):
		// §16.5: the Request-URI is in our domain; the location service gives the targets.
		aor := s.homeAOR(fwd.Recipient)
		if s.accts.byAOR[aor] == nil {
			s.respond(tx, req, 404, "Not Found")
			return
		}
		for _, b := range s.loc.Lookup(aor) {
			targets = append(targets, b.Contact.Address)
		}
		if len(targets) == 0 {
			s.respond(tx, req, 480, "Temporarily Unavailable")
			return
		}
	default:
		// Not our domain (typically an in-dialog request to a remote target after our Route
		// entry was removed): forward to the Request-URI.
		targets = []sip.Uri{fwd.Recipient}
	}

	if !inDialog && !s.senderAllowed(req, tx, fwd) {
		return
	}
	recordRoute := !inDialog && req.Method == sip.INVITE
	outs := make([]*sip.Request, 0, len(targets))
	for _, t := range targets {
		outs = append(outs, s.prepare(req, fwd, t, recordRoute))
	}
	s.forward(req, tx, outs)
}

// homeAOR is the AOR of a Request-URI in our domain; a URI naming this node's address stands
// for the home domain (a UE that dials user@<proxy address>).
func (s *Server) homeAOR(u sip.Uri) string {
	if s.isSelf(u) {
		u.Host, u.Port = s.cfg.Domain, 0
	}
	return AORKey(u)
}

// senderAllowed applies the SenderPolicy to an out-of-dialog request. It has answered when it
// returns false.
func (s *Server) senderAllowed(req *sip.Request, tx sip.ServerTransaction, fwd *sip.Request) bool {
	from := req.From()
	if from == nil {
		s.respond(tx, req, 400, "Missing From")
		return false
	}
	aor := AORKey(from.Address)
	acct := s.accts.byAOR[aor]
	if acct == nil || len(s.loc.Lookup(aor)) == 0 {
		s.respond(tx, req, 403, "Sender Not Registered")
		return false
	}
	if s.cfg.Sender != SenderDigest || acct.Password == "" {
		return true
	}
	h := req.GetHeader("Proxy-Authorization")
	if h == nil {
		s.challenge(req, tx, acct, "", false, true)
		return false
	}
	c, err := gba.ParseCredentials(h.Value())
	if err != nil {
		s.respond(tx, req, 400, "Malformed Proxy-Authorization")
		return false
	}
	if c.Realm != s.cfg.Domain {
		s.challenge(req, tx, acct, "", false, true)
		return false
	}
	v := s.verify(c, acct, string(req.Method), req.Recipient, req.Body())
	switch v.verdict {
	case authOK:
		clear(v.password)
		// RFC 3261 §22.3: credentials for this realm are consumed here, not passed on.
		fwd.RemoveHeader("Proxy-Authorization")
		return true
	case authRechallenge:
		s.challenge(req, tx, acct, "", v.stale, true)
	case authBadRequest:
		s.respond(tx, req, 400, "Bad Proxy-Authorization: "+v.reason)
	default:
		s.respond(tx, req, 403, "Forbidden")
	}
	return false
}

// popOwnRoutes copies req and removes the Route entries naming this proxy from the top (§16.4;
// two in a row when we double-record-routed across transports, RFC 5658).
func (s *Server) popOwnRoutes(req *sip.Request) *sip.Request {
	fwd := sip.NewRequest(req.Method, *req.Recipient.Clone())
	for _, h := range req.CloneHeaders() {
		fwd.AppendHeader(h)
	}
	for r := fwd.Route(); r != nil && s.isSelf(r.Address); r = fwd.Route() {
		fwd.RemoveHeader("Route")
	}
	return fwd
}

// prepare builds one forwarded copy (§16.6): new Request-URI, Max-Forwards decremented,
// Record-Route, the previous hop's Via completed with received/rport (RFC 3581 §4), and our Via.
func (s *Server) prepare(req, fwd *sip.Request, target sip.Uri, recordRoute bool) *sip.Request {
	out := sip.NewRequest(req.Method, *target.Clone())
	for _, h := range fwd.CloneHeaders() {
		out.AppendHeader(h)
	}
	out.SetBody(append([]byte(nil), req.Body()...))
	if mf := out.MaxForwards(); mf != nil {
		mf.Dec()
	} else {
		m := sip.MaxForwardsHeader(69)
		out.AppendHeader(&m)
	}

	next := target
	if r := out.Route(); r != nil {
		next = r.Address
	}
	tp := "UDP"
	if t, ok := next.UriParams.Get("transport"); ok && t != "" {
		tp = strings.ToUpper(t)
	}
	in := strings.ToUpper(req.Transport())
	if in == "TCP" && contactTransport(req) == "UDP" {
		// A UE on UDP that sent this request over TCP because of its size (RFC 3261 §18.1.1)
		// is reached over UDP for the rest of the dialog.
		in = "UDP"
	}
	if recordRoute {
		// RFC 5658 §3.2: when the transport changes, record-route twice, so each side of the
		// dialog reaches us over its own transport.
		if in != tp {
			out.PrependHeader(&sip.RecordRouteHeader{Address: s.routeURI("", in)})
		}
		out.PrependHeader(&sip.RecordRouteHeader{Address: s.routeURI("", tp)})
	}
	if v := out.Via(); v != nil {
		// RFC 3581 §4 and RFC 3261 §18.2.1: the received/rport the upstream UA needs for its
		// responses to come back through NATs.
		host, port, err := net.SplitHostPort(req.Source())
		if err == nil {
			if v.Params.Has("rport") {
				v.Params.Add("rport", port)
				v.Params.Add("received", host)
			} else if host != v.Host {
				v.Params.Add("received", host)
			}
		}
	}
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: tp,
		Host: s.cfg.Host, Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranchN(16))
	out.PrependHeader(via)
	if tp == "UDP" && len(out.String())+viaPortSlack > udpLimit() {
		// RFC 3261 §18.1.1: above 1300 octets (path MTU unknown) a request goes over a
		// congestion-controlled transport, with the top Via changed to say so; the UE listens
		// on TCP at its UDP port. Record-Route still names UDP for the rest of the dialog.
		tp = "TCP"
		via.Transport = tp
	}
	out.SetTransport(tp)
	port := next.Port
	if port == 0 {
		port = int(sip.DefaultPort(tp))
	}
	out.SetDestination(net.JoinHostPort(next.Host, strconv.Itoa(port)))
	return out
}

// onAck forwards an ACK for a 2xx statelessly (§16.11 treats it as a new request following the
// route set); an ACK for a non-2xx ended in the INVITE server transaction and never gets here.
func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		return
	}
	fwd := s.popOwnRoutes(req)
	if fwd.Route() == nil && s.isHomeDomain(fwd.Recipient) {
		// An ACK to our own domain with no route left would need a location lookup that a
		// 2xx ACK (sent to the remote target) never needs; drop it.
		s.log.Debug("ACK addressed to the home domain dropped", "ruri", fwd.Recipient.String())
		return
	}
	out := s.prepare(req, fwd, fwd.Recipient, false)
	if err := s.cli.WriteRequest(out, asBuilt); err != nil {
		s.log.Debug("ACK not forwarded", "err", err)
	}
}

type branch struct {
	req             *sip.Request
	tx              sip.ClientTransaction
	provisional     bool
	final           bool
	cancelRequested bool
	cancelSent      bool
}

type branchEvent struct {
	i    int
	res  *sip.Response
	done bool
}

// forward runs the response context of §16.7 over the branches: provisional responses (but
// 100) and every 2xx are passed upstream at once; the first 2xx (or a 6xx) cancels the other
// branches (§16.7 step 10 via §16.10); otherwise the best final response goes up when all
// branches are done (§16.7 step 6).
func (s *Server) forward(req *sip.Request, tx sip.ServerTransaction, outs []*sip.Request) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.BranchTimeout)
	defer cancel()
	isInvite := req.IsInvite()
	events := make(chan branchEvent, 4*len(outs)+4)
	branches := make([]*branch, len(outs))
	var best *sip.Response
	pending := 0
	var wg sync.WaitGroup
	defer wg.Wait()
	cancelCh := make(chan struct{}, 1)
	if isInvite {
		upstreamCancel := func(*sip.Request) {
			select {
			case cancelCh <- struct{}{}:
			default:
			}
		}
		// OnCancel reports false when the CANCEL came before we could listen for it.
		if !tx.OnCancel(upstreamCancel) {
			upstreamCancel(nil)
		}
	}
	for i, out := range outs {
		b := &branch{req: out}
		branches[i] = b
		ctxTx, err := s.cli.TransactionRequest(ctx, out, asBuilt)
		if err != nil {
			b.final = true
			s.log.Info("branch failed", "target", out.Recipient.String(), "err", err)
			best = betterResponse(best, sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil))
			continue
		}
		b.tx = ctxTx
		if isInvite {
			ctxTx.OnRetransmission(func(r *sip.Response) {
				// 2xx retransmissions (RFC 6026 Accepted state) go upstream too (§16.7 step 5).
				if r.IsSuccess() {
					s.relay(req, tx, r)
				}
			})
		}
		pending++
		wg.Add(1)
		go func(i int, ctxTx sip.ClientTransaction) {
			defer wg.Done()
			for {
				select {
				case r := <-ctxTx.Responses():
					events <- branchEvent{i: i, res: r}
					if !r.IsProvisional() {
						events <- branchEvent{i: i, done: true}
						return
					}
				case <-ctxTx.Done():
					events <- branchEvent{i: i, done: true}
					return
				}
			}
		}(i, ctxTx)
	}

	finalSent := false
	cancelAll := func() {
		for _, b := range branches {
			if b.tx == nil || b.final || b.cancelRequested {
				continue
			}
			b.cancelRequested = true
			if !isInvite {
				continue
			}
			if b.provisional {
				// RFC 3261 §9.1: CANCEL only after a provisional response has arrived.
				b.cancelSent = true
				s.sendCancel(b.req)
			}
		}
	}
	for pending > 0 {
		select {
		case ev := <-events:
			b := branches[ev.i]
			if ev.done {
				pending--
				if !b.final {
					b.final = true
					best = betterResponse(best, sip.NewResponseFromRequest(req, 408, "Request Timeout", nil))
				}
				continue
			}
			r := ev.res
			if r.IsProvisional() {
				b.provisional = true
				if b.cancelRequested && !b.cancelSent && isInvite {
					b.cancelSent = true
					s.sendCancel(b.req)
				}
				if r.StatusCode > 100 && !finalSent {
					s.relay(req, tx, r)
				}
				continue
			}
			b.final = true
			switch {
			case r.IsSuccess():
				s.relay(req, tx, r)
				if !finalSent {
					finalSent = true
					cancelAll()
				}
			case r.StatusCode >= 600:
				best = betterResponse(best, r)
				cancelAll()
			default:
				best = betterResponse(best, r)
			}
		case <-cancelCh:
			// sipgo has already answered the CANCEL with 200 and the INVITE with 487.
			finalSent = true
			cancelAll()
		case <-ctx.Done():
			// Timer C (§16.8): give up on the branches still pending.
			cancelAll()
			for _, b := range branches {
				if b.tx != nil && !b.final && !b.provisional {
					b.tx.Terminate()
				}
			}
			ctx = context.Background() // fire once
		}
	}
	if finalSent {
		return
	}
	if best == nil {
		best = sip.NewResponseFromRequest(req, 408, "Request Timeout", nil)
	}
	if best.StatusCode == 503 {
		// §16.7 step 6: a 503 is not passed on; the proxy answers 500 instead.
		best = sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil)
		s.respondWith(tx, best)
		return
	}
	if best.Via() != nil && viaIsOurs(best, outs) {
		s.relay(req, tx, best)
		return
	}
	s.respondWith(tx, best)
}

func (s *Server) respondWith(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		s.log.Debug("response not sent", "status", res.StatusCode, "err", err)
	}
}

// viaIsOurs tells a downstream response (top Via is one of our branches) from one built locally
// against the upstream request.
func viaIsOurs(res *sip.Response, outs []*sip.Request) bool {
	rb, _ := res.Via().Params.Get("branch")
	for _, o := range outs {
		if ob, _ := o.Via().Params.Get("branch"); ob == rb {
			return true
		}
	}
	return false
}

// relay passes a downstream response upstream (§16.7 step 9): our Via removed, sent to where
// the request came from (RFC 3581 §4: the source address and port).
func (s *Server) relay(req *sip.Request, tx sip.ServerTransaction, r *sip.Response) {
	up := r.Clone()
	up.RemoveHeader("Via")
	up.SetTransport(req.Transport())
	up.SetDestination(req.Source())
	if err := tx.Respond(up); err != nil {
		s.log.Debug("response not relayed", "status", r.StatusCode, "err", err)
	}
}

// sendCancel cancels one branch (§16.10, §9.1): same Request-URI, Call-ID, From, To, CSeq
// number, Route and top Via (branch) as the forwarded INVITE.
func (s *Server) sendCancel(inv *sip.Request) {
	c := sip.NewRequest(sip.CANCEL, *inv.Recipient.Clone())
	c.AppendHeader(inv.Via().Clone())
	for _, r := range inv.GetHeaders("Route") {
		c.AppendHeader(sip.HeaderClone(r))
	}
	c.AppendHeader(sip.HeaderClone(inv.From()))
	c.AppendHeader(sip.HeaderClone(inv.To()))
	c.AppendHeader(sip.HeaderClone(inv.CallID()))
	c.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	c.AppendHeader(&mf)
	c.SetBody(nil)
	c.SetTransport(inv.Transport())
	c.SetDestination(inv.Destination())
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
		defer cancel()
		if _, err := s.cli.Do(ctx, c, asBuilt); err != nil {
			s.log.Debug("CANCEL failed", "err", err)
		}
	}()
}

// betterResponse picks the final response to send when no 2xx came (§16.7 step 6): any 6xx,
// else the lowest class, the first received within a class.
func betterResponse(cur, r *sip.Response) *sip.Response {
	if cur == nil {
		return r
	}
	cc, rc := cur.StatusCode/100, r.StatusCode/100
	switch {
	case cc == 6:
		return cur
	case rc == 6:
		return r
	case rc < cc:
		return r
	}
	return cur
}

// udpRequestLimit is RFC 3261 §18.1.1's bound for a request over UDP when the path MTU is
// unknown ("larger than 1300 bytes ... MUST be sent using an RFC 2914 congestion controlled
// transport protocol, such as TCP").
const udpRequestLimit = 1300

// viaPortSlack is what the transport layer still adds to our Via after we measure a request
// (the sent-by port).
const viaPortSlack = 6

// udpLimit is udpRequestLimit, or less when sipgo's sip.UDPMTUSize was lowered (sipgo refuses
// datagrams above UDPMTUSize - 200).
func udpLimit() int { return min(udpRequestLimit, sip.UDPMTUSize-200) }

// contactTransport is the transport the Contact of req names (RFC 3261 §19.1.4; UDP without a
// transport parameter), or "" without a Contact.
func contactTransport(req *sip.Request) string {
	c := req.Contact()
	if c == nil {
		return ""
	}
	if t, ok := c.Address.UriParams.Get("transport"); ok && t != "" {
		return strings.ToUpper(t)
	}
	if strings.EqualFold(c.Address.Scheme, "sips") {
		return "TLS"
	}
	return "UDP"
}
