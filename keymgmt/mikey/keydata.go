package mikey

import "fmt"

// KeyData is one Key data sub-payload (RFC 3830 §6.13, §6.14; RFC 6043 §6.2.1). Salt is present
// exactly for the +SALT types. KV data: SPI for KVSPI (RFC 6043 §6.2.1 requires one for every key
// in MIKEY-TICKET), VF and VT for KVInterval (the 6-byte SRTP index for SRTP).
type KeyData struct {
	Type KeyDataType
	KV   KVType
	Key  []byte
	Salt []byte
	SPI  []byte
	VF   []byte
	VT   []byte
}

// HasSalt reports whether key data of type t carries a Salt field.
func (t KeyDataType) HasSalt() bool { return t == KeyTGKSalt || t == KeyTEKSalt || t == KeyGTGKSalt }

// String redacts the key and salt: they are secrets.
func (k KeyData) String() string {
	return fmt.Sprintf("KeyData{Type: %d, KV: %d, Key: [%d bytes redacted], Salt: [%d bytes redacted], SPI: %x, VF: %x, VT: %x}",
		k.Type, k.KV, len(k.Key), len(k.Salt), k.SPI, k.VF, k.VT)
}

// GoString redacts as String does, so %#v cannot print the key.
func (k KeyData) GoString() string { return k.String() }

// ParseKeyDataList decodes the plaintext of a KEMAC's Encr data: Key data sub-payloads chained by
// Next Payload 20 (Key data), the last with 0 (RFC 3830 §6.2). Empty input is an empty list (an
// update message may carry no keys, RFC 3830 §6.2). Offsets in errors are relative to b, and the
// returned slices alias b.
func ParseKeyDataList(b []byte) ([]KeyData, error) {
	d := &decoder{b: b, end: len(b), ctx: "Key data"}
	var ks []KeyData
	for d.left() > 0 {
		npOff := d.off
		d.idx = len(ks) + 1
		np, err := d.u8("Next Payload")
		if err != nil {
			return nil, err
		}
		var k KeyData
		if err := k.parse(d, len(ks)+1); err != nil {
			return nil, err
		}
		ks = append(ks, k)
		switch PayloadType(np) {
		case PayloadLast:
			if d.left() > 0 {
				return nil, &ParseError{Offset: d.off, Field: "Key data list",
					Err: fmt.Errorf("%w: %d bytes after the last Key data", ErrTrailingBytes, d.left())}
			}
			return ks, nil
		case PayloadKeyData:
			if d.left() == 0 {
				d.idx = len(ks) + 1
				return nil, d.truncated(fmt.Sprintf("(announced by Next Payload at offset %d)", npOff), 4)
			}
		default:
			return nil, &ParseError{Offset: npOff, Field: "Key data Next Payload",
				Err: fmt.Errorf("%w: %d inside KEMAC (want 20 or 0)", ErrUnknownPayload, np)}
		}
	}
	return ks, nil
}

func (k *KeyData) parse(d *decoder, i int) error {
	off := d.off
	tkv, err := d.u8("Type/KV")
	if err != nil {
		return err
	}
	k.Type, k.KV = KeyDataType(tkv>>4), KVType(tkv&0x0f)
	if k.Type > KeyMPK {
		return d.invalid(off, "Type", "unknown key data type %d", k.Type)
	}
	if k.KV > KVInterval {
		return d.invalid(off, "KV", "unknown KV type %d", k.KV)
	}
	off = d.off
	if k.Key, err = d.lenBytes(2, "Key data"); err != nil {
		return err
	}
	if len(k.Key) == 0 {
		return d.invalid(off, "Key data length", "empty key")
	}
	if k.Type.HasSalt() {
		off = d.off
		if k.Salt, err = d.lenBytes(2, "Salt data"); err != nil {
			return err
		}
		if len(k.Salt) == 0 {
			return d.invalid(off, "Salt length", "empty salt in a +SALT key type")
		}
	}
	switch k.KV {
	case KVSPI:
		off = d.off
		if k.SPI, err = d.lenBytes(1, "SPI"); err != nil {
			return err
		}
		if len(k.SPI) == 0 {
			return d.invalid(off, "SPI length", "empty SPI with KV SPI")
		}
	case KVInterval:
		if k.VF, err = d.lenBytes(1, "Valid From"); err != nil {
			return err
		}
		if k.VT, err = d.lenBytes(1, "Valid To"); err != nil {
			return err
		}
	}
	return nil
}

// MarshalKeyDataList encodes key data sub-payloads as the plaintext of a KEMAC's Encr data.
func MarshalKeyDataList(ks []KeyData) ([]byte, error) {
	var b []byte
	for i := range ks {
		np := PayloadKeyData
		if i == len(ks)-1 {
			np = PayloadLast
		}
		var err error
		if b, err = ks[i].appendTo(append(b, byte(np)), i+1); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (k *KeyData) appendTo(b []byte, i int) ([]byte, error) {
	field := fmt.Sprintf("Key data %d", i)
	if k.Type > KeyMPK {
		return nil, marshalError(field+" Type", "unknown key data type %d", k.Type)
	}
	if len(k.Key) == 0 {
		return nil, marshalError(field, "empty key")
	}
	if k.Type.HasSalt() != (len(k.Salt) > 0) {
		return nil, marshalError(field+" Salt", "type %d with %d salt bytes", k.Type, len(k.Salt))
	}
	switch k.KV {
	case KVNull:
		if len(k.SPI)+len(k.VF)+len(k.VT) > 0 {
			return nil, marshalError(field+" KV", "KV Null with SPI or interval data")
		}
	case KVSPI:
		if len(k.SPI) == 0 || len(k.VF)+len(k.VT) > 0 {
			return nil, marshalError(field+" KV", "KV SPI needs an SPI and no interval")
		}
	case KVInterval:
		if len(k.SPI) > 0 {
			return nil, marshalError(field+" KV", "KV Interval with an SPI")
		}
	default:
		return nil, marshalError(field+" KV", "unknown KV type %d", k.KV)
	}
	b = append(b, byte(k.Type)<<4|byte(k.KV))
	b, err := appendLenBytes(b, 2, k.Key, field+" Key data")
	if err != nil {
		return nil, err
	}
	if k.Type.HasSalt() {
		if b, err = appendLenBytes(b, 2, k.Salt, field+" Salt data"); err != nil {
			return nil, err
		}
	}
	switch k.KV {
	case KVSPI:
		return appendLenBytes(b, 1, k.SPI, field+" SPI")
	case KVInterval:
		if b, err = appendLenBytes(b, 1, k.VF, field+" Valid From"); err != nil {
			return nil, err
		}
		return appendLenBytes(b, 1, k.VT, field+" Valid To")
	}
	return b, nil
}
