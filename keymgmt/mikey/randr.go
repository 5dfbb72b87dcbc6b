package mikey

// RANDR is the RAND payload with role indicator (RFC 6043 §6.8). Key derivation labels use only
// its length and value (RFC 6043 §5.1.2).
type RANDR struct {
	Role RANDRole
	Data []byte
}

func (*RANDR) PayloadType() PayloadType { return PayloadRANDR }

func (r *RANDR) parseBody(d *decoder) (err error) {
	off := d.off
	v, err := d.u8("RAND Role")
	if err != nil {
		return err
	}
	if v == 0 || v == 255 {
		return invalid(off, "RANDR RAND Role", "reserved role %d", v)
	}
	r.Role = RANDRole(v)
	off = d.off
	if r.Data, err = d.lenBytes(1, "RAND"); err != nil {
		return err
	}
	if len(r.Data) == 0 {
		return invalid(off, "RANDR RAND length", "empty RAND")
	}
	return nil
}

func (r *RANDR) appendBody(b []byte) ([]byte, error) {
	if r.Role == 0 || r.Role == 255 {
		return nil, marshalError("RANDR RAND Role", "reserved role %d", r.Role)
	}
	if len(r.Data) == 0 {
		return nil, marshalError("RANDR", "empty RAND")
	}
	return appendLenBytes(append(b, byte(r.Role)), 1, r.Data, "RANDR RAND")
}
