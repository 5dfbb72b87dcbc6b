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

// inChain reports whether newPayload(t, inner) gives a payload, without allocating it.
func inChain(t PayloadType, inner bool) bool {
	switch t {
	case PayloadKEMAC, PayloadPKE, PayloadDH, PayloadSIGN, PayloadT, PayloadID, PayloadCERT, PayloadCHASH,
		PayloadV, PayloadSP, PayloadRAND, PayloadERR, PayloadTR, PayloadIDR, PayloadRANDR,
		PayloadGeneralExt, PayloadSAKKE:
		return true
	case PayloadTP, PayloadTICKET:
		return !inner
	}
	return false
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
	lay := chainLayout{ticketInitOff: -1, starts: make([]int, 0, 8)}
	ps := make([]Payload, 0, 8)
	for next != PayloadLast {
		start := d.off
		p := newPayload(next, inner)
		if p == nil {
			return nil, lay, &ParseError{Offset: nextOff, Field: "Next Payload",
				Err: fmt.Errorf("%w: %d (%v)", ErrUnknownPayload, uint8(next), next)}
		}
		np := PayloadLast
		npOff := d.off
		d.ctx, d.idx = next.String(), 0
		if next != PayloadSIGN {
			v, err := d.u8("Next Payload")
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
	lay := chainLayout{ticketInitOff: -1}
	if !inner {
		lay.starts = make([]int, 0, len(ps))
	}
	for i, p := range ps {
		if p == nil {
			return nil, lay, marshalError("payload list", "payload %d is nil", i)
		}
		t := p.PayloadType()
		if !inChain(t, inner) {
			return nil, lay, marshalError("payload list", "%v cannot appear here (payload %d)", t, i)
		}
		next := PayloadLast
		if i+1 < len(ps) {
			if ps[i+1] == nil {
				return nil, lay, marshalError("payload list", "payload %d is nil", i+1)
			}
			next = ps[i+1].PayloadType()
		}
		if !inner {
			lay.starts = append(lay.starts, len(b))
		}
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
	d.ctx, d.idx = field, 0
	first, err := d.u8("First Payload")
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

// decoder reads big-endian fields from b[off:end]; offsets in its errors index b. ctx (and idx,
// when not 0) name the payload or item being read; the field names passed to the read methods are
// joined to them only when an error is built, so that decoding valid input allocates no strings.
type decoder struct {
	b   []byte
	off int
	end int
	ctx string
	idx int
}

func (d *decoder) left() int { return d.end - d.off }

// name is the full field name of field f in the current context.
func (d *decoder) name(f string) string {
	switch {
	case d.idx > 0 && f == "":
		return fmt.Sprintf("%s %d", d.ctx, d.idx)
	case d.idx > 0:
		return fmt.Sprintf("%s %d %s", d.ctx, d.idx, f)
	case d.ctx == "":
		return f
	case f == "":
		return d.ctx
	}
	return d.ctx + " " + f
}

func (d *decoder) truncated(f string, n int) error {
	return &ParseError{Offset: d.off, Field: d.name(f),
		Err: fmt.Errorf("%w: need %d bytes, %d left", ErrTruncated, n, d.left())}
}

func (d *decoder) overrun(lenOff int, f string, n int) error {
	return &ParseError{Offset: lenOff, Field: d.name(f),
		Err: fmt.Errorf("%w: length %d overruns the %d bytes left", ErrTruncated, n, d.left())}
}

// invalid reports an impossible value of field f at offset off.
func (d *decoder) invalid(off int, f string, format string, args ...any) error {
	return &ParseError{Offset: off, Field: d.name(f),
		Err: fmt.Errorf("%w: %s", ErrInvalidValue, fmt.Sprintf(format, args...))}
}

func invalid(off int, field string, format string, args ...any) error {
	return &ParseError{Offset: off, Field: field,
		Err: fmt.Errorf("%w: %s", ErrInvalidValue, fmt.Sprintf(format, args...))}
}

// bytes returns the next n bytes (nil for n == 0), aliasing the input.
func (d *decoder) bytes(n int, f string) ([]byte, error) {
	if n > d.left() {
		return nil, d.truncated(f, n)
	}
	if n == 0 {
		return nil, nil
	}
	v := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return v, nil
}

func (d *decoder) u8(f string) (uint8, error) {
	if d.left() < 1 {
		return 0, d.truncated(f, 1)
	}
	v := d.b[d.off]
	d.off++
	return v, nil
}

func (d *decoder) u16(f string) (uint16, error) {
	if d.left() < 2 {
		return 0, d.truncated(f, 2)
	}
	v := binary.BigEndian.Uint16(d.b[d.off:])
	d.off += 2
	return v, nil
}

func (d *decoder) u64(f string) (uint64, error) {
	if d.left() < 8 {
		return 0, d.truncated(f, 8)
	}
	v := binary.BigEndian.Uint64(d.b[d.off:])
	d.off += 8
	return v, nil
}

// lenBytes reads a length field of size 1 or 2 bytes (named f + " length") and then that many bytes.
func (d *decoder) lenBytes(size int, f string) ([]byte, error) {
	lenOff := d.off
	if d.left() < size {
		return nil, d.truncated(f+" length", size)
	}
	n := int(d.b[d.off])
	if size == 2 {
		n = n<<8 | int(d.b[d.off+1])
	}
	d.off += size
	if n > d.left() {
		return nil, d.overrun(lenOff, f+" length", n)
	}
	return d.bytes(n, f)
}

// bytesAt reads n bytes whose length field is at lenOff, reporting an overrun there.
func (d *decoder) bytesAt(n, lenOff int, f string) ([]byte, error) {
	if n > d.left() {
		return nil, d.overrun(lenOff, f+" length", n)
	}
	return d.bytes(n, f)
}

// sub returns a decoder over the next n bytes and advances past them.
func (d *decoder) sub(n int) *decoder {
	s := &decoder{b: d.b, off: d.off, end: d.off + n, ctx: d.ctx}
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
