package mikey

// DH is the DH data payload (RFC 3830 §6.4), decoded for completeness; the DH method is not
// supported. The DH-value length follows from the group (Table 6.4).
type DH struct {
	Group uint8
	Value []byte
	KV    KVType
	SPI   []byte // KV SPI
	VF    []byte // KV Interval
	VT    []byte
	res   uint8 // the 4 reserved bits as received
}

func (*DH) PayloadType() PayloadType { return PayloadDH }

// DHValueLen is the DH-value length in bytes of a DH group, or -1 if it is unknown.
func DHValueLen(group uint8) int {
	switch group {
	case 0: // OAKLEY 5
		return 192
	case 1: // OAKLEY 1
		return 96
	case 2: // OAKLEY 2
		return 128
	}
	return -1
}

func (p *DH) parseBody(d *decoder) (err error) {
	off := d.off
	if p.Group, err = d.u8("DH-Group"); err != nil {
		return err
	}
	n := DHValueLen(p.Group)
	if n < 0 {
		return d.invalid(off, "DH-Group", "unknown DH group %d", p.Group)
	}
	if p.Value, err = d.bytes(n, "DH-value"); err != nil {
		return err
	}
	off = d.off
	kv, err := d.u8("Reserv/KV")
	if err != nil {
		return err
	}
	p.res, p.KV = kv>>4, KVType(kv&0x0f)
	p.SPI, p.VF, p.VT = nil, nil, nil
	switch p.KV {
	case KVNull:
	case KVSPI:
		p.SPI, err = d.lenBytes(1, "SPI")
	case KVInterval:
		if p.VF, err = d.lenBytes(1, "Valid From"); err == nil {
			p.VT, err = d.lenBytes(1, "Valid To")
		}
	default:
		return d.invalid(off, "KV", "unknown KV type %d", p.KV)
	}
	return err
}

func (p *DH) appendBody(b []byte) ([]byte, error) {
	n := DHValueLen(p.Group)
	if n < 0 || len(p.Value) != n {
		return nil, marshalError("DH DH-value", "group %d with a %d-byte value", p.Group, len(p.Value))
	}
	b = append(append(b, p.Group), p.Value...)
	b = append(b, p.res<<4|byte(p.KV))
	var err error
	switch p.KV {
	case KVNull:
	case KVSPI:
		b, err = appendLenBytes(b, 1, p.SPI, "DH SPI")
	case KVInterval:
		if b, err = appendLenBytes(b, 1, p.VF, "DH Valid From"); err == nil {
			b, err = appendLenBytes(b, 1, p.VT, "DH Valid To")
		}
	default:
		return nil, marshalError("DH KV", "unknown KV type %d", p.KV)
	}
	return b, err
}
