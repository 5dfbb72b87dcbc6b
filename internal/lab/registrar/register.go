package registrar

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/imsphone/imsphone/gba"
)

// onRegister is the registrar of RFC 3261 §10.3, with the S-CSCF additions of TS 24.229
// §5.4.1.2 (authentication, P-Associated-URI, Service-Route).
func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	// Step 1: the Request-URI names the domain this registrar is responsible for.
	if !s.isHomeDomain(req.Recipient) {
		s.respond(tx, req, 404, "Domain Not Served")
		return
	}
	to := req.To()
	if to == nil {
		s.respond(tx, req, 400, "Missing To")
		return
	}
	acct := s.accts.byAOR[AORKey(to.Address)]

	// Steps 3-5 (authentication, RFC 3261 §22; TS 24.229 §5.4.1.2.1).
	var creds *gba.Credentials
	if h := req.GetHeader("Authorization"); h != nil {
		c, err := gba.ParseCredentials(h.Value())
		if err != nil {
			s.respond(tx, req, 400, "Malformed Authorization")
			return
		}
		creds = c
		byIMPI := s.accts.byIMPI[c.Username]
		if byIMPI == nil {
			s.respond(tx, req, 403, "Unknown Private Identity")
			return
		}
		if acct == nil {
			s.respond(tx, req, 404, "Unknown Public Identity")
			return
		}
		if byIMPI != acct {
			// TS 24.229 §5.4.1.2.1: the IMPU must belong to the IMPI [unverified clause].
			s.respond(tx, req, 403, "Public Identity Not Associated")
			return
		}
	}
	if acct == nil {
		s.respond(tx, req, 404, "Unknown Public Identity")
		return
	}
	if creds == nil || creds.Nonce == "" {
		alg := ""
		if creds != nil {
			alg = creds.Algorithm
		}
		s.challenge(req, tx, acct, alg, false, false)
		return
	}
	v := s.verify(creds, acct, string(req.Method), req.Recipient, req.Body())
	switch v.verdict {
	case authRechallenge:
		s.log.Info("REGISTER re-challenged", "impi", acct.IMPI, "why", v.reason)
		s.challenge(req, tx, acct, v.akaAlg, v.stale, false)
		return
	case authForbidden:
		s.log.Info("REGISTER refused", "impi", acct.IMPI, "why", v.reason)
		s.respond(tx, req, 403, "Forbidden")
		return
	case authBadRequest:
		s.respond(tx, req, 400, "Bad Authorization: "+v.reason)
		return
	}
	ai := sip.NewHeader("Authentication-Info", authenticationInfo(creds, v.hash, v.password))
	clear(v.password)
	s.bind(req, tx, acct, ai)
}

// challenge answers 401 with WWW-Authenticate, or 407 with Proxy-Authenticate (RFC 3261 §22.2,
// §22.3).
func (s *Server) challenge(req *sip.Request, tx sip.ServerTransaction, acct *Account, akaAlg string, stale, proxy bool) {
	chs, err := s.challenges(acct, akaAlg, stale)
	if err != nil {
		s.log.Error("cannot build challenge", "impi", acct.IMPI, "err", err)
		s.respond(tx, req, 500, "Authentication Vector Unavailable")
		return
	}
	code, reason, name := 401, "Unauthorized", "WWW-Authenticate"
	if proxy {
		code, reason, name = 407, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	hdrs := make([]sip.Header, 0, len(chs))
	for _, c := range chs {
		hdrs = append(hdrs, sip.NewHeader(name, c.String()))
	}
	s.respond(tx, req, code, reason, hdrs...)
}

// bind applies RFC 3261 §10.3 steps 6-8 for the implicit registration set of acct.
func (s *Server) bind(req *sip.Request, tx sip.ServerTransaction, acct *Account, extra ...sip.Header) {
	now := s.now()
	hdrExpires := s.cfg.DefaultExpires
	hasHdrExpires := false
	if h := req.GetHeader("Expires"); h != nil {
		v, err := ParseDeltaSeconds(h.Value())
		if err != nil {
			s.respond(tx, req, 400, "Bad Expires")
			return
		}
		hdrExpires, hasHdrExpires = time.Duration(v)*time.Second, true
	}
	var contacts []*sip.ContactHeader
	for _, h := range req.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			s.respond(tx, req, 400, "Malformed Contact")
			return
		}
		contacts = append(contacts, c)
	}
	cseq := req.CSeq()
	callID := req.CallID()
	if cseq == nil || callID == nil {
		s.respond(tx, req, 400, "Missing CSeq or Call-ID")
		return
	}

	removeAll := false
	var ups []Binding
	for _, c := range contacts {
		if c.Address.Wildcard {
			// Step 6: "*" only alone and only with Expires: 0.
			if len(contacts) != 1 || !hasHdrExpires || hdrExpires != 0 {
				s.respond(tx, req, 400, "Wildcard Contact Needs Expires 0 Alone")
				return
			}
			removeAll = true
			break
		}
		exp := hdrExpires
		if p, ok := c.Params.Get("expires"); ok {
			v, err := ParseDeltaSeconds(p)
			if err != nil {
				s.respond(tx, req, 400, "Bad Contact expires")
				return
			}
			exp = time.Duration(v) * time.Second
		}
		if exp != 0 && exp < s.cfg.MinExpires {
			// Step 7: 423 with Min-Expires, and no binding is changed.
			s.respond(tx, req, 423, "Interval Too Brief",
				sip.NewHeader("Min-Expires", strconv.Itoa(int(s.cfg.MinExpires/time.Second))))
			return
		}
		exp = min(exp, s.cfg.MaxExpires)
		stored := c.Clone()
		stored.Params.Remove("expires")
		ups = append(ups, Binding{Contact: *stored, CallID: callID.Value(), CSeq: cseq.SeqNo,
			Expires: now.Add(exp), Source: req.Source(), Transport: req.Transport()})
	}

	if len(contacts) > 0 {
		for _, impu := range acct.IMPUs {
			aor, _ := impuAOR(impu)
			if err := s.loc.Apply(aor, ups, removeAll, callID.Value(), cseq.SeqNo); err != nil {
				var ooo *ErrOutOfOrder
				if errors.As(err, &ooo) {
					// Step 7 leaves the code open; 400 tells the UA its request, not we, is at fault.
					s.respond(tx, req, 400, "CSeq Out Of Order")
					return
				}
				s.respond(tx, req, 500, "Location Service Failure")
				return
			}
		}
	}

	// Step 8: 200 OK listing every current binding with its remaining expiry.
	to := req.To()
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	for _, b := range s.loc.Lookup(AORKey(to.Address)) {
		c := b.Contact.Clone()
		if c.Params == nil {
			c.Params = sip.NewParams()
		}
		left := int64(math.Ceil(b.Expires.Sub(now).Seconds()))
		c.Params.Add("expires", strconv.FormatInt(left, 10))
		res.AppendHeader(c)
	}
	// RFC 3455 §4.1: P-Associated-URI lists the registered IMPU first, then the others of the set.
	assoc := []string{"<" + to.Address.Addr() + ">"}
	for _, impu := range acct.IMPUs {
		if a, _ := impuAOR(impu); a != AORKey(to.Address) {
			assoc = append(assoc, "<"+impu+">")
		}
	}
	res.AppendHeader(sip.NewHeader("P-Associated-URI", strings.Join(assoc, ", ")))
	// RFC 3608 §5 / TS 24.229 §5.4.1.2.2: the route the UE must pre-load for originating
	// requests; "orig" marks the originating leg [the user part is a lab convention].
	sr := s.routeURI("orig", req.Transport())
	res.AppendHeader(sip.NewHeader("Service-Route", "<"+sr.String()+">"))
	for _, h := range extra {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("REGISTER 200 not sent", "err", err)
	}
}

func impuAOR(impu string) (string, error) {
	var u sip.Uri
	if err := sip.ParseUri(impu, &u); err != nil {
		return "", err
	}
	return AORKey(u), nil
}
