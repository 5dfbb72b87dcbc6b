package mikey

import (
	"fmt"
	"io"
)

// Ticket Resolve exchange, PSK variant (RFC 6043 §4.2.3):
//
//	RESOLVE_INIT_PSK = HDR, T, RANDRr, [IDRr], [IDRkms], TICKET, [IDRpsk], V
//	RESOLVE_RESP     = HDR, T, [IDRkms], KEMAC, [IDRr], [RANDRkms], V
//
// Both are protected with keys from the Responder's PSK with the RFC 6043 §5.1.2 labels, RANDRr
// only (the Resolve exchange has no RANDRi).

// ResolveInitParams are the inputs of a RESOLVE_INIT_PSK (RFC 6043 §4.2.3.1, §4.2.3.2).
type ResolveInitParams struct {
	PRF    PRFFunc // HDR PRF func: the message keys
	CSBID  uint32  // 0: drawn from Rand (assigned as in RFC 3830, §4.2.3.1)
	T      *T
	RANDRr []byte // nil: DefaultRANDLen bytes from Rand
	IDRr   *IDR   // SHOULD be included: the Responder
	IDRkms *IDR
	IDRpsk *IDR    // names the PSK (for 3GPP the Responder's B-TID)
	Ticket *TICKET // as received in TRANSFER_INIT, Initiator Data included
	MACAlg MACAlg
	Rand   io.Reader
}

// BuildResolveInitPSK builds and protects a RESOLVE_INIT_PSK: HDR with V = 1, #CS = 0 and the
// Empty map; V MAC over RESOLVE_INIT || Identity_r || Identity_kms (Table 5.2).
func BuildResolveInitPSK(p ResolveInitParams, psk []byte) (*Message, MessageKeys, error) {
	var keys MessageKeys
	if p.Ticket == nil {
		return nil, keys, fmt.Errorf("mikey: RESOLVE_INIT_PSK: no TICKET")
	}
	if err := p.Ticket.Policy.Flags.Validate(); err != nil {
		return nil, keys, fmt.Errorf("mikey: RESOLVE_INIT_PSK: %w", err)
	}
	if err := checkIDRs(idrRole{p.IDRr, IDRoleR, "IDRr"}, idrRole{p.IDRkms, IDRoleKMS, "IDRkms"},
		idrRole{p.IDRpsk, IDRolePSK, "IDRpsk"}); err != nil {
		return nil, keys, err
	}
	v, err := newV(p.MACAlg)
	if err != nil {
		return nil, keys, err
	}
	f, err := newInitFresh(p.T, p.CSBID, p.RANDRr, p.Rand, "RANDRr")
	if err != nil {
		return nil, keys, err
	}
	t, csb, randRr := f.T, f.CSB, f.RAND
	label, err := TicketMessageLabel(csb, DirInitial, nil, randRr)
	if err != nil {
		return nil, keys, err
	}
	if keys, err = DeriveMessageKeys(p.PRF, psk, label, EncrNULL, p.MACAlg); err != nil {
		return nil, keys, err
	}
	m := &Message{HDR: HDR{Version: Version, DataType: DataTypeResolveInitPSK, V: true, PRF: p.PRF,
		CSBID: csb, CSIDMapType: CSIDMapEmpty}}
	m.Payloads = append(m.Payloads, t, &RANDR{Role: RANDRoleR, Data: randRr})
	m.Payloads = appendIDR(m.Payloads, p.IDRr)
	m.Payloads = appendIDR(m.Payloads, p.IDRkms)
	m.Payloads = append(m.Payloads, p.Ticket)
	m.Payloads = appendIDR(m.Payloads, p.IDRpsk)
	m.Payloads = append(m.Payloads, v)
	if _, err := sealV(m, false, v, keys.Auth, idData(p.IDRr), idData(p.IDRkms)); err != nil {
		return nil, keys, fmt.Errorf("mikey: RESOLVE_INIT_PSK: %w", err)
	}
	return m, keys, nil
}

// ResolveInit is a verified RESOLVE_INIT_PSK.
type ResolveInit struct {
	HDR     HDR
	T       *T
	RANDRr  []byte
	IDRr    *IDR
	IDRkms  *IDR
	IDRpsk  *IDR
	Ticket  *TICKET     // to open (base ticket: baseticket.go) and, with I = 1, VerifyInitiatorData
	MsgKeys MessageKeys // keys of this message (auth key for an Error reply)
	Raw     []byte      // RESOLVE_RESP's MAC covers it
}

func (r *ResolveInit) String() string {
	return fmt.Sprintf("ResolveInit{CSB ID %#x, ticket type %d flags %v, keys redacted}", r.HDR.CSBID,
		r.Ticket.Policy.TicketType, r.Ticket.Policy.Flags)
}

// VerifyResolveInitPSK verifies a RESOLVE_INIT_PSK at the KMS with the Responder's PSK (named by
// m.IDR(IDRolePSK) or found otherwise): data type, mandatory payloads, HDR rules (#CS 0, Empty map,
// no SP), the V MAC over RESOLVE_INIT || Identity_r || Identity_kms, then the ticket flag
// implications. The remaining steps of RFC 6043 §4.2.3.4 are the KMS's: ticket integrity (for the
// base ticket, its V with the TPK), authorisation of the Responder, and with I = 1
// VerifyInitiatorData with the ticket's MPKr. fresh (optional) gets IDRpsk (else IDRr) and RANDRr. Failures after the
// MAC verified also return the result (its Keys protect the Error reply).
func VerifyResolveInitPSK(m *Message, psk []byte, fresh ...Freshness) (*ResolveInit, error) {
	p, pe := collectTimed(m, DataTypeResolveInitPSK)
	if pe != nil {
		return nil, pe
	}
	if p.randRr == nil || p.ticket == nil {
		return nil, protoErr(ErrUnspecified, "RESOLVE_INIT_PSK without RANDRr or TICKET")
	}
	if pe := checkInitHDR(m, p); pe != nil {
		return nil, pe
	}
	v, ok := lastPayload(m).(*V)
	if !ok {
		return nil, protoErr(ErrAuthFailure, "RESOLVE_INIT_PSK: last payload is not V")
	}
	if pe := checkMACAlg(v.MACAlg, "V"); pe != nil {
		return nil, pe
	}
	r := &ResolveInit{HDR: m.HDR, T: p.t, RANDRr: p.randRr.Data, IDRr: p.idRr, IDRkms: p.idRkms,
		IDRpsk: p.idRpsk, Ticket: p.ticket, Raw: m.Raw}
	label, err := TicketMessageLabel(m.HDR.CSBID, DirInitial, nil, r.RANDRr)
	if err != nil {
		return nil, protoErr(ErrUnspecified, "%v", err)
	}
	if r.MsgKeys, err = DeriveMessageKeys(m.HDR.PRF, psk, label, EncrNULL, v.MACAlg); err != nil {
		return nil, protoErr(ErrUnspecified, "message keys: %v", err)
	}
	if pe := verifyFinalV(m, false, r.MsgKeys.Auth, idData(r.IDRr), idData(r.IDRkms)); pe != nil {
		return nil, pe
	}
	if err := checkFresh(fresh, r.T, senderID(r.IDRpsk, r.IDRr), m.HDR.CSBID, r.RANDRr); err != nil {
		return r, err
	}
	if pe := checkTicketFlags(&r.Ticket.Policy, "TICKET policy"); pe != nil {
		return r, pe
	}
	return r, nil
}

// ResolveRespParams are the inputs of a RESOLVE_RESP (RFC 6043 §4.2.3.5).
type ResolveRespParams struct {
	Init   *ResolveInit // the verified RESOLVE_INIT_PSK
	T      *T           // fresh (NTP types) or the request's COUNTER value
	IDRkms *IDR
	// Keys are the keys encoded in the ticket, not forked: MPKi, MPKr (with I = 1) and the session
	// keys. With I = 1 BuildResolveResp forks MPKr and the TGKs for IDRr and RANDRkms (§5.1.1).
	Keys     TicketKeys
	IDRr     *IDR   // the identity that answered; required with forking (it is the modifier)
	RANDRkms []byte // with forking: nil draws DefaultRANDLen bytes from Rand
	EncrAlg  EncrAlg
	MACAlg   MACAlg // zero (NULL) takes the request's
	Rand     io.Reader
}

// BuildResolveResp builds and protects a RESOLVE_RESP at the KMS: HDR copied from the request with
// V = 0; KEMAC = E(encr_key, MPKi || [MPKr'] || {TEK|TGK'|GTGK}) with the NULL MAC and keys from the
// PSK with the response label; V MAC over RESOLVE_RESP || RESOLVE_INIT. With I = 1 the keys are
// forked here with the Ticket Policy's PRF and IDRr and RANDRkms are sent as the modifier.
func BuildResolveResp(p ResolveRespParams, psk []byte) (*Message, MessageKeys, error) {
	var keys MessageKeys
	if p.Init == nil || p.Init.Raw == nil {
		return nil, keys, fmt.Errorf("mikey: RESOLVE_RESP: the verified RESOLVE_INIT is needed")
	}
	pol := &p.Init.Ticket.Policy
	if err := checkIDR(p.IDRkms, IDRoleKMS, "IDRkms"); err != nil {
		return nil, keys, err
	}
	if err := checkIDR(p.IDRr, IDRoleR, "IDRr"); err != nil {
		return nil, keys, err
	}
	if err := checkForkingNeedsF(pol.Flags, p.Keys.Keys); err != nil {
		return nil, keys, fmt.Errorf("mikey: RESOLVE_RESP: %w", err)
	}
	forking := pol.Flags.Has(FlagI)
	tk := p.Keys
	randRkms := p.RANDRkms
	var err error
	if forking {
		if p.IDRr == nil {
			return nil, keys, fmt.Errorf("mikey: RESOLVE_RESP: key forking needs IDRr")
		}
		if randRkms, err = orRand(randRkms, p.Rand, "RANDRkms"); err != nil {
			return nil, keys, err
		}
		if tk, err = p.Keys.Fork(pol.PRF, p.IDRr.Data, randRkms); err != nil {
			return nil, keys, fmt.Errorf("mikey: RESOLVE_RESP: %w", err)
		}
	}
	kd, err := tk.keyData(forking)
	if err != nil {
		return nil, keys, err
	}
	t, err := cloneT(p.T)
	if err != nil {
		return nil, keys, err
	}
	ma := p.MACAlg
	if ma == MACNULL {
		ma = p.Init.MsgKeys.MACAlg
	}
	v, err := newV(ma)
	if err != nil {
		return nil, keys, err
	}
	h := p.Init.HDR
	label, err := TicketMessageLabel(h.CSBID, DirResponse, nil, p.Init.RANDRr)
	if err != nil {
		return nil, keys, err
	}
	if keys, err = DeriveMessageKeys(h.PRF, psk, label, p.EncrAlg, ma); err != nil {
		return nil, keys, err
	}
	kemac, err := sealKEMAC(keys, h.CSBID, t, kd)
	if err != nil {
		return nil, keys, fmt.Errorf("mikey: RESOLVE_RESP KEMAC: %w", err)
	}
	m := &Message{HDR: HDR{Version: Version, DataType: DataTypeResolveResp, PRF: h.PRF, CSBID: h.CSBID,
		NumCS: h.NumCS, CSIDMapType: h.CSIDMapType, SRTPIDs: h.SRTPIDs, GenericIDs: h.GenericIDs}}
	m.Payloads = append(m.Payloads, t)
	m.Payloads = appendIDR(m.Payloads, p.IDRkms)
	m.Payloads = append(m.Payloads, kemac)
	m.Payloads = appendIDR(m.Payloads, p.IDRr)
	if len(randRkms) > 0 {
		m.Payloads = append(m.Payloads, &RANDR{Role: RANDRoleKMS, Data: randRkms})
	}
	m.Payloads = append(m.Payloads, v)
	if _, err := sealV(m, false, v, keys.Auth, p.Init.Raw); err != nil {
		return nil, keys, fmt.Errorf("mikey: RESOLVE_RESP: %w", err)
	}
	return m, keys, nil
}

// ResolveResp is a verified RESOLVE_RESP.
type ResolveResp struct {
	HDR    HDR
	T      *T
	IDRkms *IDR
	// IDRr and RANDRkms are the forking modifier; the Responder MUST echo both in TRANSFER_RESP.
	IDRr     *IDR
	RANDRkms []byte
	// Keys: MPKi verifies TRANSFER_INIT; with forking MPKr is MPKr', which protects TRANSFER_RESP,
	// and the TGKs are TGK'.
	Keys    TicketKeys
	MsgKeys MessageKeys
}

func (r *ResolveResp) String() string {
	return fmt.Sprintf("ResolveResp{CSB ID %#x, %v}", r.HDR.CSBID, r.Keys)
}

// VerifyResolveResp verifies a RESOLVE_RESP at the Responder against the RESOLVE_INIT_PSK it sent
// (init, from BuildResolveInitPSK) and its PSK: data type, HDR copied from the request, the V MAC
// over RESOLVE_RESP || RESOLVE_INIT, then the KEMAC (NULL MAC, MPKi first, MPKr' second exactly
// when the ticket's I = 1, an SPI for each session key), and with I = 1 the presence of IDRr and
// RANDRkms. Next the Responder verifies the TRANSFER_INIT with Keys.MPKi (§4.2.3.6). fresh
// (optional) gets IDRkms.
func VerifyResolveResp(m *Message, init *Message, psk []byte, fresh ...Freshness) (*ResolveResp, error) {
	if init == nil || init.Raw == nil || init.TICKET() == nil || init.RANDR(RANDRoleR) == nil {
		return nil, fmt.Errorf("mikey: RESOLVE_RESP: the RESOLVE_INIT sent is needed, with its bytes")
	}
	pol := &init.TICKET().Policy
	p, pe := collectTimed(m, DataTypeResolveResp)
	if pe != nil {
		return nil, pe
	}
	if p.kemac == nil {
		return nil, protoErr(ErrUnspecified, "RESOLVE_RESP without KEMAC")
	}
	if pe := checkRespHDR(m.HDR, init.HDR, true); pe != nil {
		return nil, pe
	}
	v, ok := lastPayload(m).(*V)
	if !ok {
		return nil, protoErr(ErrAuthFailure, "RESOLVE_RESP: last payload is not V")
	}
	if pe := checkMACAlg(v.MACAlg, "V"); pe != nil {
		return nil, pe
	}
	label, err := TicketMessageLabel(m.HDR.CSBID, DirResponse, nil, init.RANDR(RANDRoleR).Data)
	if err != nil {
		return nil, protoErr(ErrUnspecified, "%v", err)
	}
	r := &ResolveResp{HDR: m.HDR, T: p.t, IDRkms: p.idRkms, IDRr: p.idRr, RANDRkms: randrData(p.randRkms)}
	if r.MsgKeys, err = DeriveMessageKeys(m.HDR.PRF, psk, label, EncrNULL, v.MACAlg); err != nil {
		return nil, protoErr(ErrUnspecified, "message keys: %v", err)
	}
	if pe := verifyFinalV(m, false, r.MsgKeys.Auth, init.Raw); pe != nil {
		return nil, pe
	}
	// Authenticated from here on.
	if err := checkFresh(fresh, r.T, idData(r.IDRkms), m.HDR.CSBID); err != nil {
		return r, err
	}
	forking := pol.Flags.Has(FlagI)
	if forking && (r.IDRr == nil || len(r.RANDRkms) == 0) {
		return r, protoErr(ErrInvalidID, "RESOLVE_RESP without the forking modifier IDRr and RANDRkms although I = 1")
	}
	kd, err := openKEMAC(p.kemac, m.HDR.PRF, psk, label, m.HDR.CSBID, p.t, true)
	if err != nil {
		return r, err
	}
	keys, pe := ticketKeysFrom(kd, forking)
	if pe != nil {
		return r, pe
	}
	r.Keys = keys
	return r, nil
}
