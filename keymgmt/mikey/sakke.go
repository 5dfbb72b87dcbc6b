package mikey

// SAKKE is the SAKKE payload (RFC 6509 §4.2), decoded as opaque data; MIKEY-SAKKE is not supported.
type SAKKE struct {
	Params   uint8 // SAKKE parameter set
	IDScheme uint8
	Data     []byte
}

func (*SAKKE) PayloadType() PayloadType { return PayloadSAKKE }

func (s *SAKKE) parseBody(d *decoder) (err error) {
	if s.Params, err = d.u8("params"); err != nil {
		return err
	}
	if s.IDScheme, err = d.u8("ID scheme"); err != nil {
		return err
	}
	s.Data, err = d.lenBytes(2, "data")
	return err
}

func (s *SAKKE) appendBody(b []byte) ([]byte, error) {
	return appendLenBytes(append(b, s.Params, s.IDScheme), 2, s.Data, "SAKKE data")
}
