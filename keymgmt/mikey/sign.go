package mikey

// SIGN is the signature payload (RFC 3830 §6.5). It has no Next Payload field and is always the last
// payload, so a payload list ends at it. Decoded so that PK messages parse; verifying is not supported.
type SIGN struct {
	SType     uint8 // 4 bits: 0 RSA/PKCS#1/1.5, 1 RSA/PSS (RFC 3830), 2 ECCSI (RFC 6509)
	Signature []byte
}

func (*SIGN) PayloadType() PayloadType { return PayloadSIGN }

func (s *SIGN) parseBody(d *decoder) error {
	v, err := d.u16("S type/Signature len")
	if err != nil {
		return err
	}
	s.SType = uint8(v >> 12)
	s.Signature, err = d.bytesAt(int(v&0x0fff), d.off-2, "Signature")
	return err
}

func (s *SIGN) appendBody(b []byte) ([]byte, error) {
	if s.SType > 0x0f {
		return nil, marshalError("SIGN S type", "%d does not fit in 4 bits", s.SType)
	}
	if len(s.Signature) > 0x0fff {
		return nil, marshalError("SIGN Signature len", "%d does not fit in 12 bits", len(s.Signature))
	}
	return append(appendU16(b, uint16(s.SType)<<12|uint16(len(s.Signature))), s.Signature...), nil
}
