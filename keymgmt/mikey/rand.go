package mikey

// RAND is the RAND payload (RFC 3830 §6.11): 1 to 255 random bytes (SHOULD be at least 16).
type RAND struct {
	Data []byte
}

func (*RAND) PayloadType() PayloadType { return PayloadRAND }

func (r *RAND) parseBody(d *decoder) (err error) {
	off := d.off
	if r.Data, err = d.lenBytes(1, "RAND"); err != nil {
		return err
	}
	if len(r.Data) == 0 {
		return invalid(off, "RAND length", "empty RAND")
	}
	return nil
}

func (r *RAND) appendBody(b []byte) ([]byte, error) {
	if len(r.Data) == 0 {
		return nil, marshalError("RAND", "empty RAND")
	}
	return appendLenBytes(b, 1, r.Data, "RAND")
}
