package mikey

import (
	"fmt"
	"io"
)

// Ticket Request exchange, PSK variant (RFC 6043 §4.2.1):
//
//	REQUEST_INIT_PSK = HDR, T, RANDRi, [IDRi], [IDRkms], TP, [IDRpsk], V
//	REQUEST_RESP     = HDR, T, [IDRkms], TICKET, KEMAC, V
//
// Both messages are protected with keys derived from the PSK (for 3GPP, Ks_NAF) with the RFC 6043
// §5.1.2 labels: initial (0x01) and response (0x02), RANDRi only.

// RequestInitParams are the inputs of a REQUEST_INIT_PSK (RFC 6043 §4.2.1.1, §4.2.1.2).
type RequestInitParams struct {
	PRF    PRFFunc // HDR PRF func; derives the message keys
	CSBID  uint32  // 0: drawn from Rand (RFC 3830 §6.1: random)
	T      *T      // the timestamp; RFC 3830 §5.2: unique per message
	RANDRi []byte  // nil: DefaultRANDLen bytes from Rand
	IDRi   *IDR    // optional: the Initiator (IMPU)
	IDRkms *IDR    // optional: the KMS
	IDRpsk *IDR    // optional: names the PSK (for 3GPP the B-TID)
	TP     *TP     // the desired Ticket Policy
	MACAlg MACAlg  // V MAC: HMAC-SHA-1-160 or HMAC-SHA-256-256
	Rand   io.Reader
}

// BuildRequestInitPSK builds and protects a REQUEST_INIT_PSK. The HDR has V = 1, #CS = 0 and the
// Empty map (RFC 6043 §4.2.1.1). The desired TP must satisfy the flag implications of §6.10, have
// K = 0, name at least one IDRr, and any desired KEMAC in it must use NULL encryption and NULL MAC
// (§6.10). It returns the
// message (Raw holds the wire bytes; keep it to verify REQUEST_RESP) and the message keys (their
// auth key verifies an Error reply, RFC 6043 §5.4).
func BuildRequestInitPSK(p RequestInitParams, psk []byte) (*Message, MessageKeys, error) {
	var keys MessageKeys
	if p.TP == nil {
		return nil, keys, fmt.Errorf("mikey: REQUEST_INIT_PSK: no TP")
	}
	if err := checkDesiredTP(p.TP); err != nil {
		return nil, keys, fmt.Errorf("mikey: REQUEST_INIT_PSK: %w", err)
	}
	if err := checkIDRs(idrRole{p.IDRi, IDRoleI, "IDRi"}, idrRole{p.IDRkms, IDRoleKMS, "IDRkms"},
		idrRole{p.IDRpsk, IDRolePSK, "IDRpsk"}); err != nil {
		return nil, keys, err
	}
	v, err := newV(p.MACAlg)
	if err != nil {
		return nil, keys, err
	}
	f, err := newInitFresh(p.T, p.CSBID, p.RANDRi, p.Rand, "RANDRi")
	if err != nil {
		return nil, keys, err
	}
	t, csb, randRi := f.T, f.CSB, f.RAND
	label, err := TicketMessageLabel(csb, DirInitial, randRi, nil)
	if err != nil {
		return nil, keys, err
	}
	if keys, err = DeriveMessageKeys(p.PRF, psk, label, EncrNULL, p.MACAlg); err != nil {
		return nil, keys, err
	}
	m := &Message{HDR: HDR{Version: Version, DataType: DataTypeRequestInitPSK, V: true, PRF: p.PRF,
		CSBID: csb, CSIDMapType: CSIDMapEmpty}}
	m.Payloads = append(m.Payloads, t, &RANDR{Role: RANDRoleI, Data: randRi})
	m.Payloads = appendIDR(m.Payloads, p.IDRi)
	m.Payloads = appendIDR(m.Payloads, p.IDRkms)
	m.Payloads = append(m.Payloads, p.TP)
	m.Payloads = appendIDR(m.Payloads, p.IDRpsk)
	m.Payloads = append(m.Payloads, v)
	// RFC 6043 Table 5.2: REQUEST_INIT || Identity_i || Identity_kms.
	if _, err := sealV(m, false, v, keys.Auth, idData(p.IDRi), idData(p.IDRkms)); err != nil {
		return nil, keys, fmt.Errorf("mikey: REQUEST_INIT_PSK: %w", err)
	}
	return m, keys, nil
}

// checkDesiredTP checks a desired Ticket Policy before it is sent: the flag implications of
// RFC 6043 §6.10, K = 0 ("SHALL be set to '0' by the Initiator"), and a desired KEMAC with NULL
// encryption and NULL MAC.
func checkDesiredTP(tp *TP) error {
	if tp.Flags.Has(FlagK) {
		return fmt.Errorf("desired TP has K = 1 (RFC 6043 §6.10: the Initiator sets K to 0)")
	}
	if err := tp.Flags.Validate(); err != nil {
		return err
	}
	if len(tp.IDRs(IDRoleR)) == 0 {
		return fmt.Errorf("desired TP Data names no responder (RFC 6043 §6.10: at least one IDRr)")
	}
	if k := tp.KEMAC(); k != nil && (k.EncrAlg != EncrNULL || k.MACAlg != MACNULL) {
		return fmt.Errorf("desired KEMAC uses encryption %d / MAC %d, want NULL/NULL (RFC 6043 §6.10)", k.EncrAlg, k.MACAlg)
	}
	return nil
}

// RequestInit is a verified REQUEST_INIT_PSK.
type RequestInit struct {
	HDR     HDR
	T       *T
	RANDRi  []byte
	IDRi    *IDR // nil if absent
	IDRkms  *IDR
	IDRpsk  *IDR
	TP      *TP         // the desired Ticket Policy
	MsgKeys MessageKeys // keys of this message: the auth key protects an Error reply (RFC 6043 §5.4)
	Raw     []byte      // the message; REQUEST_RESP's MAC covers it
}

func (r *RequestInit) String() string {
	return fmt.Sprintf("RequestInit{CSB ID %#x, TP %v, keys redacted}", r.HDR.CSBID, r.TP.Flags)
}

// VerifyRequestInitPSK verifies a REQUEST_INIT_PSK at the KMS with the PSK named by its IDRpsk
// (m.IDR(IDRolePSK)) or found otherwise (RFC 6043 §4.2.1.4). It checks the data type, the mandatory
// payloads, the HDR rules (#CS 0, Empty map, no SP), the V MAC over the message, Identity_i and
// Identity_kms (Table 5.2), and then the desired policy's flags (K is ignored, §6.10). Unexpected
// payloads are ignored. fresh (optional) is called with IDRpsk (else IDRi) and RANDRi after the
// MAC verified; without it timestamp freshness and replay (RFC 3830 §5.4) are the caller's. Failures are *ProtocolError with the ErrNo to answer with; a failure found
// after the MAC verified also returns the result, whose Keys can protect the Error reply.
// Authorising the Initiator and granting the policy are the KMS's.
func VerifyRequestInitPSK(m *Message, psk []byte, fresh ...Freshness) (*RequestInit, error) {
	p, pe := collectTimed(m, DataTypeRequestInitPSK)
	if pe != nil {
		return nil, pe
	}
	if p.randRi == nil || p.tp == nil {
		return nil, protoErr(ErrUnspecified, "REQUEST_INIT_PSK without RANDRi or TP")
	}
	if pe := checkInitHDR(m, p); pe != nil {
		return nil, pe
	}
	r := &RequestInit{HDR: m.HDR, T: p.t, RANDRi: p.randRi.Data, IDRi: p.idRi, IDRkms: p.idRkms,
		IDRpsk: p.idRpsk, TP: p.tp, Raw: m.Raw}
	v, ok := lastPayload(m).(*V)
	if !ok {
		return nil, protoErr(ErrAuthFailure, "REQUEST_INIT_PSK: last payload is not V")
	}
	label, err := TicketMessageLabel(m.HDR.CSBID, DirInitial, r.RANDRi, nil)
	if err != nil {
		return nil, protoErr(ErrUnspecified, "%v", err)
	}
	if pe := checkMACAlg(v.MACAlg, "V"); pe != nil {
		return nil, pe
	}
	if r.MsgKeys, err = DeriveMessageKeys(m.HDR.PRF, psk, label, EncrNULL, v.MACAlg); err != nil {
		return nil, protoErr(ErrUnspecified, "message keys: %v", err)
	}
	if pe := verifyFinalV(m, false, r.MsgKeys.Auth, idData(r.IDRi), idData(r.IDRkms)); pe != nil {
		return nil, pe
	}
	// Authenticated from here on.
	if err := checkFresh(fresh, r.T, senderID(r.IDRpsk, r.IDRi), m.HDR.CSBID, r.RANDRi); err != nil {
		return r, err
	}
	desired := *r.TP
	desired.Flags &^= FlagK // "ignored by the KMS"
	if pe := checkTicketFlags(&desired, "desired TP"); pe != nil {
		return r, pe
	}
	return r, nil
}

// RequestRespParams are the inputs of a REQUEST_RESP (RFC 6043 §4.2.1.5).
type RequestRespParams struct {
	Init    *RequestInit // the verified REQUEST_INIT_PSK
	T       *T           // a fresh timestamp (NTP types), or the request's COUNTER value
	IDRkms  *IDR         // optional
	Ticket  *TICKET      // the granted policy and the Ticket Data; no Initiator Data
	Keys    TicketKeys   // MPKi, MPKr (exactly when the granted policy has I) and session keys
	EncrAlg EncrAlg      // KEMAC encryption (AES-CM-128, AES-CM-256 or AES-KW-128)
	MACAlg  MACAlg       // V MAC; zero (NULL) takes the request's
}

// BuildRequestResp builds and protects a REQUEST_RESP at the KMS. The HDR copies version, PRF
// func, CSB ID, #CS and map type from the request and has V = 0. The KEMAC is
// E(encr_key, MPKi || [MPKr] || {TEK|TGK|GTGK}) with the NULL MAC, keys derived from the PSK with
// the response label; its AES-CM IV takes this message's T (digest §4.4). The V MAC covers
// REQUEST_RESP || REQUEST_INIT. The granted policy must satisfy §6.10: the flag implications, at
// least one IDRr and no KEMAC in its TP Data, F = 1 when I = 1 and a TGK is encoded, and its TICKET no Initiator Data.
func BuildRequestResp(p RequestRespParams, psk []byte) (*Message, MessageKeys, error) {
	var keys MessageKeys
	if p.Init == nil || p.Ticket == nil {
		return nil, keys, fmt.Errorf("mikey: REQUEST_RESP: no request or no ticket")
	}
	if err := checkGrantedTicket(p.Ticket, p.Keys.Keys); err != nil {
		return nil, keys, fmt.Errorf("mikey: REQUEST_RESP: %w", err)
	}
	if err := checkIDR(p.IDRkms, IDRoleKMS, "IDRkms"); err != nil {
		return nil, keys, err
	}
	kd, err := p.Keys.keyData(p.Ticket.Policy.Flags.Has(FlagI))
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
	label, err := TicketMessageLabel(h.CSBID, DirResponse, p.Init.RANDRi, nil)
	if err != nil {
		return nil, keys, err
	}
	if keys, err = DeriveMessageKeys(h.PRF, psk, label, p.EncrAlg, ma); err != nil {
		return nil, keys, err
	}
	kemac, err := sealKEMAC(keys, h.CSBID, t, kd)
	if err != nil {
		return nil, keys, fmt.Errorf("mikey: REQUEST_RESP KEMAC: %w", err)
	}
	m := &Message{HDR: HDR{Version: Version, DataType: DataTypeRequestResp, PRF: h.PRF, CSBID: h.CSBID,
		NumCS: h.NumCS, CSIDMapType: h.CSIDMapType, SRTPIDs: h.SRTPIDs, GenericIDs: h.GenericIDs}}
	m.Payloads = append(m.Payloads, t)
	m.Payloads = appendIDR(m.Payloads, p.IDRkms)
	m.Payloads = append(m.Payloads, p.Ticket, kemac, v)
	if _, err := sealV(m, false, v, keys.Auth, p.Init.Raw); err != nil {
		return nil, keys, fmt.Errorf("mikey: REQUEST_RESP: %w", err)
	}
	return m, keys, nil
}

// checkGrantedTicket checks a granted TICKET against RFC 6043 §6.10: flag implications, no KEMAC in
// the granted TP Data, F = 1 when I = 1 and a TGK is encoded in the ticket, and no Initiator Data
// (only the Initiator inserts it, in TRANSFER_INIT).
func checkGrantedTicket(tk *TICKET, sessionKeys []KeyData) error {
	if err := tk.Policy.Flags.Validate(); err != nil {
		return err
	}
	if len(tk.Policy.IDRs(IDRoleR)) == 0 {
		return fmt.Errorf("granted TP Data names no responder (RFC 6043 §6.10: at least one IDRr)")
	}
	if tk.Policy.KEMAC() != nil {
		return fmt.Errorf("granted TP Data carries a KEMAC (RFC 6043 §6.10: SHALL NOT)")
	}
	if len(tk.InitiatorData) > 0 {
		return fmt.Errorf("granted TICKET carries Initiator Data")
	}
	return checkForkingNeedsF(tk.Policy.Flags, sessionKeys)
}

// checkForkingNeedsF is the last rule of RFC 6043 §6.10: "The F flag SHALL be set to '1' when the I
// flag (key forking) is set to '1' and a TGK is encoded in the ticket."
func checkForkingNeedsF(f TicketFlags, sessionKeys []KeyData) error {
	if !f.Has(FlagI) || f.Has(FlagF) {
		return nil
	}
	for _, k := range sessionKeys {
		if k.Type == KeyTGK || k.Type == KeyTGKSalt {
			return fmt.Errorf("ticket flags %v: I = 1 with a TGK in the ticket requires F = 1 (RFC 6043 §6.10)", f)
		}
	}
	return nil
}

// RequestResp is a verified REQUEST_RESP.
type RequestResp struct {
	HDR     HDR
	T       *T
	IDRkms  *IDR
	Ticket  *TICKET     // granted policy and Ticket Data, to carry in TRANSFER_INIT
	Keys    TicketKeys  // MPKi, [MPKr], session keys
	MsgKeys MessageKeys // keys of this message (auth key for an Error reply)
}

func (r *RequestResp) String() string {
	return fmt.Sprintf("RequestResp{CSB ID %#x, ticket type %d flags %v, %v}", r.HDR.CSBID,
		r.Ticket.Policy.TicketType, r.Ticket.Policy.Flags, r.Keys)
}

// VerifyRequestResp verifies a REQUEST_RESP at the Initiator against the REQUEST_INIT_PSK it sent
// (init, as returned by BuildRequestInitPSK: its Raw is part of the MAC input) and the PSK: data
// type, mandatory payloads, HDR copied from the request, the V MAC over REQUEST_RESP ||
// REQUEST_INIT, then the KEMAC (NULL MAC, MPKi first, MPKr second exactly when I = 1, an SPI for
// each session key) and the granted policy's flag rules (§6.10). Whether the granted policy is
// acceptable is the caller's decision (RFC 6043 §4.2.1.6). fresh (optional) gets IDRkms.
func VerifyRequestResp(m *Message, init *Message, psk []byte, fresh ...Freshness) (*RequestResp, error) {
	if init == nil || init.Raw == nil || init.RANDR(RANDRoleI) == nil {
		return nil, fmt.Errorf("mikey: REQUEST_RESP: the REQUEST_INIT sent is needed, with its bytes and RANDRi")
	}
	p, pe := collectTimed(m, DataTypeRequestResp)
	if pe != nil {
		return nil, pe
	}
	if p.ticket == nil || p.kemac == nil {
		return nil, protoErr(ErrUnspecified, "REQUEST_RESP without TICKET or KEMAC")
	}
	if pe := checkRespHDR(m.HDR, init.HDR, true); pe != nil {
		return nil, pe
	}
	v, ok := lastPayload(m).(*V)
	if !ok {
		return nil, protoErr(ErrAuthFailure, "REQUEST_RESP: last payload is not V")
	}
	if pe := checkMACAlg(v.MACAlg, "V"); pe != nil {
		return nil, pe
	}
	label, err := TicketMessageLabel(m.HDR.CSBID, DirResponse, init.RANDR(RANDRoleI).Data, nil)
	if err != nil {
		return nil, protoErr(ErrUnspecified, "%v", err)
	}
	r := &RequestResp{HDR: m.HDR, T: p.t, IDRkms: p.idRkms, Ticket: p.ticket}
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
	kd, err := openKEMAC(p.kemac, m.HDR.PRF, psk, label, m.HDR.CSBID, p.t, true)
	if err != nil {
		return r, err
	}
	if pe := checkTicketFlags(&r.Ticket.Policy, "granted TP"); pe != nil {
		return r, pe
	}
	forking := r.Ticket.Policy.Flags.Has(FlagI)
	keys, pe := ticketKeysFrom(kd, forking)
	if pe != nil {
		return r, pe
	}
	r.Keys = keys
	if err := checkGrantedTicket(r.Ticket, keys.Keys); err != nil {
		return r, &ProtocolError{ErrNo: ErrInvalidTPpar, Err: err}
	}
	return r, nil
}
