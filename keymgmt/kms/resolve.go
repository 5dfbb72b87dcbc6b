package kms

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/imsphone/imsphone/keymgmt/kms/policy"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// handleResolve is the KMS side of the Ticket Resolve exchange (RFC 6043 §4.2.3.4, §5.3):
// verify the MAC with the Responder's Ks_NAF, refuse stale or replayed messages, bind IDRr to the
// subscriber, open the base ticket (its MAC with the TPK named in THDR), check validity, that
// IDRr is a responder the ticket names, the policy, the Initiator Data (I = 1) and reuse (J), then
// answer RESOLVE_RESP with the keys, forked for IDRr with a fresh RANDRkms when I = 1 (§5.1.1).
func (s *Server) handleResolve(ctx context.Context, m *mikey.Message, ev AuditEvent) reply {
	zk, rp := s.psk(ctx, m, &ev)
	if rp != nil {
		return *rp
	}
	ri, err := mikey.VerifyResolveInitPSK(m, zk.Key, s.freshness(ctx, m.HDR.DataType))
	if err != nil {
		var keys *mikey.MessageKeys
		if ri != nil {
			keys = &ri.MsgKeys
		}
		return s.verifyFailed(ev, m, err, keys)
	}
	refuse := func(status int, n mikey.ErrNo, format string, args ...any) reply {
		ev.Reason = fmt.Sprintf(format, args...)
		return s.fail(ev, m, status, n, ri.MsgKeys.Auth, ri.MsgKeys.MACAlg)
	}
	if ri.IDRr == nil || len(ri.IDRr.Data) == 0 {
		return refuse(http.StatusForbidden, mikey.ErrInvalidID, "no IDRr: the KMS binds the Responder's IMPU to the B-TID")
	}
	ev.Responder = string(ri.IDRr.Data)
	user, err := s.user(ctx, zk.IMPI)
	if err != nil {
		return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "user store: %v", err)
	}
	if !slices.Contains(user.IMPUs, ev.Responder) {
		return refuse(http.StatusForbidden, mikey.ErrInvalidID, "IDRr %q is not a public identity of %q", ev.Responder, zk.IMPI)
	}
	pol := &ri.Ticket.Policy
	if pol.TicketType != mikey.TicketMIKEYBase {
		return refuse(http.StatusBadRequest, mikey.ErrInvalidTICKET, "ticket type %d: only the MIKEY base ticket is resolved", pol.TicketType)
	}
	c, err := mikey.OpenBaseTicket(ctx, ri.Ticket, s.keys.lookup)
	if err != nil {
		var pe *mikey.ProtocolError
		if errors.As(err, &pe) {
			return refuse(http.StatusForbidden, pe.ErrNo, "ticket: %v", err)
		}
		return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "ticket: %v", err)
	}
	ev.KeyID = c.KeyID
	if ids := c.Policy.IDRs(mikey.IDRoleI); len(ids) > 0 {
		ev.Initiator = string(ids[0].Data)
	}
	var responders []string
	for _, r := range c.Policy.IDRs(mikey.IDRoleR) {
		responders = append(responders, string(r.Data))
	}
	ev.Responders = responders
	now := s.now()
	if err := c.Valid(now); err != nil {
		return refuse(http.StatusForbidden, mikey.ErrInvalidTPpar, "%v", err)
	}
	if !slices.Contains(responders, ev.Responder) {
		return refuse(http.StatusForbidden, mikey.ErrInvalidID, "IDRr %q is not a responder the ticket names", ev.Responder)
	}
	dec := s.pol.DecideResolve(policy.ResolveRequest{
		Resolver:  policy.Subject{IMPI: user.IMPI, IMPUs: user.IMPUs, Groups: user.Groups},
		Requester: ev.Initiator, Responders: responders,
	})
	audit := dec.Audit()
	ev.Policy = &audit
	if !dec.Allowed {
		return refuse(http.StatusForbidden, mikey.ErrInvalidID, "policy: %s", dec.Reason)
	}
	forking := c.Policy.Flags.Has(mikey.FlagI)
	if forking {
		// RFC 6043 §4.2.3.4: with I = 1 the KMS verifies Vr of the Initiator Data with MPKr.
		if _, err := mikey.VerifyInitiatorData(ri.Ticket, c.MPKr); err != nil {
			var pe *mikey.ProtocolError
			if errors.As(err, &pe) {
				return refuse(http.StatusForbidden, pe.ErrNo, "Initiator Data: %v", err)
			}
			return refuse(http.StatusForbidden, mikey.ErrAuthFailure, "Initiator Data: %v", err)
		}
	}
	expires := now.Add(s.cfg.MaxValidity)
	if tre := c.Policy.TR(mikey.TSRoleE); tre != nil {
		if t, err := tre.Time(); err == nil {
			expires = t.Add(s.cfg.Skew)
		}
	}
	tid := ticketID(ri.Ticket)
	if !c.Policy.Flags.Has(mikey.FlagJ) && forking {
		// Without J the ticket serves one session (RFC 6043 §5.3). With I the Initiator Data
		// (Vi, Vr of one TRANSFER_INIT) names the session: every device of a forked call resolves
		// with the same Initiator Data, a reuse brings new Initiator Data.
		sess := sha256.Sum256(ri.Ticket.InitiatorData)
		seen, err := s.st.CheckAndRecord(ctx, "ticket-session:"+string(tid), sess[:], expires)
		if err != nil {
			return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "ticket sessions: %v", err)
		}
		if !seen {
			n, err := s.st.IncrementTicketUse(ctx, append(tid, 's'), expires)
			if err != nil {
				return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "ticket sessions: %v", err)
			}
			if n > 1 {
				return refuse(http.StatusForbidden, mikey.ErrInvalidTICKET, "ticket without reuse (J = 0) used for a second session")
			}
		}
	}
	if c.Policy.Flags.Has(mikey.FlagJ) {
		// The use count of a reusable ticket (store: "ticket use counts, for tickets with the reuse
		// flag J"), for the audit record; a ticket without J is one session, checked above.
		uses, err := s.st.IncrementTicketUse(ctx, tid, expires)
		if err != nil {
			return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "ticket uses: %v", err)
		}
		ev.Uses = uses
	}
	t, err := mikey.NewTNTPUTC(now)
	if err != nil {
		return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "T: %v", err)
	}
	p := mikey.ResolveRespParams{Init: ri, T: t, IDRkms: s.idrKMS, Keys: c.TicketKeys(), EncrAlg: s.cfg.EncrAlg, Rand: s.rnd}
	if forking {
		p.IDRr = ri.IDRr
	}
	resp, _, err := mikey.BuildResolveResp(p, zk.Key)
	if err != nil {
		return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "RESOLVE_RESP: %v", err)
	}
	ev.Granted, ev.Status = true, http.StatusOK
	return reply{status: http.StatusOK, body: resp.Raw, ev: ev}
}

// ticketID names a ticket in the use counts: a hash of its Ticket Data, which holds its RAND and
// MAC (RFC 6043 A.1), so two tickets never share it.
func ticketID(t *mikey.TICKET) []byte {
	h := sha256.Sum256(t.TicketData)
	return []byte(fmt.Sprintf("%x", h[:16]))
}
