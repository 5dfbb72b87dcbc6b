package mikey

import "fmt"

// SP is the security policy payload (RFC 3830 §6.10). Params are kept in wire order; for Prot type
// SRTP their types are those of RFC 3830 §6.10.1 (0-12), and an omitted type takes the SRTP default.
type SP struct {
	PolicyNo uint8
	ProtType ProtType
	Params   []SPParam
}

// SPParam is one Type/Length/Value policy parameter (RFC 3830 §6.10).
type SPParam struct {
	Type  SRTPParamType
	Value []byte
}

func (*SP) PayloadType() PayloadType { return PayloadSP }

// SRTP policy values (RFC 3830 Tables 6.10.1.b-e).
const (
	SRTPEncrNULL  = 0
	SRTPEncrAESCM = 1
	SRTPEncrAESF8 = 2
	SRTPAuthNULL  = 0
	SRTPAuthSHA1  = 1
	SRTPPRFAESCM  = 0
	SRTPFECSRTP   = 0 // FEC first, then SRTP
)

// Param returns the value of the first parameter of type t.
func (s *SP) Param(t SRTPParamType) ([]byte, bool) {
	for _, p := range s.Params {
		if p.Type == t {
			return p.Value, true
		}
	}
	return nil, false
}

// Uint returns the value of parameter t as a big-endian unsigned integer (1 to 4 bytes).
func (s *SP) Uint(t SRTPParamType) (v uint32, ok bool, err error) {
	b, ok := s.Param(t)
	if !ok {
		return 0, false, nil
	}
	if len(b) == 0 || len(b) > 4 {
		return 0, true, fmt.Errorf("mikey: SP policy %d parameter %d: %d-byte value is not an integer of 1-4 bytes", s.PolicyNo, t, len(b))
	}
	for _, c := range b {
		v = v<<8 | uint32(c)
	}
	return v, true, nil
}

// SRTPParamUint8 builds a one-byte parameter, the size RFC 3830 §6.10.1 uses for all SRTP values.
func SRTPParamUint8(t SRTPParamType, v uint8) SPParam { return SPParam{Type: t, Value: []byte{v}} }

func (s *SP) parseBody(d *decoder) error {
	if d.left() < 4 {
		return d.truncated("", 4)
	}
	s.PolicyNo = d.b[d.off]
	s.ProtType = ProtType(d.b[d.off+1])
	d.off += 2
	lenOff := d.off
	n, _ := d.u16("Policy param length")
	if int(n) > d.left() {
		return d.overrun(lenOff, "Policy param length", int(n))
	}
	// Count the parameters first so that Params is allocated once.
	count := 0
	for i := d.off; i+1 < d.off+int(n); i += 2 + int(d.b[i+1]) {
		count++
	}
	pd := decoder{b: d.b, off: d.off, end: d.off + int(n), ctx: "SP param"}
	d.off += int(n)
	s.Params = nil
	if count > 0 {
		s.Params = make([]SPParam, 0, count)
	}
	for pd.left() > 0 {
		pd.idx = len(s.Params) + 1
		t, err := pd.u8("type")
		if err != nil {
			return err
		}
		v, err := pd.lenBytes(1, "value")
		if err != nil {
			return err
		}
		s.Params = append(s.Params, SPParam{Type: SRTPParamType(t), Value: v})
	}
	return nil
}

func (s *SP) appendBody(b []byte) ([]byte, error) {
	b = append(b, s.PolicyNo, byte(s.ProtType), 0, 0)
	lenAt := len(b) - 2
	for i, p := range s.Params {
		var err error
		if b, err = appendLenBytes(append(b, byte(p.Type)), 1, p.Value, fmt.Sprintf("SP policy %d param %d", s.PolicyNo, i+1)); err != nil {
			return nil, err
		}
	}
	n := len(b) - lenAt - 2
	if n > 0xffff {
		return nil, marshalError("SP Policy param length", "%d bytes of parameters", n)
	}
	b[lenAt], b[lenAt+1] = byte(n>>8), byte(n)
	return b, nil
}
