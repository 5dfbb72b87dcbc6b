package mikey

// ID is the identity payload (RFC 3830 §6.7; byte string type from RFC 6043 §6.5). MIKEY-TICKET
// messages use IDR instead (RFC 6043 §6.6).
type ID struct {
	Type IDType
	Data []byte
}

func (*ID) PayloadType() PayloadType { return PayloadID }

// CertType is the CERT payload certificate type (RFC 3830 §6.7, Table 6.7.b).
type CertType uint8

const (
	CertX509v3     CertType = 0
	CertX509v3URL  CertType = 1
	CertX509v3Sign CertType = 2
	CertX509v3Encr CertType = 3
)

// CERT is the certificate payload, laid out as ID (RFC 3830 §6.7). Only PK variants carry it; the
// data is kept opaque.
type CERT struct {
	Type CertType
	Data []byte
}

func (*CERT) PayloadType() PayloadType { return PayloadCERT }

// parseTypedData reads Type(1) Len(2) Data, rejecting empty data: an identity or certificate
// without bytes names nothing.
func parseTypedData(d *decoder) (uint8, []byte, error) {
	t, err := d.u8("type")
	if err != nil {
		return 0, nil, err
	}
	off := d.off
	data, err := d.lenBytes(2, "data")
	if err != nil {
		return 0, nil, err
	}
	if len(data) == 0 {
		return 0, nil, d.invalid(off, "data length", "empty data")
	}
	return t, data, nil
}

func appendTypedData(b []byte, t uint8, data []byte, field string) ([]byte, error) {
	if len(data) == 0 {
		return nil, marshalError(field, "empty data")
	}
	return appendLenBytes(append(b, t), 2, data, field)
}

func (p *ID) parseBody(d *decoder) error {
	t, data, err := parseTypedData(d)
	p.Type, p.Data = IDType(t), data
	return err
}

func (p *ID) appendBody(b []byte) ([]byte, error) {
	return appendTypedData(b, uint8(p.Type), p.Data, "ID")
}

func (p *CERT) parseBody(d *decoder) error {
	t, data, err := parseTypedData(d)
	p.Type, p.Data = CertType(t), data
	return err
}

func (p *CERT) appendBody(b []byte) ([]byte, error) {
	return appendTypedData(b, uint8(p.Type), p.Data, "CERT")
}
