package policy

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Subject is an authenticated party: the IMPI the KMS authenticated (via the B-TID and Zn)
// with its IMPUs and groups (from the store or the policy's users).
type Subject struct {
	IMPI   string
	IMPUs  []string
	Groups []string
}

// identities are the strings patterns are matched against.
func (s Subject) identities() []string {
	out := make([]string, 0, 1+len(s.IMPUs))
	if s.IMPI != "" {
		out = append(out, s.IMPI)
	}
	return append(out, s.IMPUs...)
}

func (s Subject) owns(id string) bool {
	return id != "" && (id == s.IMPI || slices.Contains(s.IMPUs, id))
}

// Lookup returns the policy's user with this IMPI or IMPU as a Subject.
func (p *Policy) Lookup(id string) (Subject, bool) {
	i, ok := p.byID[id]
	if !ok {
		return Subject{}, false
	}
	u := p.users[i]
	return Subject{IMPI: u.IMPI, IMPUs: slices.Clone(u.IMPUs), Groups: slices.Clone(u.Groups)}, true
}

// groupsOf returns the groups the policy lists for the user with this identity, unshared.
func (p *Policy) groupsOf(id string) []string {
	if i, ok := p.byID[id]; ok {
		return p.users[i].Groups
	}
	return nil
}

// subjectOf completes a subject with what the policy knows about the identity.
func (p *Policy) subjectOf(id string) Subject {
	if s, ok := p.Lookup(id); ok {
		return s
	}
	return Subject{IMPUs: []string{id}}
}

// inGroup reports whether any of s's identities belongs to group g.
func (p *Policy) inGroup(s Subject, g string) bool {
	if slices.Contains(s.Groups, g) {
		return true
	}
	for _, id := range s.identities() {
		if slices.Contains(p.groupsOf(id), g) {
			return true
		}
		for _, m := range p.groups[g] {
			if glob(m.glob, id) {
				return true
			}
		}
	}
	return false
}

func (p *Policy) matches(pats []Pattern, s Subject) bool {
	for _, pt := range pats {
		if pt.group != "" {
			if p.inGroup(s, pt.group) {
				return true
			}
			continue
		}
		for _, id := range s.identities() {
			if glob(pt.glob, id) {
				return true
			}
		}
	}
	return false
}

// TicketRequest is what a REQUEST_INIT asks for (RFC 6043 §5.1).
type TicketRequest struct {
	Requester Subject
	// Initiator is the IDRi of the request; "" if absent. It must be one of the requester's
	// identities: nobody requests tickets in another user's name.
	Initiator string
	// Responders are the IDRr of the request (at least one; a ticket for anybody is not
	// something this policy grants).
	Responders []string
	// Validity is the requested TRe - TRs; 0 for no preference.
	Validity time.Duration
	// Features are the requested flags J, I, L, M of the desired Ticket Policy.
	Features Features
}

// ResolveRequest is what a RESOLVE_INIT asks for (RFC 6043 §5.3).
type ResolveRequest struct {
	Resolver Subject
	// Requester is the identity the ticket was issued to (its IDRi).
	Requester string
	// Responders are the IDRr the ticket names; empty when it names none.
	Responders []string
}

// Decision is the outcome of Decide or DecideResolve.
type Decision struct {
	Allowed bool
	// Reason says why a request was refused (for the log; never sent to the peer as is).
	Reason string
	// Rules are the names of the rules that allowed the request.
	Rules []string
	// Validity and Features are granted (request decisions only).
	Validity time.Duration
	Features Features
	// Changed is set when less was granted than requested: the K flag (RFC 6043 §6.10).
	Changed bool

	audit AuditRecord
}

// Decide authorises a ticket request and computes the granted Ticket Policy values. Each
// responder must be allowed by some request rule (the first whose From matches the
// requester and whose To matches the responder); the grant is what every applicable rule
// allows: the shortest validity, the common features.
func (p *Policy) Decide(req TicketRequest) Decision {
	d := Decision{audit: AuditRecord{
		Action: "request", IMPI: req.Requester.IMPI, Initiator: req.Initiator,
		Responders: slices.Clone(req.Responders), PolicyDigest: p.Digest,
	}}
	deny := func(format string, args ...any) Decision {
		d.Allowed, d.Reason, d.Rules = false, fmt.Sprintf(format, args...), nil
		d.Validity, d.Features, d.Changed = 0, Features{}, false
		return d.sealed()
	}
	if req.Requester.IMPI == "" && len(req.Requester.IMPUs) == 0 {
		return deny("requester has no identity")
	}
	if req.Initiator != "" && !req.Requester.owns(req.Initiator) {
		return deny("initiator %q is not an identity of %q", req.Initiator, req.Requester.IMPI)
	}
	if len(req.Responders) == 0 {
		return deny("no responder named")
	}
	if req.Validity < 0 {
		return deny("negative validity requested")
	}
	requester := req.Requester
	if len(requester.Groups) == 0 {
		if s, ok := p.Lookup(requester.IMPI); ok {
			requester.Groups = s.Groups
		}
	}
	validity := time.Duration(-1)
	features := Features{true, true, true, true}
	for _, r := range req.Responders {
		resp := p.subjectOf(r)
		var rule *RequestRule
		for i := range p.request {
			if p.matches(p.request[i].From, requester) && p.matches(p.request[i].To, resp) {
				rule = &p.request[i]
				break
			}
		}
		if rule == nil {
			return deny("no rule allows %q to request a ticket towards %q", req.Requester.IMPI, r)
		}
		if !slices.Contains(d.Rules, rule.Name) {
			d.Rules = append(d.Rules, rule.Name)
		}
		if validity < 0 || rule.MaxValidity < validity {
			validity = rule.MaxValidity
		}
		features = features.and(rule.Features)
	}
	d.Allowed = true
	d.Validity = validity
	if req.Validity > 0 && req.Validity < validity {
		d.Validity = req.Validity
	}
	d.Features = req.Features.and(features)
	d.Changed = (req.Validity > 0 && d.Validity < req.Validity) || d.Features != req.Features
	return d.sealed()
}

// DecideResolve authorises a ticket resolution: a ticket that names responders resolves only
// for one of them, and some resolve rule must match both the resolver (Who) and the
// ticket's requester (Of).
func (p *Policy) DecideResolve(req ResolveRequest) Decision {
	d := Decision{audit: AuditRecord{
		Action: "resolve", IMPI: req.Resolver.IMPI, Initiator: req.Requester,
		Responders: slices.Clone(req.Responders), PolicyDigest: p.Digest,
	}}
	if req.Resolver.IMPI == "" && len(req.Resolver.IMPUs) == 0 {
		d.Reason = "resolver has no identity"
		return d.sealed()
	}
	resolver := req.Resolver
	if len(resolver.Groups) == 0 {
		if s, ok := p.Lookup(resolver.IMPI); ok {
			resolver.Groups = s.Groups
		}
	}
	if len(req.Responders) > 0 && !slices.ContainsFunc(req.Responders, resolver.owns) {
		d.Reason = fmt.Sprintf("%q is not a responder the ticket names", req.Resolver.IMPI)
		return d.sealed()
	}
	requester := p.subjectOf(req.Requester)
	for _, r := range p.resolve {
		if p.matches(r.Who, resolver) && p.matches(r.Of, requester) {
			d.Allowed, d.Rules = true, []string{r.Name}
			return d.sealed()
		}
	}
	d.Reason = fmt.Sprintf("no rule allows %q to resolve tickets of %q", req.Resolver.IMPI, req.Requester)
	return d.sealed()
}

func (d Decision) sealed() Decision {
	a := &d.audit
	a.Allowed, a.Reason, a.Rules = d.Allowed, d.Reason, slices.Clone(d.Rules)
	a.Validity, a.Features, a.Changed = d.Validity, d.Features.Flags(), d.Changed
	return d
}

// Audit returns the audit record of the decision.
func (d Decision) Audit() AuditRecord {
	a := d.audit
	a.Responders, a.Rules = slices.Clone(a.Responders), slices.Clone(a.Rules)
	return a
}

// AuditRecord is one authorisation decision for the audit log. It holds identities, rule
// names and granted values only; never key material.
type AuditRecord struct {
	Action       string // "request" or "resolve"
	IMPI         string // the authenticated requester or resolver
	Initiator    string // IDRi (request) or the ticket's requester (resolve)
	Responders   []string
	Allowed      bool
	Reason       string
	Rules        []string
	Validity     time.Duration
	Features     string // granted flags, e.g. "IJ"
	Changed      bool   // K flag
	PolicyDigest string
}

// Attrs returns the record as slog attributes.
func (a AuditRecord) Attrs() []slog.Attr {
	attrs := []slog.Attr{
		slog.String("action", a.Action),
		slog.String("impi", a.IMPI),
		slog.String("initiator", a.Initiator),
		slog.String("responders", strings.Join(a.Responders, ",")),
		slog.Bool("allowed", a.Allowed),
	}
	if a.Allowed {
		attrs = append(attrs, slog.String("rules", strings.Join(a.Rules, ",")))
		if a.Action == "request" {
			attrs = append(attrs, slog.Duration("validity", a.Validity), slog.String("features", a.Features), slog.Bool("changed", a.Changed))
		}
	} else {
		attrs = append(attrs, slog.String("reason", a.Reason))
	}
	return append(attrs, slog.String("policy", a.PolicyDigest))
}

// LogValue makes the record a slog group.
func (a AuditRecord) LogValue() slog.Value { return slog.GroupValue(a.Attrs()...) }
