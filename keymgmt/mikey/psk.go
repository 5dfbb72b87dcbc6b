package mikey

import (
	"encoding/binary"
	"fmt"
	"io"
)

// RFC 3830 pre-shared key method (§3.1), so that plain MIKEY-PSK peers can be keyed:
//
//	I_MESSAGE (data type 0) = HDR, T, RAND, [IDi], [IDr], {SP}, KEMAC
//	R_MESSAGE (data type 1) = HDR, T, [IDr], V
//
// Keys come from the PSK with the RFC 3830 §4.1.4 label const || 0xFF || CSB ID || RAND. The KEMAC
// is the last payload of I_MESSAGE and carries the MAC over the whole message (§6.2). The
// verification MAC covers R_MESSAGE || Identity_i || Identity_r || Timestamp (§5.2).

// PSKInitParams are the inputs of an RFC 3830 PSK init message (I_MESSAGE).
type PSKInitParams struct {
	PRF        PRFFunc // MIKEY-1 for RFC 3830 peers
	CSBID      uint32  // 0: drawn from Rand
	T          *T      // the Initiator's timestamp; also the AES-CM IV input (§4.2.3)
	RAND       []byte  // nil: DefaultRANDLen bytes from Rand
	WantVerify bool    // HDR V flag: ask for the verification message
	// SRTPIDs is the SRTP-ID map (RFC 3830 §6.1.1): policy, SSRC, ROC per crypto session.
	SRTPIDs []SRTPIDEntry
	IDi     *ID // optional (§3.1: SHOULD be included)
	IDr     *ID
	SPs     []*SP
	Keys    []KeyData // the TGKs (or TEKs)
	EncrAlg EncrAlg   // AES-CM-128 is mandatory (§4.2.3)
	MACAlg  MACAlg    // HMAC-SHA-1-160 is mandatory (§4.2.4)
	Rand    io.Reader
}

// BuildPSKInit builds an RFC 3830 I_MESSAGE: KEMAC = E(encr_key, {TGK}) || MAC with the MAC over
// the entire message except the MAC field (§3.1, §5.2). It returns the message keys, which also
// verify the R_MESSAGE. NULL encryption or the NULL MAC are refused: they are only for transports
// that are secure themselves (§4.2.3, §4.2.4), which this package cannot know.
func BuildPSKInit(p PSKInitParams, psk []byte) (*Message, MessageKeys, error) {
	var keys MessageKeys
	if p.EncrAlg == EncrNULL {
		return nil, keys, fmt.Errorf("mikey: PSK init: NULL encryption refused")
	}
	if pe := checkMACAlg(p.MACAlg, "KEMAC"); pe != nil {
		return nil, keys, pe.Err
	}
	if len(p.Keys) == 0 {
		return nil, keys, fmt.Errorf("mikey: PSK init: no TGK")
	}
	if len(p.SRTPIDs) > 255 {
		return nil, keys, fmt.Errorf("mikey: PSK init: %d crypto sessions, at most 255", len(p.SRTPIDs))
	}
	f, err := newInitFresh(p.T, p.CSBID, p.RAND, p.Rand, "RAND")
	if err != nil {
		return nil, keys, err
	}
	t, csb, rand := f.T, f.CSB, f.RAND
	if keys, err = DeriveMessageKeys(p.PRF, psk, RFC3830MessageLabel(csb, rand), p.EncrAlg, p.MACAlg); err != nil {
		return nil, keys, err
	}
	plain, err := MarshalKeyDataList(p.Keys)
	if err != nil {
		return nil, keys, err
	}
	enc, err := EncryptKeyData(keys, csb, t.IV64(), plain)
	if err != nil {
		return nil, keys, fmt.Errorf("mikey: PSK init KEMAC: %w", err)
	}
	kemac := &KEMAC{EncrAlg: p.EncrAlg, EncrData: enc, MACAlg: p.MACAlg}
	m := &Message{HDR: HDR{Version: Version, DataType: DataTypePSKInit, V: p.WantVerify, PRF: p.PRF,
		CSBID: csb, CSIDMapType: CSIDMapSRTPID, NumCS: uint8(len(p.SRTPIDs)), SRTPIDs: p.SRTPIDs}}
	m.Payloads = append(m.Payloads, t, &RAND{Data: rand})
	if p.IDi != nil {
		m.Payloads = append(m.Payloads, p.IDi)
	}
	if p.IDr != nil {
		if p.IDi == nil {
			return nil, keys, fmt.Errorf("mikey: PSK init: IDr without IDi (the first ID payload is IDi)")
		}
		m.Payloads = append(m.Payloads, p.IDr)
	}
	for _, sp := range p.SPs {
		m.Payloads = append(m.Payloads, sp)
	}
	m.Payloads = append(m.Payloads, kemac)
	in, err := m.MACInput(false)
	if err != nil {
		return nil, keys, fmt.Errorf("mikey: PSK init: %w", err)
	}
	if kemac.MAC, err = ComputeMAC(p.MACAlg, keys.Auth, in); err != nil {
		return nil, keys, err
	}
	if _, err := m.Marshal(); err != nil {
		return nil, keys, fmt.Errorf("mikey: PSK init: %w", err)
	}
	return m, keys, nil
}

// PSKInit is a verified RFC 3830 I_MESSAGE.
type PSKInit struct {
	HDR  HDR
	T    *T
	RAND []byte
	IDi  *ID // the first ID payload, if any
	IDr  *ID // the second ID payload, if any
	SPs  []*SP
	// Keys are the TGKs (or TEKs) of the KEMAC; TEKs then follow with RFC3830TGKLabel(cs_id,
	// CSB ID, RAND) (§4.1.3).
	Keys    []KeyData
	MsgKeys MessageKeys // auth key for the verification message and an Error reply
}

func (r *PSKInit) String() string {
	return fmt.Sprintf("PSKInit{CSB ID %#x, %d CS, %d keys redacted}", r.HDR.CSBID, r.HDR.NumCS, len(r.Keys))
}

// VerifyPSKInit verifies an RFC 3830 I_MESSAGE with the PSK (the Responder finds it by IDi or by
// other means, §3.1): data type 0, T, RAND and a final KEMAC with a non-NULL MAC over the message
// (§5.3), then decrypts the key data. fresh (optional, §5.4) gets IDi and RAND.
func VerifyPSKInit(m *Message, psk []byte, fresh ...Freshness) (*PSKInit, error) {
	p, pe := collectTimed(m, DataTypePSKInit)
	if pe != nil {
		return nil, pe
	}
	if p.rand == nil {
		return nil, protoErr(ErrUnspecified, "PSK init without RAND")
	}
	if pe := checkPRF(m.HDR.PRF, "HDR"); pe != nil {
		return nil, pe
	}
	kemac, ok := lastPayload(m).(*KEMAC)
	if !ok {
		return nil, protoErr(ErrAuthFailure, "PSK init: last payload is not KEMAC (RFC 3830 §6.2)")
	}
	if pe := checkMACAlg(kemac.MACAlg, "KEMAC"); pe != nil {
		return nil, pe
	}
	if kemac.EncrAlg == EncrNULL {
		return nil, protoErr(ErrInvalidEA, "PSK init: NULL encryption refused")
	}
	if _, _, err := encrKeyLens(kemac.EncrAlg); err != nil {
		return nil, protoErr(ErrInvalidEA, "%v", err)
	}
	r := &PSKInit{HDR: m.HDR, T: p.t, RAND: p.rand.Data, SPs: p.sps}
	if len(p.ids) > 0 {
		r.IDi = p.ids[0]
	}
	if len(p.ids) > 1 {
		r.IDr = p.ids[1]
	}
	var err error
	label := RFC3830MessageLabel(m.HDR.CSBID, r.RAND)
	if r.MsgKeys, err = DeriveMessageKeys(m.HDR.PRF, psk, label, kemac.EncrAlg, kemac.MACAlg); err != nil {
		return nil, protoErr(ErrUnspecified, "message keys: %v", err)
	}
	in, err := m.MACInput(false)
	if err != nil {
		return nil, protoErr(ErrUnspecified, "MAC input: %v", err)
	}
	if err := VerifyMAC(kemac.MACAlg, r.MsgKeys.Auth, kemac.MAC, in); err != nil {
		return nil, &ProtocolError{ErrNo: ErrAuthFailure, Err: err}
	}
	// Authenticated from here on.
	if err := checkFresh(fresh, r.T, pskIDData(r.IDi), m.HDR.CSBID, r.RAND); err != nil {
		return r, err
	}
	plain, err := DecryptKeyData(r.MsgKeys, m.HDR.CSBID, p.t.IV64(), kemac.EncrData)
	if err != nil {
		return r, protoErr(ErrAuthFailure, "KEMAC: %v", err)
	}
	if r.Keys, err = ParseKeyDataList(plain); err != nil {
		return r, protoErr(ErrUnspecified, "KEMAC key data: %v", err)
	}
	for i, k := range r.Keys {
		if k.Type > KeyTEKSalt {
			return r, protoErr(ErrUnspecified, "KEMAC key %d has type %d, RFC 3830 carries TGKs and TEKs", i+1, k.Type)
		}
	}
	if len(r.Keys) == 0 {
		return r, protoErr(ErrUnspecified, "KEMAC carries no key")
	}
	return r, nil
}

// BuildPSKVerify builds the RFC 3830 verification message (R_MESSAGE) for a verified I_MESSAGE:
// HDR with data type 1, V = 0, PRF func, CSB ID and the CS ID map copied; T equal to the
// Initiator's ("the Responder does not create a new timestamp", §5.2); the optional IDr; and V with
// the I_MESSAGE's MAC algorithm and auth key over R_MESSAGE || Identity_i || Identity_r ||
// Timestamp (§5.2). Identity_r is the ID data of idr when given, else of the I_MESSAGE's IDr; the
// Timestamp is the Initiator's 64-bit TS value (a 32-bit COUNTER left-padded, as minisip does).
func BuildPSKVerify(init *PSKInit, idr *ID) (*Message, error) {
	if init == nil {
		return nil, fmt.Errorf("mikey: PSK verification: no verified init message")
	}
	t, err := cloneT(init.T)
	if err != nil {
		return nil, err
	}
	v, err := newV(init.MsgKeys.MACAlg)
	if err != nil {
		return nil, err
	}
	h := init.HDR
	m := &Message{HDR: HDR{Version: Version, DataType: DataTypePSKVerify, PRF: h.PRF, CSBID: h.CSBID,
		NumCS: h.NumCS, CSIDMapType: h.CSIDMapType, SRTPIDs: h.SRTPIDs, GenericIDs: h.GenericIDs}}
	m.Payloads = append(m.Payloads, t)
	if idr != nil {
		m.Payloads = append(m.Payloads, idr)
	}
	m.Payloads = append(m.Payloads, v)
	idrData := pskIDData(idr)
	if idr == nil {
		idrData = pskIDData(init.IDr)
	}
	if _, err := sealV(m, false, v, init.MsgKeys.Auth, pskIDData(init.IDi), idrData, tsBytes(init.T)); err != nil {
		return nil, fmt.Errorf("mikey: PSK verification: %w", err)
	}
	return m, nil
}

// PSKVerify is a verified RFC 3830 verification message.
type PSKVerify struct {
	HDR HDR
	T   *T
	IDr *ID
}

// VerifyPSKVerify verifies an R_MESSAGE at the Initiator against the I_MESSAGE it sent (init) and
// the keys BuildPSKInit returned: data type 1, CSB ID and PRF of the init, and the V MAC over
// R_MESSAGE || Identity_i || Identity_r || the Initiator's timestamp. The Timestamp in the MAC is
// the Initiator's own, so a Responder that sends a fresh T (minisip does) is accepted.
func VerifyPSKVerify(m *Message, init *Message, keys MessageKeys) (*PSKVerify, error) {
	if init == nil || init.T() == nil {
		return nil, fmt.Errorf("mikey: PSK verification: the I_MESSAGE sent is needed")
	}
	if pe := checkDataType(m, DataTypePSKVerify); pe != nil {
		return nil, pe
	}
	if m.HDR.CSBID != init.HDR.CSBID || m.HDR.PRF != init.HDR.PRF {
		return nil, protoErr(ErrUnspecified, "PSK verification: CSB ID %#x / PRF %d differ from the I_MESSAGE's %#x / %d",
			m.HDR.CSBID, m.HDR.PRF, init.HDR.CSBID, init.HDR.PRF)
	}
	p, pe := collect(m)
	if pe != nil {
		return nil, pe
	}
	if pe := needT(p); pe != nil {
		return nil, pe
	}
	r := &PSKVerify{HDR: m.HDR, T: p.t}
	ids := init.ID()
	var idi, idr *ID
	if len(ids) > 0 {
		idi = ids[0]
	}
	if len(ids) > 1 {
		idr = ids[1]
	}
	if len(p.ids) > 0 {
		r.IDr = p.ids[0]
		idr = p.ids[0]
	}
	if pe := verifyFinalV(m, false, keys.Auth, pskIDData(idi), pskIDData(idr), tsBytes(init.T())); pe != nil {
		return nil, pe
	}
	return r, nil
}

func pskIDData(id *ID) []byte {
	if id == nil {
		return nil
	}
	return id.Data
}

// tsBytes is the 64-bit timestamp appended to the verification MAC input (RFC 3830 §5.2).
func tsBytes(t *T) []byte {
	return binary.BigEndian.AppendUint64(nil, t.IV64())
}
