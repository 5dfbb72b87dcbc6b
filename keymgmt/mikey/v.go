package mikey

import "fmt"

// V is the verification message payload (RFC 3830 §6.9): the MAC whose length follows from the
// algorithm (RFC 3830 Table 6.2.b, RFC 6043 Table 6.6).
type V struct {
	MACAlg MACAlg
	MAC    []byte
}

func (*V) PayloadType() PayloadType { return PayloadV }

// MACLen is the MAC length in bytes of a MAC algorithm, or -1 if it is unknown.
func MACLen(a MACAlg) int {
	switch a {
	case MACNULL:
		return 0
	case MACHMACSHA1160:
		return 20
	case MACHMACSHA256256:
		return 32
	}
	return -1
}

func parseMAC(d *decoder) (MACAlg, []byte, error) {
	off := d.off
	a, err := d.u8("MAC alg")
	if err != nil {
		return 0, nil, err
	}
	n := MACLen(MACAlg(a))
	if n < 0 {
		return 0, nil, d.invalid(off, "MAC alg", "unknown MAC algorithm %d", a)
	}
	mac, err := d.bytes(n, "MAC")
	return MACAlg(a), mac, err
}

func appendMAC(b []byte, a MACAlg, mac []byte, field string, placeholder bool) ([]byte, error) {
	n := MACLen(a)
	if n < 0 {
		return nil, marshalError(field+" MAC alg", "unknown MAC algorithm %d", a)
	}
	if placeholder && len(mac) == 0 {
		return append(b, byte(a)), nil
	}
	if len(mac) != n {
		return nil, marshalError(field+" MAC", "%d bytes, MAC alg %d needs %d", len(mac), a, n)
	}
	return append(append(b, byte(a)), mac...), nil
}

func (v *V) parseBody(d *decoder) (err error) {
	v.MACAlg, v.MAC, err = parseMAC(d)
	return err
}

func (v *V) appendBody(b []byte) ([]byte, error) { return appendMAC(b, v.MACAlg, v.MAC, "V", false) }

func (v *V) String() string { return fmt.Sprintf("V{MACAlg: %d, MAC: %x}", v.MACAlg, v.MAC) }
