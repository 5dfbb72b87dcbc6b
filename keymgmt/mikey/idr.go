package mikey

// IDR is the identity payload with role indicator (RFC 6043 §6.6; roles 6 and 7 from RFC 6509).
type IDR struct {
	Role IDRole
	Type IDType
	Data []byte // "Identity" in the MAC inputs of RFC 6043 Table 5.2 is this field only
}

func (*IDR) PayloadType() PayloadType { return PayloadIDR }

func (p *IDR) parseBody(d *decoder) error {
	off := d.off
	r, err := d.u8("ID Role")
	if err != nil {
		return err
	}
	if r == 0 || r == 255 {
		return invalid(off, "IDR ID Role", "reserved role %d", r)
	}
	t, data, err := parseTypedData(d)
	p.Role, p.Type, p.Data = IDRole(r), IDType(t), data
	return err
}

func (p *IDR) appendBody(b []byte) ([]byte, error) {
	if p.Role == 0 || p.Role == 255 {
		return nil, marshalError("IDR ID Role", "reserved role %d", p.Role)
	}
	return appendTypedData(append(b, byte(p.Role)), uint8(p.Type), p.Data, "IDR")
}
