package mikey

import (
	"errors"
	"fmt"
	"strings"
)

// TicketFlags holds the flags D..O of the Ticket Policy (RFC 6043 §6.10), D in the most significant
// of the 12 low bits. On the wire D shares a byte with the PRF Func.
type TicketFlags uint16

const (
	FlagD TicketFlags = 1 << (11 - iota) // KMS generated the ticket (0: the Initiator did)
	FlagE                                // Ticket Resolve is mandatory
	FlagF                                // TRANSFER_RESP SHALL be sent
	FlagG                                // Responder SHALL generate RANDRr
	FlagH                                // RANDRi is used in TGK/GTGK key derivation
	FlagI                                // key forking
	FlagJ                                // ticket may be reused and cached
	FlagK                                // KMS changed the desired policy or KEMAC
	FlagL                                // Initiator MAY supply session keys
	FlagM                                // Responder MAY supply session keys
	FlagN                                // a generic Initiator can use the ticket
	FlagO                                // a generic Responder can process the ticket
)

const flagNames = "DEFGHIJKLMNO"

// Has reports whether all flags in g are set.
func (f TicketFlags) Has(g TicketFlags) bool { return f&g == g }

func (f TicketFlags) String() string {
	var s strings.Builder
	for i := 0; i < 12; i++ {
		if f&(FlagD>>i) != 0 {
			s.WriteByte(flagNames[i])
		} else {
			s.WriteByte('-')
		}
	}
	return s.String()
}

// Validate enforces the flag implications of RFC 6043 §6.10: NOT D ⇒ L, G ⇒ F, NOT G ⇒ H,
// NOT H ⇒ G, I ⇒ E, K ⇒ D, M ⇒ F. (The further rule "I and a TGK in the ticket ⇒ F" needs the
// ticket contents and is checked by the ticket code.)
func (f TicketFlags) Validate() error {
	var errs []error
	rule := func(cond bool, text string) {
		if cond {
			errs = append(errs, errors.New(text))
		}
	}
	rule(f&0xf000 != 0, "bits above the 12 flags are set")
	rule(!f.Has(FlagD) && !f.Has(FlagL), "NOT D requires L")
	rule(f.Has(FlagG) && !f.Has(FlagF), "G requires F")
	rule(!f.Has(FlagG) && !f.Has(FlagH), "NOT G requires H")
	rule(f.Has(FlagI) && !f.Has(FlagE), "I requires E")
	rule(f.Has(FlagK) && !f.Has(FlagD), "K requires D")
	rule(f.Has(FlagM) && !f.Has(FlagF), "M requires F")
	if len(errs) > 0 {
		return fmt.Errorf("mikey: ticket flags %v violate RFC 6043 §6.10: %w", f, errors.Join(errs...))
	}
	return nil
}

// TP is the Ticket Policy payload (RFC 6043 §6.10): the desired policy in REQUEST_INIT, and the
// granted policy inside TICKET.
type TP struct {
	TicketType    TicketType
	Subtype       uint8
	TicketVersion uint8
	PRF           PRFFunc // 7 bits; the PRF for key forking and MPK derivation
	Flags         TicketFlags
	// Data are the TP Data payloads in order: [IDRkms] [IDRi] [TRs] [TRe] [TRr] [KEMAC] {IDRapp} (IDRr).
	// They are encoded after a First Payload byte.
	Data []Payload
	// res keeps the 5 reserved bits as received so that a decoded TP re-encodes to the same bytes.
	res uint8
}

func (*TP) PayloadType() PayloadType { return PayloadTP }

// tpFixedLen is the TP up to and including the TP Data length, without the Next Payload.
const tpFixedLen = 9

func (p *TP) parseBody(d *decoder) error { return p.parsePolicy(d, "TP") }

func (p *TP) parsePolicy(d *decoder, field string) error {
	if d.left() < tpFixedLen {
		return d.truncated("", tpFixedLen)
	}
	b := d.b[d.off:]
	p.TicketType = TicketType(uint16(b[0])<<8 | uint16(b[1]))
	p.Subtype, p.TicketVersion = b[2], b[3]
	w := uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6])
	p.PRF = PRFFunc(w >> 17)
	p.Flags = TicketFlags(w>>5) & 0xfff
	p.res = uint8(w & 0x1f)
	d.off += 7
	lenOff := d.off
	n, _ := d.u16("TP Data length")
	if int(n) > d.left() {
		return d.overrun(lenOff, "TP Data length", int(n))
	}
	if n == 0 {
		// TP Data begins with a First Payload byte (RFC 6043 §6.10), so it is never empty.
		return d.invalid(lenOff, "TP Data length", "0, but TP Data holds at least the First Payload byte")
	}
	inner := "TP Data"
	if field == "TICKET" {
		inner = "TICKET TP Data"
	}
	var err error
	p.Data, err = parsePayloadData(d.sub(int(n)), inner)
	return err
}

func (p *TP) appendBody(b []byte) ([]byte, error) { return p.appendPolicy(b, "TP") }

func (p *TP) appendPolicy(b []byte, field string) ([]byte, error) {
	if p.PRF > 0x7f {
		return nil, marshalError(field+" PRF Func", "%d does not fit in 7 bits", p.PRF)
	}
	if p.Flags > 0xfff || p.res > 0x1f {
		return nil, marshalError(field+" flags", "bits outside D..O set: %#x", p.Flags)
	}
	w := uint32(p.PRF)<<17 | uint32(p.Flags)<<5 | uint32(p.res)
	b = appendU16(b, uint16(p.TicketType))
	b = append(b, p.Subtype, p.TicketVersion, byte(w>>16), byte(w>>8), byte(w))
	lenAt := len(b)
	b, err := appendPayloadData(append(b, 0, 0), p.Data)
	if err != nil {
		return nil, fmt.Errorf("mikey: marshal %s TP Data: %w", field, err)
	}
	n := len(b) - lenAt - 2
	if n > 0xffff {
		return nil, marshalError(field+" TP Data length", "%d bytes", n)
	}
	b[lenAt], b[lenAt+1] = byte(n>>8), byte(n)
	return b, nil
}

// IDRs returns the TP Data IDR payloads with the given role, in order.
func (p *TP) IDRs(role IDRole) []*IDR {
	var out []*IDR
	for _, q := range p.Data {
		if r, ok := q.(*IDR); ok && r.Role == role {
			out = append(out, r)
		}
	}
	return out
}

// TR returns the first TP Data TR payload with the given role.
func (p *TP) TR(role TSRole) *TR {
	for _, q := range p.Data {
		if r, ok := q.(*TR); ok && r.Role == role {
			return r
		}
	}
	return nil
}

// KEMAC returns the desired KEMAC of the TP Data, if any.
func (p *TP) KEMAC() *KEMAC {
	for _, q := range p.Data {
		if k, ok := q.(*KEMAC); ok {
			return k
		}
	}
	return nil
}
