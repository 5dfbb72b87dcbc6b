package mikey

// ERR is the error payload (RFC 3830 §6.12, RFC 6043 §6.9).
type ERR struct {
	ErrNo ErrNo
	// reserved keeps the Reserved field as received so that a decoded ERR re-encodes to the same
	// bytes; a built ERR sends zero (RFC 3830 §6.12).
	reserved uint16
}

func (*ERR) PayloadType() PayloadType { return PayloadERR }

func (e *ERR) parseBody(d *decoder) error {
	n, err := d.u8("Error no")
	if err != nil {
		return err
	}
	e.ErrNo = ErrNo(n)
	e.reserved, err = d.u16("Reserved")
	return err
}

func (e *ERR) appendBody(b []byte) ([]byte, error) {
	return appendU16(append(b, byte(e.ErrNo)), e.reserved), nil
}
