package kms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/imsphone/imsphone/keymgmt/kms/policy"
	"github.com/imsphone/imsphone/keymgmt/kms/store"
	"github.com/imsphone/imsphone/keymgmt/mikey"
)

// maxResponders bounds the IDRr a request may name, and maxSessionKeys the keys it may ask for.
const (
	maxResponders  = 16
	maxSessionKeys = 4
	defaultTGKLen  = 16
	spiLen         = 4
)

// handleRequest is the KMS side of the Ticket Request exchange (RFC 6043 §4.2.1.4, §5.1):
// verify the MAC with Ks_NAF, refuse stale or replayed messages, bind IDRi to the subscriber,
// authorise with the policy, grant a Ticket Policy (setting K when it differs from the desired
// one), issue a MIKEY base ticket (Appendix A) and answer REQUEST_RESP.
func (s *Server) handleRequest(ctx context.Context, m *mikey.Message, ev AuditEvent) reply {
	zk, rp := s.psk(ctx, m, &ev)
	if rp != nil {
		return *rp
	}
	ri, err := mikey.VerifyRequestInitPSK(m, zk.Key, s.freshness(ctx, m.HDR.DataType))
	if err != nil {
		var keys *mikey.MessageKeys
		if ri != nil {
			keys = &ri.MsgKeys
		}
		return s.verifyFailed(ev, m, err, keys)
	}
	// Authenticated from here on: every refusal is MAC'd.
	refuse := func(status int, n mikey.ErrNo, format string, args ...any) reply {
		ev.Reason = fmt.Sprintf(format, args...)
		return s.fail(ev, m, status, n, ri.MsgKeys.Auth, ri.MsgKeys.MACAlg)
	}
	if ri.IDRi == nil || len(ri.IDRi.Data) == 0 {
		return refuse(http.StatusForbidden, mikey.ErrInvalidID, "no IDRi: the KMS binds the Initiator's IMPU to the B-TID")
	}
	ev.Initiator = string(ri.IDRi.Data)
	desired := ri.TP
	idrr := desired.IDRs(mikey.IDRoleR)
	if len(idrr) > maxResponders {
		return refuse(http.StatusBadRequest, mikey.ErrInvalidTPpar, "%d responders, at most %d", len(idrr), maxResponders)
	}
	for _, r := range idrr {
		ev.Responders = append(ev.Responders, string(r.Data))
	}
	user, err := s.user(ctx, zk.IMPI)
	if err != nil {
		return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "user store: %v", err)
	}
	if !slices.Contains(user.IMPUs, ev.Initiator) {
		return refuse(http.StatusForbidden, mikey.ErrInvalidID, "IDRi %q is not a public identity of %q", ev.Initiator, zk.IMPI)
	}
	if desired.TicketType != mikey.TicketMIKEYBase || desired.Subtype != mikey.BaseTicketSubtype || desired.TicketVersion != 1 {
		return refuse(http.StatusBadRequest, mikey.ErrInvalidTICKET, "ticket type %d/%d/%d: only the MIKEY base ticket (1/1/1) is issued",
			desired.TicketType, desired.Subtype, desired.TicketVersion)
	}
	if desired.PRF != mikey.PRFMIKEY1 && desired.PRF != mikey.PRFHMACSHA256 {
		return refuse(http.StatusBadRequest, mikey.ErrInvalidTPpar, "TP PRF %d not supported", desired.PRF)
	}
	now := s.now()
	reqValidity, err := requestedValidity(desired, now)
	if err != nil {
		return refuse(http.StatusBadRequest, mikey.ErrInvalidTPpar, "%v", err)
	}
	f := desired.Flags &^ mikey.FlagK
	dec := s.pol.Decide(policy.TicketRequest{
		Requester: policy.Subject{IMPI: user.IMPI, IMPUs: user.IMPUs, Groups: user.Groups},
		Initiator: ev.Initiator, Responders: ev.Responders, Validity: reqValidity,
		Features: policy.Features{Reuse: f.Has(mikey.FlagJ), Forking: f.Has(mikey.FlagI),
			InitiatorKeys: f.Has(mikey.FlagL), ResponderKeys: f.Has(mikey.FlagM)},
	})
	audit := dec.Audit()
	ev.Policy = &audit
	if !dec.Allowed {
		return refuse(http.StatusForbidden, mikey.ErrInvalidID, "policy: %s", dec.Reason)
	}
	validity := min(dec.Validity, s.cfg.MaxValidity)
	if validity <= 0 {
		validity = s.cfg.MaxValidity
	}
	// RFC 6043 §6.10 flags. Mode 1 (the IMS case, digest §1): the KMS generates the ticket (D), the
	// Responder must resolve it (E) and answer (F); RANDRi enters the TGK derivation (H). G follows
	// the request; I, J, L, M what the policy grants; N and O (generic parties) are not granted.
	granted := mikey.FlagD | mikey.FlagE | mikey.FlagF | mikey.FlagH | f&mikey.FlagG
	for _, g := range []struct {
		on   bool
		flag mikey.TicketFlags
	}{{dec.Features.Reuse, mikey.FlagJ}, {dec.Features.Forking, mikey.FlagI},
		{dec.Features.InitiatorKeys, mikey.FlagL}, {dec.Features.ResponderKeys, mikey.FlagM}} {
		if g.on {
			granted |= g.flag
		}
	}
	changed := dec.Changed || granted != f || (reqValidity > 0 && validity < reqValidity)
	if changed {
		granted |= mikey.FlagK
	}
	sessionKeys, kchanged, err := s.sessionKeys(desired)
	if err != nil {
		return refuse(http.StatusBadRequest, mikey.ErrInvalidTPpar, "desired KEMAC: %v", err)
	}
	if kchanged {
		granted |= mikey.FlagK
	}
	trs, err := mikey.TimeToNTP64(now)
	if err != nil {
		return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "TRs: %v", err)
	}
	tre, err := mikey.TimeToNTP64(now.Add(validity))
	if err != nil {
		return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "TRe: %v", err)
	}
	// TP Data order (RFC 6043 §6.10): [IDRkms] [IDRi] [TRs] [TRe] [TRr] [KEMAC] {IDRapp} (IDRr).
	data := []mikey.Payload{s.idrKMS, &mikey.IDR{Role: mikey.IDRoleI, Type: ri.IDRi.Type, Data: ri.IDRi.Data},
		&mikey.TR{Role: mikey.TSRoleS, TSType: mikey.TSNTPUTC, Value: trs},
		&mikey.TR{Role: mikey.TSRoleE, TSType: mikey.TSNTPUTC, Value: tre}}
	for _, r := range idrr {
		data = append(data, &mikey.IDR{Role: mikey.IDRoleR, Type: r.Type, Data: r.Data})
	}
	tp := mikey.TP{TicketType: mikey.TicketMIKEYBase, Subtype: mikey.BaseTicketSubtype, TicketVersion: 1,
		PRF: desired.PRF, Flags: granted, Data: data}
	keyID, tpk, err := s.keys.forIssue(ctx, now)
	if err != nil {
		return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "ticket key: %v", err)
	}
	tIssue, err := mikey.NewTNTPUTC(now)
	if err != nil {
		return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "T: %v", err)
	}
	ticket, err := mikey.CreateBaseTicket(mikey.BaseTicketParams{Policy: tp, KeyID: keyID, TPK: tpk, T: tIssue,
		Rand: s.rnd, Keys: sessionKeys, EncrAlg: s.cfg.EncrAlg})
	if err != nil {
		return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "create ticket: %v", err)
	}
	// The MPK split (RFC 6043 A.2.2) happens inside the ticket; opening it with the same TPK
	// recovers MPKi/MPKr and checks the ticket we are about to hand out.
	contents, err := mikey.OpenBaseTicket(ctx, ticket, func(context.Context, uint32) ([]byte, error) { return tpk, nil })
	if err != nil {
		return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "open issued ticket: %v", err)
	}
	resp, _, err := mikey.BuildRequestResp(mikey.RequestRespParams{Init: ri, T: tIssue, IDRkms: s.idrKMS,
		Ticket: ticket, Keys: contents.TicketKeys(), EncrAlg: s.cfg.EncrAlg}, zk.Key)
	if err != nil {
		return refuse(http.StatusInternalServerError, mikey.ErrUnspecified, "REQUEST_RESP: %v", err)
	}
	ev.Granted, ev.Status, ev.KeyID = true, http.StatusOK, keyID
	return reply{status: http.StatusOK, body: resp.Raw, ev: ev}
}

// requestedValidity is TRe − max(TRs, now) of the desired policy, 0 when it names no TRe.
func requestedValidity(tp *mikey.TP, now time.Time) (time.Duration, error) {
	tre := tp.TR(mikey.TSRoleE)
	if tre == nil {
		return 0, nil
	}
	end, err := tre.Time()
	if err != nil {
		return 0, fmt.Errorf("TRe: %w", err)
	}
	start := now
	if trs := tp.TR(mikey.TSRoleS); trs != nil {
		if st, err := trs.Time(); err == nil && st.After(now) {
			start = st
		}
	}
	if !end.After(start) {
		return 0, fmt.Errorf("TRe %s is not after the start of validity %s", end.UTC().Format(time.RFC3339), start.UTC().Format(time.RFC3339))
	}
	return end.Sub(start), nil
}

// sessionKeys generates the session keys of a ticket: one per key the desired KEMAC asks for
// (same type and length, the desired SPI or a fresh one), or one TGK when it asks for none
// (RFC 6043 §4.2.1.4: "If no KEMAC is included in the TP payload, the KMS SHOULD default to
// one TGK"). changed reports that the desired keys were not all granted (K flag).
func (s *Server) sessionKeys(desired *mikey.TP) (keys []mikey.KeyData, changed bool, err error) {
	var want []mikey.KeyData
	if k := desired.KEMAC(); k != nil {
		if want, err = mikey.ParseKeyDataList(k.EncrData); err != nil {
			return nil, false, err
		}
	}
	if len(want) == 0 {
		want = []mikey.KeyData{{Type: mikey.KeyTGK, Key: make([]byte, defaultTGKLen)}}
	}
	if len(want) > maxSessionKeys {
		want, changed = want[:maxSessionKeys], true
	}
	for _, w := range want {
		switch w.Type {
		case mikey.KeyTGK, mikey.KeyTGKSalt, mikey.KeyTEK, mikey.KeyTEKSalt, mikey.KeyGTGK, mikey.KeyGTGKSalt:
		default:
			return nil, false, fmt.Errorf("key type %d is not a session key", w.Type)
		}
		n := len(w.Key)
		if n != 16 && n != 32 {
			n, changed = defaultTGKLen, true
		}
		k := mikey.KeyData{Type: w.Type, KV: mikey.KVSPI}
		if k.Key, err = s.random(n); err != nil {
			return nil, false, err
		}
		if w.Type == mikey.KeyTGKSalt || w.Type == mikey.KeyTEKSalt || w.Type == mikey.KeyGTGKSalt {
			sl := len(w.Salt)
			if sl == 0 || sl > 32 {
				sl = 14
			}
			if k.Salt, err = s.random(sl); err != nil {
				return nil, false, err
			}
		}
		if len(w.SPI) > 0 && len(w.SPI) <= 16 {
			k.SPI = append([]byte(nil), w.SPI...)
		} else if k.SPI, err = s.random(spiLen); err != nil {
			return nil, false, err
		}
		keys = append(keys, k)
	}
	return keys, changed, nil
}

func (s *Server) random(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rnd, b); err != nil {
		return nil, fmt.Errorf("random: %w", err)
	}
	return b, nil
}

// user returns the subscriber of an IMPI from the user store; an unknown IMPI owns nothing.
func (s *Server) user(ctx context.Context, impi string) (store.User, error) {
	u, err := s.st.User(ctx, impi)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{IMPI: impi}, nil
	}
	return u, err
}
