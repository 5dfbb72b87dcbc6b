package mikey

import (
	"fmt"
)

// Error message (RFC 3830 §5.1.2, RFC 6043 §5.4):
//
//	in Request or Resolve: HDR, T, (ERR), [V|SIGNx]
//	in Transfer:           HDR, T, (ERR), {SP}, [V]
//
// The HDR copies version, PRF func and CSB ID from the message in error and has V = 0; the V MAC,
// when sent, covers the Error message alone with the auth_key of the message in error.

// ErrorParams are the inputs of an Error message.
type ErrorParams struct {
	// InError is the HDR of the message where the error occurred. Its CS ID map is copied too, so
	// that SPs (which need a map, RFC 4563 §5) refer to its crypto sessions.
	InError HDR
	T       *T      // fresh (NTP types), or the COUNTER value of the message in error
	ErrNos  []ErrNo // one or more
	SPs     []*SP   // Transfer exchange: the supported policies (RFC 3830 §5.1.1)
	// AuthKey is the auth_key of the message in error (MsgKeys.Auth of the verifier's result, or the MessageKeys a builder returned); nil sends no V. RFC 3830
	// §5.1.2 recommends not authenticating the answer to an authentication failure.
	AuthKey []byte
	MACAlg  MACAlg
}

// BuildError builds an Error message.
func BuildError(p ErrorParams) (*Message, error) {
	if len(p.ErrNos) == 0 {
		return nil, fmt.Errorf("mikey: Error message needs at least one ERR")
	}
	h := p.InError
	if len(p.SPs) > 0 && h.CSIDMapType == CSIDMapEmpty {
		return nil, fmt.Errorf("mikey: Error message: SP payloads with the Empty map (RFC 4563 §5)")
	}
	t, err := cloneT(p.T)
	if err != nil {
		return nil, err
	}
	m := &Message{HDR: HDR{Version: Version, DataType: DataTypeError, PRF: h.PRF, CSBID: h.CSBID,
		NumCS: h.NumCS, CSIDMapType: h.CSIDMapType, SRTPIDs: h.SRTPIDs, GenericIDs: h.GenericIDs}}
	m.Payloads = append(m.Payloads, t)
	for _, n := range p.ErrNos {
		m.Payloads = append(m.Payloads, &ERR{ErrNo: n})
	}
	for _, sp := range p.SPs {
		m.Payloads = append(m.Payloads, sp)
	}
	if p.AuthKey == nil {
		if _, err := m.Marshal(); err != nil {
			return nil, fmt.Errorf("mikey: Error message: %w", err)
		}
		return m, nil
	}
	v, err := newV(p.MACAlg)
	if err != nil {
		return nil, err
	}
	m.Payloads = append(m.Payloads, v)
	if _, err := sealV(m, false, v, p.AuthKey); err != nil {
		return nil, fmt.Errorf("mikey: Error message: %w", err)
	}
	return m, nil
}

// ErrorMsg is a received Error message.
type ErrorMsg struct {
	HDR    HDR
	T      *T
	ErrNos []ErrNo
	SPs    []*SP
	// Authenticated is true when a V was verified with the auth key given to VerifyError. An
	// unauthenticated Error is only a hint of what went wrong (RFC 3830 §5.1.2).
	Authenticated bool
}

// VerifyError reads an Error message sent in answer to sent (the message this side sent, or nil to
// skip the check that the Error names its CSB ID and PRF). With authKey (the auth key of sent) the
// Error must end with a V whose MAC verifies over the Error message alone (RFC 6043 Table 5.2); with
// a nil authKey the result is unauthenticated and a V is not checked. The errors returned are not
// answered: RFC 6043 §5.4 does not report errors in Error messages.
func VerifyError(m *Message, sent *Message, authKey []byte) (*ErrorMsg, error) {
	if m.HDR.DataType != DataTypeError {
		return nil, fmt.Errorf("mikey: Error message: data type %d, want %d", m.HDR.DataType, DataTypeError)
	}
	if sent != nil && (m.HDR.CSBID != sent.HDR.CSBID || m.HDR.PRF != sent.HDR.PRF) {
		return nil, fmt.Errorf("mikey: Error message: CSB ID %#x / PRF %d do not match the message sent (%#x / %d)",
			m.HDR.CSBID, m.HDR.PRF, sent.HDR.CSBID, sent.HDR.PRF)
	}
	p, pe := collect(m)
	if pe != nil {
		return nil, fmt.Errorf("mikey: Error message: %w", pe.Err)
	}
	if p.t == nil || len(p.errs) == 0 {
		return nil, fmt.Errorf("mikey: Error message without T or ERR")
	}
	e := &ErrorMsg{HDR: m.HDR, T: p.t, SPs: p.sps}
	for _, x := range p.errs {
		e.ErrNos = append(e.ErrNos, x.ErrNo)
	}
	if authKey == nil {
		return e, nil
	}
	if pe := verifyFinalV(m, false, authKey); pe != nil {
		return nil, fmt.Errorf("mikey: Error message: %w", pe.Err)
	}
	e.Authenticated = true
	return e, nil
}
