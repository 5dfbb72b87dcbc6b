package mikey

import (
	"encoding/binary"
	"fmt"
)

// Payload is one MIKEY payload after HDR (RFC 3830 §6, RFC 6043 §6). The concrete types are
// pointers (*T, *RANDR, *KEMAC, ...); the Next Payload chaining is not stored in them but computed
// from their order when a list is encoded, so a decoded list re-encodes to the same bytes.
type Payload interface {
	PayloadType() PayloadType
	// appendBody appends the payload without its Next Payload field.
	appendBody(b []byte) ([]byte, error)
	// parseBody reads the payload after its Next Payload field.
	parseBody(d *decoder) error
}

var payloadNames = map[PayloadType]string{
	PayloadLast: "Last", PayloadKEMAC: "KEMAC", PayloadPKE: "PKE", PayloadDH: "DH", PayloadSIGN: "SIGN",
	PayloadT: "T", PayloadID: "ID", PayloadCERT: "CERT", PayloadCHASH: "CHASH", PayloadV: "V",
	PayloadSP: "SP", PayloadRAND: "RAND", PayloadERR: "ERR", PayloadTR: "TR", PayloadIDR: "IDR",
	PayloadRANDR: "RANDR", PayloadTP: "TP", PayloadTICKET: "TICKET", PayloadKeyData: "Key data",
	PayloadGeneralExt: "General Ext", PayloadSAKKE: "SAKKE",
}

func (t PayloadType) String() string {
	if s, ok := payloadNames[t]; ok {
		return s
	}
	return fmt.Sprintf("payload(%d)", uint8(t))
}

// newPayload returns an empty payload of type t, or nil if t cannot appear in a payload chain.
// Inside TP Data and Initiator Data (inner) TP and TICKET cannot nest.
func newPayload(t PayloadType, inner bool) Payload {
	switch t {
	case PayloadKEMAC:
		return new(KEMAC)
	case PayloadPKE:
		return new(PKE)
	case PayloadDH:
		return new(DH)
	case PayloadSIGN:
		return new(SIGN)
	case PayloadT:
		return new(T)
	case PayloadID:
		return new(ID)
	case PayloadCERT:
		return new(CERT)
	case PayloadCHASH:
		return new(CHASH)
	case PayloadV:
		return new(V)
	case PayloadSP:
		return new(SP)
	case PayloadRAND:
		return new(RAND)
	case PayloadERR:
		return new(ERR)
	case PayloadTR:
		return new(TR)
	case PayloadIDR:
		return new(IDR)
	case PayloadRANDR:
		return new(RANDR)
	case PayloadGeneralExt:
		return new(GeneralExt)
	case PayloadSAKKE:
		return new(SAKKE)
	case PayloadTP:
		if !inner {
			return new(TP)
		}
	case PayloadTICKET:
		if !inner {
			return new(TICKET)
		}
	}
	return nil
}

// chainLayout records where each payload of an encoded chain starts, and for a TICKET where its
// Initiator Data length field starts and the Initiator Data ends (RFC 6043 Table 5.2 leaves them out
// of the TRANSFER_INIT MAC).
type chainLayout struct {
	starts        []int
	ticketInitOff int // -1 if no TICKET
	ticketInitEnd int
}

// parseChain decodes payloads beginning with type next (named by the byte at nextOff) until a
// payload whose Next Payload is Last. SIGN has no Next Payload field and always ends a chain
// (RFC 3830 §6.5).
func parseChain(d *decoder, next PayloadType, nextOff int, inner bool) ([]Payload, chainLayout, error) {
	lay := chainLayout{ticketInitOff: -1}
	var ps []Payload
	for next != PayloadLast {
		start := d.off
		p := newPayload(next, inner)
		if p == nil {
			return nil, lay, &ParseError{Offset: nextOff, Field: "Next Payload",
				Err: fmt.Errorf("%w: %d (%v)", ErrUnknownPayload, uint8(next), next)}
		}
		np := PayloadLast
		npOff := d.off
		if next != PayloadSIGN {
			v, err := d.u8(next.String() + " Next Payload")
			if err != nil {
				return nil, lay, err
			}
			np = PayloadType(v)
		}
		if err := p.parseBody(d); err != nil {
			return nil, lay, err
		}
		if t, ok := p.(*TICKET); ok && lay.ticketInitOff < 0 {
			lay.ticketInitEnd = d.off
			lay.ticketInitOff = d.off - 2 - len(t.InitiatorData)
		}
		ps = append(ps, p)
		lay.starts = append(lay.starts, start)
		next, nextOff = np, npOff
	}
	return ps, lay, nil
}

// firstType is the type to put in the field that names the first payload of ps.
func firstType(ps []Payload) PayloadType {
	if len(ps) == 0 {
		return PayloadLast
	}
	return ps[0].PayloadType()
}

// appendChain encodes ps with their Next Payload fields; the caller writes firstType(ps) before.
// With placeholder, a final V or KEMAC may have an empty MAC (the MAC input of a message whose MAC
// is not computed yet).
func appendChain(b []byte, ps []Payload, inner, placeholder bool) ([]byte, chainLayout, error) {
	lay := chainLayout{ticketInitOff: -1, starts: make([]int, 0, len(ps))}
	for i, p := range ps {
		if p == nil {
			return nil, lay, marshalError("payload list", "payload %d is nil", i)
		}
		t := p.PayloadType()
		if newPayload(t, inner) == nil {
			return nil, lay, marshalError("payload list", "%v cannot appear here (payload %d)", t, i)
		}
		next := PayloadLast
		if i+1 < len(ps) {
			if ps[i+1] == nil {
				return nil, lay, marshalError("payload list", "payload %d is nil", i+1)
			}
			next = ps[i+1].PayloadType()
		}
		lay.starts = append(lay.starts, len(b))
		if t == PayloadSIGN {
			if next != PayloadLast {
				return nil, lay, marshalError("SIGN", "SIGN must be the last payload (RFC 3830 §6.5), payload %d of %d", i, len(ps))
			}
		} else {
			b = append(b, byte(next))
		}
		var err error
		switch q := p.(type) {
		case *V:
			if placeholder && next == PayloadLast {
				b, err = appendMAC(b, q.MACAlg, q.MAC, "V", true)
				break
			}
			b, err = q.appendBody(b)
		case *KEMAC:
			b, err = q.appendBodyMAC(b, placeholder && next == PayloadLast)
		default:
			b, err = p.appendBody(b)
		}
		if err != nil {
			return nil, lay, err
		}
		if tk, ok := p.(*TICKET); ok && lay.ticketInitOff < 0 {
			lay.ticketInitEnd = len(b)
			lay.ticketInitOff = len(b) - 2 - len(tk.InitiatorData)
		}
	}
	return b, lay, nil
}

// ParsePayloadData decodes the "First Payload, payloads..." form used by TP Data and Initiator Data
// (RFC 6043 §6.10). Offsets in errors are relative to b; the payloads alias b.
func ParsePayloadData(b []byte) ([]Payload, error) {
	d := &decoder{b: b, end: len(b)}
	return parsePayloadData(d, "payload data")
}

func parsePayloadData(d *decoder, field string) ([]Payload, error) {
	off := d.off
	first, err := d.u8(field + " First Payload")
	if err != nil {
		return nil, err
	}
	ps, _, err := parseChain(d, PayloadType(first), off, true)
	if err != nil {
		return nil, err
	}
	if d.off != d.end {
		return nil, &ParseError{Offset: d.off, Field: field,
			Err: fmt.Errorf("%w: %d bytes after the last payload", ErrTrailingBytes, d.end-d.off)}
	}
	return ps, nil
}

// MarshalPayloadData encodes ps in the "First Payload, payloads..." form of TP Data and Initiator
// Data (RFC 6043 §6.10). An empty list encodes as the single byte Last (0).
func MarshalPayloadData(ps []Payload) ([]byte, error) {
	return appendPayloadData(nil, ps)
}

func appendPayloadData(b []byte, ps []Payload) ([]byte, error) {
	b = append(b, byte(firstType(ps)))
	b, _, err := appendChain(b, ps, true, false)
	return b, err
}

// decoder reads big-endian fields from b[off:end]; offsets in its errors index b.
type decoder struct {
	b   []byte
	off int
	end int
}

func (d *decoder) left() int { return d.end - d.off }

func (d *decoder) truncated(field string, n int) error {
	return &ParseError{Offset: d.off, Field: field,
		Err: fmt.Errorf("%w: need %d bytes, %d left", ErrTruncated, n, d.left())}
}

func invalid(off int, field string, format string, args ...any) error {
	return &ParseError{Offset: off, Field: field,
		Err: fmt.Errorf("%w: %s", ErrInvalidValue, fmt.Sprintf(format, args...))}
}

// bytes returns the next n bytes (nil for n == 0), aliasing the input.
func (d *decoder) bytes(n int, field string) ([]byte, error) {
	if n > d.left() {
		return nil, d.truncated(field, n)
	}
	if n == 0 {
		return nil, nil
	}
	v := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return v, nil
}

func (d *decoder) u8(field string) (uint8, error) {
	if d.left() < 1 {
		return 0, d.truncated(field, 1)
	}
	v := d.b[d.off]
	d.off++
	return v, nil
}

func (d *decoder) u16(field string) (uint16, error) {
	if d.left() < 2 {
		return 0, d.truncated(field, 2)
	}
	v := binary.BigEndian.Uint16(d.b[d.off:])
	d.off += 2
	return v, nil
}

func (d *decoder) u32(field string) (uint32, error) {
	if d.left() < 4 {
		return 0, d.truncated(field, 4)
	}
	v := binary.BigEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v, nil
}

func (d *decoder) u64(field string) (uint64, error) {
	if d.left() < 8 {
		return 0, d.truncated(field, 8)
	}
	v := binary.BigEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v, nil
}

// lenBytes reads a length field of size 1 or 2 bytes and then that many bytes.
func (d *decoder) lenBytes(size int, field string) ([]byte, error) {
	var n int
	switch size {
	case 1:
		v, err := d.u8(field + " length")
		if err != nil {
			return nil, err
		}
		n = int(v)
	default:
		v, err := d.u16(field + " length")
		if err != nil {
			return nil, err
		}
		n = int(v)
	}
	if n > d.left() {
		return nil, &ParseError{Offset: d.off - size, Field: field + " length",
			Err: fmt.Errorf("%w: length %d overruns the %d bytes left", ErrTruncated, n, d.left())}
	}
	return d.bytes(n, field)
}

// bytesAt reads n bytes whose length field is at lenOff, reporting an overrun there.
func (d *decoder) bytesAt(n, lenOff int, field string) ([]byte, error) {
	if n > d.left() {
		return nil, &ParseError{Offset: lenOff, Field: field + " length",
			Err: fmt.Errorf("%w: length %d overruns the %d bytes left", ErrTruncated, n, d.left())}
	}
	return d.bytes(n, field)
}

// sub returns a decoder over the next n bytes and advances past them.
func (d *decoder) sub(n int) *decoder {
	s := &decoder{b: d.b, off: d.off, end: d.off + n}
	d.off += n
	return s
}

func appendU16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

// appendLenBytes writes a 1- or 2-byte length field and v, failing if v does not fit.
func appendLenBytes(b []byte, size int, v []byte, field string) ([]byte, error) {
	max := 0xff
	if size == 2 {
		max = 0xffff
	}
	if len(v) > max {
		return nil, marshalError(field, "length %d exceeds %d", len(v), max)
	}
	if size == 1 {
		b = append(b, byte(len(v)))
	} else {
		b = appendU16(b, uint16(len(v)))
	}
	return append(b, v...), nil
}
