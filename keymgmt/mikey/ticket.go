package mikey

import "fmt"

// TICKET is the Ticket payload (RFC 6043 §6.10): the granted Ticket Policy, then Ticket Data (read
// only by the party that resolves the ticket; for the MIKEY base ticket see Appendix A) and
// Initiator Data (only with key forking, flag I: First Payload, Vi, Vr; see ParsePayloadData).
type TICKET struct {
	Policy        TP
	TicketData    []byte
	InitiatorData []byte
}

func (*TICKET) PayloadType() PayloadType { return PayloadTICKET }

func (t *TICKET) parseBody(d *decoder) (err error) {
	if err = t.Policy.parsePolicy(d, "TICKET"); err != nil {
		return err
	}
	if t.TicketData, err = d.lenBytes(2, "Ticket Data"); err != nil {
		return err
	}
	t.InitiatorData, err = d.lenBytes(2, "Initiator Data")
	return err
}

func (t *TICKET) appendBody(b []byte) ([]byte, error) {
	b, err := t.Policy.appendPolicy(b, "TICKET")
	if err != nil {
		return nil, err
	}
	if b, err = appendLenBytes(b, 2, t.TicketData, "TICKET Ticket Data"); err != nil {
		return nil, err
	}
	return appendLenBytes(b, 2, t.InitiatorData, "TICKET Initiator Data")
}

// InitiatorPayloads decodes the Initiator Data (RFC 6043 §6.10: First Payload, Vi, Vr). It returns
// Vi and Vr; other payloads SHOULD be ignored and are skipped when they can be delimited.
func (t *TICKET) InitiatorPayloads() (vi, vr *V, err error) {
	ps, err := ParsePayloadData(t.InitiatorData)
	if err != nil {
		return nil, nil, fmt.Errorf("mikey: TICKET Initiator Data: %w", err)
	}
	var vs []*V
	for _, p := range ps {
		if v, ok := p.(*V); ok {
			vs = append(vs, v)
		}
	}
	if len(vs) != 2 {
		return nil, nil, fmt.Errorf("mikey: TICKET Initiator Data: %w: %d V payloads, want Vi and Vr", ErrInvalidValue, len(vs))
	}
	return vs[0], vs[1], nil
}
