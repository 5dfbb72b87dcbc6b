package mikey

// Deviations from and additions to the shapes in MIKEY-API.md (kept minimal):
//   - Payloads are pointers (*T, *IDR, ...); only pointer types implement Payload.
//   - A built HDR with Version 0 is encoded as version 1.
//   - ERR and TP keep their reserved bits in unexported fields, so decode→encode is byte-exact.
//   - MACInput also accepts a message whose last payload is a KEMAC carrying the MAC (RFC 3830 PSK
//     init, §5.2), and for a built message (Raw nil) the final V or KEMAC MAC may be left empty.
//   - The parser enforces the wire format only; TicketFlags.Validate, the payload order of each
//     message type and the Empty-map/SP rule (RFC 4563 §5) are checked by the exchange code.
//   - Extra payload types for PK/DH/SAKKE messages: PKE, DH, SIGN, CERT, SAKKE (opaque).

import (
	"bytes"
	"fmt"
	"strings"
)

// Message is a MIKEY message (RFC 3830 §6, RFC 6043 §6): the HDR and the payloads that follow it.
type Message struct {
	HDR      HDR
	Payloads []Payload // after HDR, in wire order; next-payload chaining computed by Marshal
	Raw      []byte    // the bytes as parsed (nil for a built message until Marshal)

	// lay locates payloads in layRaw, the Raw it was recorded for.
	lay    chainLayout
	layRaw []byte
}

// ParseMessage decodes a MIKEY message. It copies b into Raw, and the payloads alias Raw. Unknown
// payload types, truncated fields, overrunning lengths, trailing bytes and impossible values are
// *ParseError values with the byte offset.
func ParseMessage(b []byte) (*Message, error) {
	raw := bytes.Clone(b)
	m := &Message{Raw: raw}
	d := &decoder{b: raw, end: len(raw)}
	next, err := m.HDR.parse(d)
	if err != nil {
		return nil, err
	}
	if m.Payloads, m.lay, err = parseChain(d, next, 2, false); err != nil {
		return nil, err
	}
	if d.off != d.end {
		return nil, &ParseError{Offset: d.off, Field: "message",
			Err: fmt.Errorf("%w: %d bytes after the last payload", ErrTrailingBytes, d.left())}
	}
	m.layRaw = raw
	return m, nil
}

// Marshal encodes the message, stores the result in Raw and returns it.
func (m *Message) Marshal() ([]byte, error) {
	b, lay, err := m.marshal(false)
	if err != nil {
		return nil, err
	}
	m.Raw, m.lay, m.layRaw = b, lay, b
	return b, nil
}

func (m *Message) marshal(placeholder bool) ([]byte, chainLayout, error) {
	b, err := m.HDR.appendTo(make([]byte, 0, 256), firstType(m.Payloads))
	if err != nil {
		return nil, chainLayout{}, err
	}
	return appendChain(b, m.Payloads, false, placeholder)
}

// MACInput returns the MAC input of RFC 3830 §5.2 / RFC 6043 Table 5.2 that comes from the message
// itself: the encoded message up to, not including, the MAC bytes of its final V payload (or of a
// final KEMAC, RFC 3830 PSK init). With excludeInitiatorData the TICKET's Initiator Data length and
// Initiator Data are cut out (TRANSFER_INIT). It works on Raw when Raw is set (a parsed message, or
// one that was marshaled), otherwise on a fresh encoding in which the final MAC may still be empty.
// The identities and other data appended after the message are the exchange's business.
func (m *Message) MACInput(excludeInitiatorData bool) ([]byte, error) {
	raw, lay, ps := m.Raw, m.lay, m.Payloads
	switch {
	case raw == nil:
		var err error
		if raw, lay, err = m.marshal(true); err != nil {
			return nil, err
		}
	case !sameSlice(raw, m.layRaw):
		pm, err := ParseMessage(raw)
		if err != nil {
			return nil, fmt.Errorf("mikey: MAC input: Raw does not parse: %w", err)
		}
		raw, lay, ps = pm.Raw, pm.lay, pm.Payloads
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("mikey: MAC input: %w: message has no payloads", ErrInvalidValue)
	}
	start := lay.starts[len(ps)-1]
	var macOff int
	switch p := ps[len(ps)-1].(type) {
	case *V:
		macOff = start + 2
	case *KEMAC:
		macOff = start + 4 + len(p.EncrData) + 1
	default:
		return nil, fmt.Errorf("mikey: MAC input: %w: last payload is %v, not V or KEMAC", ErrInvalidValue, p.PayloadType())
	}
	if macOff > len(raw) {
		return nil, fmt.Errorf("mikey: MAC input: %w: Raw is shorter than its payloads", ErrInvalidValue)
	}
	if !excludeInitiatorData {
		return bytes.Clone(raw[:macOff]), nil
	}
	if lay.ticketInitOff < 0 {
		return nil, fmt.Errorf("mikey: MAC input: %w: no TICKET whose Initiator Data to leave out", ErrInvalidValue)
	}
	out := make([]byte, 0, macOff)
	out = append(out, raw[:lay.ticketInitOff]...)
	return append(out, raw[lay.ticketInitEnd:macOff]...), nil
}

func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// find returns the first payload of type T.
func find[P Payload](m *Message) P {
	for _, p := range m.Payloads {
		if q, ok := p.(P); ok {
			return q
		}
	}
	var zero P
	return zero
}

// T returns the first T payload, or nil.
func (m *Message) T() *T { return find[*T](m) }

// RAND returns the first RAND payload, or nil.
func (m *Message) RAND() *RAND { return find[*RAND](m) }

// KEMAC returns the first KEMAC payload, or nil.
func (m *Message) KEMAC() *KEMAC { return find[*KEMAC](m) }

// TICKET returns the first TICKET payload, or nil.
func (m *Message) TICKET() *TICKET { return find[*TICKET](m) }

// TP returns the first TP payload, or nil.
func (m *Message) TP() *TP { return find[*TP](m) }

// V returns the first V payload, or nil.
func (m *Message) V() *V { return find[*V](m) }

// ERR returns the first ERR payload, or nil.
func (m *Message) ERR() *ERR { return find[*ERR](m) }

// CHASH returns the first CHASH payload, or nil.
func (m *Message) CHASH() *CHASH { return find[*CHASH](m) }

// GeneralExt returns the first General Extension of the given type, or nil.
func (m *Message) GeneralExt(t GeneralExtType) *GeneralExt {
	for _, p := range m.Payloads {
		if g, ok := p.(*GeneralExt); ok && g.Type == t {
			return g
		}
	}
	return nil
}

// IDR returns the first IDR payload with the given role, or nil.
func (m *Message) IDR(role IDRole) *IDR {
	for _, p := range m.Payloads {
		if q, ok := p.(*IDR); ok && q.Role == role {
			return q
		}
	}
	return nil
}

// RANDR returns the first RANDR payload with the given role, or nil.
func (m *Message) RANDR(role RANDRole) *RANDR {
	for _, p := range m.Payloads {
		if q, ok := p.(*RANDR); ok && q.Role == role {
			return q
		}
	}
	return nil
}

// TR returns the first TR payload with the given role, or nil.
func (m *Message) TR(role TSRole) *TR {
	for _, p := range m.Payloads {
		if q, ok := p.(*TR); ok && q.Role == role {
			return q
		}
	}
	return nil
}

// SPs returns the SP payloads in order.
func (m *Message) SPs() []*SP { return findAll[*SP](m) }

// ID returns the ID payloads in order.
func (m *Message) ID() []*ID { return findAll[*ID](m) }

func findAll[P Payload](m *Message) []P {
	var out []P
	for _, p := range m.Payloads {
		if q, ok := p.(P); ok {
			out = append(out, q)
		}
	}
	return out
}

// String summarises the message without payload contents (Raw may hold keys in clear when a KEMAC
// uses NULL encryption).
func (m Message) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "MIKEY{data type %d, CSB ID %#08x, #CS %d, map %d, payloads [", m.HDR.DataType, m.HDR.CSBID, m.HDR.NumCS, m.HDR.CSIDMapType)
	for i, p := range m.Payloads {
		if i > 0 {
			b.WriteByte(' ')
		}
		if p == nil {
			b.WriteString("nil")
			continue
		}
		b.WriteString(p.PayloadType().String())
	}
	fmt.Fprintf(&b, "], %d raw bytes}", len(m.Raw))
	return b.String()
}

// GoString redacts as String does.
func (m Message) GoString() string { return m.String() }
