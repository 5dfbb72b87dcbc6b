package mikey

// PKE is the envelope data payload (RFC 3830 §6.3), decoded so that REQUEST_INIT_PK and
// RESOLVE_INIT_PK (RFC 6043 §4) parse; processing the PK variants is not supported.
type PKE struct {
	C    uint8 // envelope key cache indicator, 2 bits
	Data []byte
}

func (*PKE) PayloadType() PayloadType { return PayloadPKE }

func (p *PKE) parseBody(d *decoder) error {
	v, err := d.u16("C/Data len")
	if err != nil {
		return err
	}
	p.C = uint8(v >> 14)
	p.Data, err = d.bytesAt(int(v&0x3fff), d.off-2, "Data")
	return err
}

func (p *PKE) appendBody(b []byte) ([]byte, error) {
	if p.C > 3 {
		return nil, marshalError("PKE C", "%d does not fit in 2 bits", p.C)
	}
	if len(p.Data) > 0x3fff {
		return nil, marshalError("PKE Data len", "%d does not fit in 14 bits", len(p.Data))
	}
	return append(appendU16(b, uint16(p.C)<<14|uint16(len(p.Data))), p.Data...), nil
}
