package mikey

import (
	"fmt"
	"io"
)

// Ticket Transfer exchange (RFC 6043 §4.2.2):
//
//	TRANSFER_INIT = HDR, T, RANDRi, [IDRi], [IDRr], {SP}, TICKET, [KEMAC], V
//	TRANSFER_RESP = HDR, T, [RANDRr], [IDRr], [RANDRkms], {SP}, [KEMAC], V
//
// TRANSFER_INIT is protected with keys from MPKi (initial label, RANDRi); TRANSFER_RESP with keys
// from MPKi, or MPKr' with key forking (response label, RANDRi and, with G, RANDRr). CSB updates
// (RFC 6043 §5.2: TRANSFER_INIT without RANDRi and TICKET) are not built or verified here.

// TransferInitParams are the inputs of a TRANSFER_INIT (RFC 6043 §4.2.2.1).
type TransferInitParams struct {
	PRF    PRFFunc // HDR PRF func: message keys and TGK → TEK derivation (§5.1.3)
	CSBID  uint32  // 0: drawn from Rand; a reused ticket needs a new one (§5.3)
	T      *T
	RANDRi []byte // nil: DefaultRANDLen bytes from Rand
	IDRi   *IDR   // SHOULD be included
	IDRr   *IDR   // SHOULD be included
	// CryptoSessions is the GENERIC-ID map (§6.1.1); SRTP-ID SHALL NOT be used. Session Data and SPI
	// may be left empty for the Responder to fill in.
	CryptoSessions []GenericIDEntry
	SPs            []*SP
	Ticket         *TICKET    // from REQUEST_RESP; Initiator Data is added here when I = 1
	Keys           TicketKeys // from REQUEST_RESP: MPKi protects the message, MPKr keys Vr (I = 1)
	// KEMACKeys are Initiator-supplied session keys (§8), allowed only when the policy has L = 1
	// (§6.10; the wording of §4.2.2.1 is inverted, digest §10). Encrypted with keys from MPKi.
	KEMACKeys []KeyData
	EncrAlg   EncrAlg // for KEMACKeys
	MACAlg    MACAlg
	Rand      io.Reader
}

// BuildTransferInit builds and protects a TRANSFER_INIT. The HDR has V = F (§4.2.2.1) and the
// GENERIC-ID map. The V MAC covers TRANSFER_INIT || Identity_i || Identity_r without the TICKET's
// Initiator Data length and Initiator Data (Table 5.2). With key forking (I = 1) the Initiator
// Data is then set to First Payload, Vi (= V), Vr, Vr keyed from MPKr with the Ticket Policy's PRF
// (§6.10). The ticket passed in is not modified.
func BuildTransferInit(p TransferInitParams) (*Message, MessageKeys, error) {
	var keys MessageKeys
	if p.Ticket == nil {
		return nil, keys, fmt.Errorf("mikey: TRANSFER_INIT: no TICKET")
	}
	pol := &p.Ticket.Policy
	if err := pol.Flags.Validate(); err != nil {
		return nil, keys, fmt.Errorf("mikey: TRANSFER_INIT: %w", err)
	}
	forking := pol.Flags.Has(FlagI)
	if forking && len(p.Keys.MPKr) == 0 {
		return nil, keys, fmt.Errorf("mikey: TRANSFER_INIT: key forking (I) needs MPKr for Vr")
	}
	if len(p.KEMACKeys) > 0 && !pol.Flags.Has(FlagL) {
		return nil, keys, fmt.Errorf("mikey: TRANSFER_INIT: Ticket Policy has L = 0, the Initiator SHALL NOT supply keys")
	}
	if err := checkSessionKeys(p.KEMACKeys, "mikey: TRANSFER_INIT KEMAC"); err != nil {
		return nil, keys, err
	}
	if err := checkIDRs(idrRole{p.IDRi, IDRoleI, "IDRi"}, idrRole{p.IDRr, IDRoleR, "IDRr"}); err != nil {
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
	ea := EncrNULL
	if len(p.KEMACKeys) > 0 {
		ea = p.EncrAlg
	}
	if keys, err = DeriveMessageKeys(p.PRF, p.Keys.MPKi, label, ea, p.MACAlg); err != nil {
		return nil, keys, err
	}
	if len(p.CryptoSessions) > 255 {
		return nil, keys, fmt.Errorf("mikey: TRANSFER_INIT: %d crypto sessions, at most 255", len(p.CryptoSessions))
	}
	ticket := *p.Ticket // the Initiator Data is ours to set
	ticket.InitiatorData = nil
	m := &Message{HDR: HDR{Version: Version, DataType: DataTypeTransferInit, V: pol.Flags.Has(FlagF),
		PRF: p.PRF, CSBID: csb, CSIDMapType: CSIDMapGenericID, NumCS: uint8(len(p.CryptoSessions)),
		GenericIDs: p.CryptoSessions}}
	m.Payloads = append(m.Payloads, t, &RANDR{Role: RANDRoleI, Data: randRi})
	m.Payloads = appendIDR(m.Payloads, p.IDRi)
	m.Payloads = appendIDR(m.Payloads, p.IDRr)
	for _, sp := range p.SPs {
		m.Payloads = append(m.Payloads, sp)
	}
	m.Payloads = append(m.Payloads, &ticket)
	if len(p.KEMACKeys) > 0 {
		kemac, err := sealKEMAC(keys, csb, t, p.KEMACKeys)
		if err != nil {
			return nil, keys, fmt.Errorf("mikey: TRANSFER_INIT KEMAC: %w", err)
		}
		m.Payloads = append(m.Payloads, kemac)
	}
	m.Payloads = append(m.Payloads, v)
	if _, err := sealV(m, true, v, keys.Auth, idData(p.IDRi), idData(p.IDRr)); err != nil {
		return nil, keys, fmt.Errorf("mikey: TRANSFER_INIT: %w", err)
	}
	if forking {
		if ticket.InitiatorData, err = BuildInitiatorData(v, pol.PRF, p.Keys.MPKr); err != nil {
			return nil, keys, err
		}
		if _, err := m.Marshal(); err != nil {
			return nil, keys, fmt.Errorf("mikey: TRANSFER_INIT: %w", err)
		}
	}
	return m, keys, nil
}

// BuildInitiatorData returns the TICKET Initiator Data of RFC 6043 §6.10 for key forking:
// First Payload (V), Vi (a copy of the TRANSFER_INIT's V), Vr. Vr has Vi's MAC algorithm and a MAC
// over the whole Initiator Data except that MAC, keyed with the auth key derived from the unforked
// MPKr with the label 0xFF || 0xFFFFFFFF || 0x04. f is the PRF that derives it: this package takes
// the Ticket Policy's PRF, as for the other MPK derivations (digest §10).
func BuildInitiatorData(vi *V, f PRFFunc, mpkr []byte) ([]byte, error) {
	if vi == nil || len(vi.MAC) == 0 {
		return nil, fmt.Errorf("mikey: Initiator Data: Vi has no MAC yet")
	}
	k, err := DeriveMessageKeys(f, mpkr, InitiatorDataLabel(), EncrNULL, vi.MACAlg)
	if err != nil {
		return nil, fmt.Errorf("mikey: Initiator Data: %w", err)
	}
	n, _ := MACTagLen(vi.MACAlg)
	vr := &V{MACAlg: vi.MACAlg, MAC: make([]byte, n)}
	b, err := MarshalPayloadData([]Payload{&V{MACAlg: vi.MACAlg, MAC: vi.MAC}, vr})
	if err != nil {
		return nil, fmt.Errorf("mikey: Initiator Data: %w", err)
	}
	mac, err := ComputeMAC(vi.MACAlg, k.Auth, b[:len(b)-n])
	if err != nil {
		return nil, err
	}
	copy(b[len(b)-n:], mac)
	return b, nil
}

// VerifyInitiatorData verifies the Vr of a TICKET's Initiator Data with the unforked MPKr and the
// Ticket Policy's PRF, as the KMS does on RESOLVE_INIT when I = 1 (RFC 6043 §4.2.3.4), and returns
// Vi. Vr must be the last payload and use Vi's MAC algorithm; other payloads are ignored (§6.10).
func VerifyInitiatorData(t *TICKET, mpkr []byte) (*V, error) {
	ps, err := ParsePayloadData(t.InitiatorData)
	if err != nil {
		return nil, protoErr(ErrInvalidTICKET, "Initiator Data: %v", err)
	}
	var vi *V
	for _, q := range ps {
		if v, ok := q.(*V); ok {
			vi = v
			break
		}
	}
	vr, ok := lastPayload(&Message{Payloads: ps}).(*V)
	if !ok || vi == nil || vi == vr {
		return nil, protoErr(ErrAuthFailure, "Initiator Data: want Vi and, last, Vr")
	}
	if vr.MACAlg != vi.MACAlg {
		return nil, protoErr(ErrAuthFailure, "Initiator Data: Vr MAC alg %d differs from Vi's %d", vr.MACAlg, vi.MACAlg)
	}
	if pe := checkMACAlg(vr.MACAlg, "Vr"); pe != nil {
		return nil, pe
	}
	k, err := DeriveMessageKeys(t.Policy.PRF, mpkr, InitiatorDataLabel(), EncrNULL, vr.MACAlg)
	if err != nil {
		return nil, protoErr(ErrInvalidTPpar, "Vr key: %v", err)
	}
	in := t.InitiatorData[:len(t.InitiatorData)-len(vr.MAC)]
	if err := VerifyMAC(vr.MACAlg, k.Auth, vr.MAC, in); err != nil {
		return nil, &ProtocolError{ErrNo: ErrAuthFailure, Err: fmt.Errorf("Initiator Data Vr: %w", err)}
	}
	return vi, nil
}

// TransferInit is a TRANSFER_INIT checked by CheckTransferInit, and verified when it comes from
// VerifyTransferInit.
type TransferInit struct {
	HDR    HDR
	T      *T
	RANDRi []byte
	IDRi   *IDR
	IDRr   *IDR
	SPs    []*SP
	Ticket *TICKET // to resolve (RESOLVE_INIT carries it, Initiator Data included)
	KEMAC  *KEMAC  // Initiator-supplied keys, still encrypted; nil if absent
	// KEMACKeys are the decrypted Initiator-supplied keys (VerifyTransferInit only).
	KEMACKeys []KeyData
	MsgKeys   MessageKeys // keys of this message (VerifyTransferInit only)
	Raw       []byte      // the message as received; TRANSFER_RESP's MAC covers it
}

func (ti *TransferInit) String() string {
	return fmt.Sprintf("TransferInit{CSB ID %#x, %d CS, ticket type %d flags %v, keys redacted}",
		ti.HDR.CSBID, len(ti.HDR.GenericIDs), ti.Ticket.Policy.TicketType, ti.Ticket.Policy.Flags)
}

// CheckTransferInit is the Responder's early check of a TRANSFER_INIT before resolving the ticket
// (RFC 6043 §4.2.2.2: it cannot authenticate yet but SHALL check the policies first): data type,
// T, RANDRi, TICKET and a final V, the GENERIC-ID map, the HDR PRF, the ticket flag implications
// (§6.10), a KEMAC only when L = 1, and Initiator Data exactly when I = 1. Whether the Ticket Type,
// the policy (TRs/TRe, IDRr list) and the SPs are acceptable is the caller's decision, with this
// result. Nothing here is authenticated.
func CheckTransferInit(m *Message) (*TransferInit, error) {
	p, pe := collectTimed(m, DataTypeTransferInit)
	if pe != nil {
		return nil, pe
	}
	if p.randRi == nil || p.ticket == nil {
		return nil, protoErr(ErrUnspecified, "TRANSFER_INIT without RANDRi or TICKET (a CSB update is not supported here)")
	}
	if _, ok := lastPayload(m).(*V); !ok {
		return nil, protoErr(ErrAuthFailure, "TRANSFER_INIT: last payload is not V")
	}
	if m.HDR.CSIDMapType != CSIDMapGenericID {
		return nil, protoErr(ErrUnspecified, "TRANSFER_INIT map type %d: GENERIC-ID expected, SRTP-ID SHALL NOT be used (RFC 6043 §6.1)", m.HDR.CSIDMapType)
	}
	if pe := checkPRF(m.HDR.PRF, "HDR"); pe != nil {
		return nil, pe
	}
	pol := &p.ticket.Policy
	if pe := checkTicketFlags(pol, "TICKET policy"); pe != nil {
		return nil, pe
	}
	if p.kemac != nil && !pol.Flags.Has(FlagL) {
		return nil, protoErr(ErrInvalidTPpar, "TRANSFER_INIT carries a KEMAC but the Ticket Policy has L = 0")
	}
	if forking := pol.Flags.Has(FlagI); forking != (len(p.ticket.InitiatorData) > 0) {
		return nil, protoErr(ErrInvalidTICKET, "Initiator Data is %d bytes with I = %v (RFC 6043 §6.10: present if and only if forking)", len(p.ticket.InitiatorData), forking)
	}
	return &TransferInit{HDR: m.HDR, T: p.t, RANDRi: p.randRi.Data, IDRi: p.idRi, IDRr: p.idRr,
		SPs: p.sps, Ticket: p.ticket, KEMAC: p.kemac, Raw: m.Raw}, nil
}

// VerifyTransferInit runs CheckTransferInit and then, with the MPKi from RESOLVE_RESP (or from the
// ticket, when the Responder resolves it itself), verifies the V MAC over TRANSFER_INIT ||
// Identity_i || Identity_r without the Initiator Data (Table 5.2); with I = 1 that the V MAC equals
// Vi in the Initiator Data (§4.2.3.6); and decrypts an Initiator-supplied KEMAC. fresh (optional)
// gets IDRi and RANDRi.
func VerifyTransferInit(m *Message, mpki []byte, fresh ...Freshness) (*TransferInit, error) {
	ti, err := CheckTransferInit(m)
	if err != nil {
		return nil, err
	}
	v := lastPayload(m).(*V)
	if pe := checkMACAlg(v.MACAlg, "V"); pe != nil {
		return nil, pe
	}
	label, err := TicketMessageLabel(m.HDR.CSBID, DirInitial, ti.RANDRi, nil)
	if err != nil {
		return nil, protoErr(ErrUnspecified, "%v", err)
	}
	if ti.MsgKeys, err = DeriveMessageKeys(m.HDR.PRF, mpki, label, EncrNULL, v.MACAlg); err != nil {
		return nil, protoErr(ErrUnspecified, "message keys: %v", err)
	}
	if pe := verifyFinalV(m, true, ti.MsgKeys.Auth, idData(ti.IDRi), idData(ti.IDRr)); pe != nil {
		return nil, pe
	}
	if ti.Ticket.Policy.Flags.Has(FlagI) {
		ps, err := ParsePayloadData(ti.Ticket.InitiatorData)
		if err != nil {
			return nil, protoErr(ErrInvalidTICKET, "Initiator Data: %v", err)
		}
		var vi *V
		for _, q := range ps {
			if x, ok := q.(*V); ok {
				vi = x
				break
			}
		}
		if vi == nil || vi.MACAlg != v.MACAlg || !equalMAC(vi.MAC, v.MAC) {
			return nil, protoErr(ErrAuthFailure, "Initiator Data Vi differs from the V payload (RFC 6043 §4.2.3.6)")
		}
	}
	// Authenticated from here on.
	if err := checkFresh(fresh, ti.T, idData(ti.IDRi), m.HDR.CSBID, ti.RANDRi); err != nil {
		return ti, err
	}
	if ti.KEMAC != nil {
		kd, err := openSessionKEMAC(ti.KEMAC, m.HDR.PRF, mpki, label, m.HDR.CSBID, ti.T, "TRANSFER_INIT KEMAC")
		if err != nil {
			return ti, err
		}
		ti.KEMACKeys = kd
	}
	return ti, nil
}

// TransferRespParams are the inputs of a TRANSFER_RESP (RFC 6043 §4.2.2.3).
type TransferRespParams struct {
	Init *TransferInit // the verified TRANSFER_INIT
	T    *T            // fresh (NTP types) or the TRANSFER_INIT's COUNTER value
	// RANDRr is sent when the policy has G = 1 (nil: DefaultRANDLen bytes from Rand); it must be nil
	// with G = 0.
	RANDRr   []byte
	IDRr     *IDR   // the IDRr of RESOLVE_RESP, which MUST be echoed; required with forking
	RANDRkms []byte // the RANDRkms of RESOLVE_RESP, which MUST be echoed; required with forking
	// CryptoSessions is the updated GENERIC-ID map: exactly one policy per crypto session, Session
	// Data and SPI filled in (§4.2.2.3).
	CryptoSessions []GenericIDEntry
	SPs            []*SP     // additional policies; SHOULD NOT resend the Initiator's
	MPK            []byte    // MPKi, or MPKr' with key forking
	KEMACKeys      []KeyData // Responder-supplied session keys, only when M = 1
	EncrAlg        EncrAlg
	MACAlg         MACAlg
	Rand           io.Reader
}

// BuildTransferResp builds and protects a TRANSFER_RESP. The HDR copies version, PRF func and CSB
// ID from the TRANSFER_INIT and has V = 0. The V MAC covers TRANSFER_RESP || TRANSFER_INIT, the
// latter as received, Initiator Data included (digest §10: the RFC does not exclude it).
func BuildTransferResp(p TransferRespParams) (*Message, MessageKeys, error) {
	var keys MessageKeys
	if p.Init == nil || p.Init.Raw == nil {
		return nil, keys, fmt.Errorf("mikey: TRANSFER_RESP: the received TRANSFER_INIT is needed")
	}
	flags := p.Init.Ticket.Policy.Flags
	if flags.Has(FlagI) && (p.IDRr == nil || len(p.RANDRkms) == 0) {
		return nil, keys, fmt.Errorf("mikey: TRANSFER_RESP: key forking needs the IDRr and RANDRkms of RESOLVE_RESP")
	}
	if err := checkIDR(p.IDRr, IDRoleR, "IDRr"); err != nil {
		return nil, keys, err
	}
	if len(p.KEMACKeys) > 0 && !flags.Has(FlagM) {
		return nil, keys, fmt.Errorf("mikey: TRANSFER_RESP: Ticket Policy has M = 0, the Responder SHALL NOT supply keys")
	}
	if err := checkSessionKeys(p.KEMACKeys, "mikey: TRANSFER_RESP KEMAC"); err != nil {
		return nil, keys, err
	}
	if err := checkRespCryptoSessions(p.CryptoSessions, nil); err != nil {
		return nil, keys, fmt.Errorf("mikey: TRANSFER_RESP: %w", err)
	}
	var randRr []byte
	var err error
	if flags.Has(FlagG) {
		if randRr, err = orRand(p.RANDRr, p.Rand, "RANDRr"); err != nil {
			return nil, keys, err
		}
	} else if len(p.RANDRr) > 0 {
		return nil, keys, fmt.Errorf("mikey: TRANSFER_RESP: G = 0, the Responder SHALL NOT generate RANDRr")
	}
	t, err := cloneT(p.T)
	if err != nil {
		return nil, keys, err
	}
	v, err := newV(p.MACAlg)
	if err != nil {
		return nil, keys, err
	}
	h := p.Init.HDR
	label, err := TicketMessageLabel(h.CSBID, DirResponse, p.Init.RANDRi, randRr)
	if err != nil {
		return nil, keys, err
	}
	ea := EncrNULL
	if len(p.KEMACKeys) > 0 {
		ea = p.EncrAlg
	}
	if keys, err = DeriveMessageKeys(h.PRF, p.MPK, label, ea, p.MACAlg); err != nil {
		return nil, keys, err
	}
	m := &Message{HDR: HDR{Version: Version, DataType: DataTypeTransferResp, PRF: h.PRF, CSBID: h.CSBID,
		CSIDMapType: CSIDMapGenericID, NumCS: uint8(len(p.CryptoSessions)), GenericIDs: p.CryptoSessions}}
	m.Payloads = append(m.Payloads, t)
	if randRr != nil {
		m.Payloads = append(m.Payloads, &RANDR{Role: RANDRoleR, Data: randRr})
	}
	m.Payloads = appendIDR(m.Payloads, p.IDRr)
	if len(p.RANDRkms) > 0 {
		m.Payloads = append(m.Payloads, &RANDR{Role: RANDRoleKMS, Data: p.RANDRkms})
	}
	for _, sp := range p.SPs {
		m.Payloads = append(m.Payloads, sp)
	}
	if len(p.KEMACKeys) > 0 {
		kemac, err := sealKEMAC(keys, h.CSBID, t, p.KEMACKeys)
		if err != nil {
			return nil, keys, fmt.Errorf("mikey: TRANSFER_RESP KEMAC: %w", err)
		}
		m.Payloads = append(m.Payloads, kemac)
	}
	m.Payloads = append(m.Payloads, v)
	if _, err := sealV(m, false, v, keys.Auth, p.Init.Raw); err != nil {
		return nil, keys, fmt.Errorf("mikey: TRANSFER_RESP: %w", err)
	}
	return m, keys, nil
}

// checkRespCryptoSessions applies RFC 6043 §4.2.2.3 to a TRANSFER_RESP map: at most 255 crypto
// sessions, exactly one policy each, and Session Data and SPI for each one, unless the Initiator
// supplied them (init, when known) and the Responder left them as they were.
func checkRespCryptoSessions(cs []GenericIDEntry, init []GenericIDEntry) error {
	if len(cs) > 255 {
		return fmt.Errorf("%d crypto sessions, at most 255", len(cs))
	}
	for i := range cs {
		e := &cs[i]
		if len(e.PolicyNos) != 1 {
			return fmt.Errorf("crypto session %d has %d policies, want exactly 1", e.CSID, len(e.PolicyNos))
		}
		if len(e.SessionData) > 0 && len(e.SPI) > 0 {
			continue
		}
		var prev *GenericIDEntry
		for j := range init {
			if init[j].CSID == e.CSID {
				prev = &init[j]
			}
		}
		if prev == nil || (len(e.SessionData) == 0 && len(prev.SessionData) == 0) || (len(e.SPI) == 0 && len(prev.SPI) == 0) {
			return fmt.Errorf("crypto session %d lacks Session Data or SPI", e.CSID)
		}
	}
	return nil
}

// TransferResp is a verified TRANSFER_RESP.
type TransferResp struct {
	HDR      HDR
	T        *T
	RANDRr   []byte // nil with G = 0
	IDRr     *IDR
	RANDRkms []byte
	SPs      []*SP
	// Keys are the ticket keys as the answering Responder holds them: with forking, MPKr' and the
	// TGK' derived from the modifier (IDRr, RANDRkms) of this message; otherwise as given.
	Keys      TicketKeys
	KEMACKeys []KeyData   // Responder-supplied session keys
	MsgKeys   MessageKeys // keys of this message
}

func (r *TransferResp) String() string {
	return fmt.Sprintf("TransferResp{CSB ID %#x, %d CS, %v}", r.HDR.CSBID, len(r.HDR.GenericIDs), r.Keys)
}

// VerifyTransferResp verifies a TRANSFER_RESP at the Initiator against the TRANSFER_INIT it sent
// (init, from BuildTransferInit) and the ticket keys from REQUEST_RESP: data type, HDR copied from
// TRANSFER_INIT, the GENERIC-ID map reduced to one policy per crypto session with Session Data and
// SPI, RANDRr when G = 1, IDRr and RANDRkms when I = 1 (then MPKr' and TGK' are derived from them,
// §5.1.1), the V MAC over TRANSFER_RESP || TRANSFER_INIT with keys from MPKi or MPKr', and a KEMAC
// only when M = 1. A RANDRr sent although G = 0 is ignored (it enters no derivation). Whether
// Responder-generated SPs are acceptable is the caller's (§4.2.2.4). fresh (optional) gets IDRr
// and RANDRr.
func VerifyTransferResp(m *Message, init *Message, keys TicketKeys, fresh ...Freshness) (*TransferResp, error) {
	if init == nil || init.Raw == nil || init.TICKET() == nil || init.RANDR(RANDRoleI) == nil {
		return nil, fmt.Errorf("mikey: TRANSFER_RESP: the TRANSFER_INIT sent is needed, with its bytes")
	}
	pol := &init.TICKET().Policy
	p, pe := collectTimed(m, DataTypeTransferResp)
	if pe != nil {
		return nil, pe
	}
	if pe := checkRespHDR(m.HDR, init.HDR, false); pe != nil {
		return nil, pe
	}
	if m.HDR.CSIDMapType != CSIDMapGenericID {
		return nil, protoErr(ErrUnspecified, "TRANSFER_RESP map type %d, want GENERIC-ID", m.HDR.CSIDMapType)
	}
	if err := checkRespCryptoSessions(m.HDR.GenericIDs, init.HDR.GenericIDs); err != nil {
		return nil, protoErr(ErrInvalidSP, "TRANSFER_RESP: %v", err)
	}
	v, ok := lastPayload(m).(*V)
	if !ok {
		return nil, protoErr(ErrAuthFailure, "TRANSFER_RESP: last payload is not V")
	}
	if pe := checkMACAlg(v.MACAlg, "V"); pe != nil {
		return nil, pe
	}
	r := &TransferResp{HDR: m.HDR, T: p.t, IDRr: p.idRr, RANDRkms: randrData(p.randRkms), SPs: p.sps, Keys: keys}
	if pol.Flags.Has(FlagG) {
		if p.randRr == nil {
			return nil, protoErr(ErrUnspecified, "TRANSFER_RESP without RANDRr although G = 1")
		}
		r.RANDRr = p.randRr.Data
	}
	mpk := keys.MPKi
	if pol.Flags.Has(FlagI) {
		if p.idRr == nil || p.randRkms == nil {
			return nil, protoErr(ErrInvalidID, "TRANSFER_RESP without the forking modifier IDRr and RANDRkms although I = 1")
		}
		forked, err := keys.Fork(pol.PRF, p.idRr.Data, p.randRkms.Data)
		if err != nil {
			return nil, protoErr(ErrUnspecified, "key forking: %v", err)
		}
		r.Keys, mpk = forked, forked.MPKr
	}
	label, err := TicketMessageLabel(m.HDR.CSBID, DirResponse, init.RANDR(RANDRoleI).Data, r.RANDRr)
	if err != nil {
		return nil, protoErr(ErrUnspecified, "%v", err)
	}
	if r.MsgKeys, err = DeriveMessageKeys(m.HDR.PRF, mpk, label, EncrNULL, v.MACAlg); err != nil {
		return nil, protoErr(ErrUnspecified, "message keys: %v", err)
	}
	if pe := verifyFinalV(m, false, r.MsgKeys.Auth, init.Raw); pe != nil {
		return nil, pe
	}
	// Authenticated from here on.
	if err := checkFresh(fresh, r.T, idData(r.IDRr), m.HDR.CSBID, r.RANDRr); err != nil {
		return r, err
	}
	if p.kemac != nil {
		if !pol.Flags.Has(FlagM) {
			return r, protoErr(ErrInvalidTPpar, "TRANSFER_RESP carries a KEMAC but the Ticket Policy has M = 0")
		}
		kd, err := openSessionKEMAC(p.kemac, m.HDR.PRF, mpk, label, m.HDR.CSBID, p.t, "TRANSFER_RESP KEMAC")
		if err != nil {
			return r, err
		}
		r.KEMACKeys = kd
	}
	return r, nil
}
