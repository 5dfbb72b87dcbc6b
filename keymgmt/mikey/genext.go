package mikey

import (
	"fmt"
	"strings"
)

// GeneralExt is the General Extension payload (RFC 3830 §6.15): Vendor ID (0), SDP IDs (1, RFC 4567
// §4.1) or Key ID (3, RFC 4563 §4).
type GeneralExt struct {
	Type GeneralExtType
	Data []byte
}

func (*GeneralExt) PayloadType() PayloadType { return PayloadGeneralExt }

func (g *GeneralExt) parseBody(d *decoder) (err error) {
	t, err := d.u8("type")
	if err != nil {
		return err
	}
	g.Type = GeneralExtType(t)
	g.Data, err = d.lenBytes(2, "data")
	return err
}

func (g *GeneralExt) appendBody(b []byte) ([]byte, error) {
	return appendLenBytes(append(b, byte(g.Type)), 2, g.Data, "General Ext data")
}

// NewSDPIDs builds the SDP IDs extension (RFC 4567 §4.1): the key management protocol IDs offered in
// the SDP, separated by ";", so that the receiver can detect a bidding-down attack.
func NewSDPIDs(ids ...string) *GeneralExt {
	return &GeneralExt{Type: GenExtSDPIDs, Data: []byte(strings.Join(ids, ";"))}
}

// SDPIDs returns the protocol IDs of an SDP IDs extension (RFC 4567 §4.1).
func (g *GeneralExt) SDPIDs() ([]string, error) {
	if g.Type != GenExtSDPIDs {
		return nil, fmt.Errorf("mikey: General Ext type %d is not SDP IDs", g.Type)
	}
	if len(g.Data) == 0 {
		return nil, nil
	}
	return strings.Split(string(g.Data), ";"), nil
}

// KeyID is one Key ID Type sub-payload of the Key ID extension (RFC 4563 §4).
type KeyID struct {
	Type uint8 // 0 MBMS Key Domain ID, 1 MBMS Service Key ID, 2 MBMS Traffic Key ID
	ID   []byte
}

// KeyIDs decodes the Key ID Information of a Key ID extension (RFC 4563 §4).
func (g *GeneralExt) KeyIDs() ([]KeyID, error) {
	if g.Type != GenExtKeyID {
		return nil, fmt.Errorf("mikey: General Ext type %d is not Key ID", g.Type)
	}
	d := &decoder{b: g.Data, end: len(g.Data), ctx: "Key ID"}
	var ks []KeyID
	for d.left() > 0 {
		t, err := d.u8("type")
		if err != nil {
			return nil, err
		}
		id, err := d.lenBytes(1, "value")
		if err != nil {
			return nil, err
		}
		ks = append(ks, KeyID{Type: t, ID: id})
	}
	return ks, nil
}

// NewKeyIDExt builds a Key ID extension (RFC 4563 §4).
func NewKeyIDExt(ks ...KeyID) (*GeneralExt, error) {
	var b []byte
	for _, k := range ks {
		var err error
		if b, err = appendLenBytes(append(b, k.Type), 1, k.ID, "Key ID"); err != nil {
			return nil, err
		}
	}
	if len(b) > 0xffff {
		return nil, marshalError("Key ID Information", "%d bytes", len(b))
	}
	return &GeneralExt{Type: GenExtKeyID, Data: b}, nil
}
