package mikey

import (
	"encoding/binary"
	"fmt"
)

// HDR is the Common Header payload (RFC 3830 §6.1, RFC 6043 §6.1). Its Next Payload field (byte 2)
// is written by Message.Marshal from the first payload.
type HDR struct {
	Version  uint8 // must be 1; 0 in a built HDR is encoded as 1
	DataType DataType
	V        bool    // response expected (RFC 3830 §6.1); RFC 6043 §6.1 says receivers ignore it
	PRF      PRFFunc // 7 bits
	CSBID    uint32

	CSIDMapType CSIDMapType
	NumCS       uint8            // #CS as on the wire (checked against the map on Marshal)
	SRTPIDs     []SRTPIDEntry    // map type 0 (RFC 3830 §6.1.1)
	GenericIDs  []GenericIDEntry // map type 2 (RFC 6043 §6.1.1)
}

// SRTPIDEntry is one crypto session of the SRTP-ID map (RFC 3830 §6.1.1). The i-th entry (from 1)
// has CS ID i; SSRC 0 means the Responder fills it in.
type SRTPIDEntry struct {
	PolicyNo uint8
	SSRC     uint32
	ROC      uint32
}

// GenericIDEntry is one crypto session block of the GENERIC-ID map (RFC 6043 §6.1.1).
type GenericIDEntry struct {
	CSID      uint8
	ProtType  ProtType
	S         bool    // for SRTP: Session Data carries ROC and SEQ
	PolicyNos []uint8 // Ps; #P = len(PolicyNos) <= 127; exactly 1 in response messages
	// SessionData is raw; for SRTP it is SSRC(4) [ROC(4) SEQ(2)], see SRTPSession. Empty allowed in
	// an initial message.
	SessionData []byte
	SPI         []byte // the SRTP MKI of the key to use first; empty allowed in an initial message
}

// hdrFixedLen is the HDR up to and including the CS ID map type.
const hdrFixedLen = 10

// SRTPSession decodes SessionData for Prot type SRTP (RFC 6043 §6.1.1). ok is false when the
// Session Data is empty (allowed in an initial message); ROC and SEQ are zero unless S is set.
func (e *GenericIDEntry) SRTPSession() (ssrc, roc uint32, seq uint16, ok bool, err error) {
	if e.ProtType != ProtSRTP {
		return 0, 0, 0, false, fmt.Errorf("mikey: GENERIC-ID CS %d: prot type %d is not SRTP", e.CSID, e.ProtType)
	}
	if err := checkSRTPSessionData(e.S, len(e.SessionData)); err != nil {
		return 0, 0, 0, false, fmt.Errorf("mikey: GENERIC-ID CS %d: %w", e.CSID, err)
	}
	if len(e.SessionData) == 0 {
		return 0, 0, 0, false, nil
	}
	ssrc = binary.BigEndian.Uint32(e.SessionData)
	if e.S {
		roc = binary.BigEndian.Uint32(e.SessionData[4:])
		seq = binary.BigEndian.Uint16(e.SessionData[8:])
	}
	return ssrc, roc, seq, true, nil
}

// SRTPSessionData builds SRTP Session Data: SSRC alone, or with ROC and SEQ (then set S).
func SRTPSessionData(ssrc uint32, withROCSEQ bool, roc uint32, seq uint16) []byte {
	b := appendU32(make([]byte, 0, 10), ssrc)
	if withROCSEQ {
		b = appendU32(b, roc)
		b = appendU16(b, seq)
	}
	return b
}

// checkSRTPSessionData: SRTP Session Data is empty, SSRC (S = 0) or SSRC ROC SEQ (S = 1).
func checkSRTPSessionData(s bool, n int) error {
	if n == 0 {
		return nil
	}
	want := 4
	if s {
		want = 10
	}
	if n != want {
		return fmt.Errorf("%w: SRTP Session Data length %d, want %d with S=%v", ErrInvalidValue, n, want, s)
	}
	return nil
}

// parse reads the HDR from the start of d and returns the type of the first payload.
func (h *HDR) parse(d *decoder) (PayloadType, error) {
	start := d.off
	d.ctx, d.idx = "HDR", 0
	if d.left() < hdrFixedLen {
		return 0, d.truncated("", hdrFixedLen)
	}
	b := d.b[d.off : d.off+hdrFixedLen]
	if b[0] != Version {
		return 0, invalid(start, "HDR version", "version %d, want %d", b[0], Version)
	}
	h.Version = b[0]
	h.DataType = DataType(b[1])
	next := PayloadType(b[2])
	h.V = b[3]&0x80 != 0
	h.PRF = PRFFunc(b[3] & 0x7f)
	h.CSBID = binary.BigEndian.Uint32(b[4:])
	h.NumCS = b[8]
	h.CSIDMapType = CSIDMapType(b[9])
	h.SRTPIDs, h.GenericIDs = nil, nil
	d.off += hdrFixedLen
	switch h.CSIDMapType {
	case CSIDMapSRTPID:
		if h.NumCS > 0 {
			h.SRTPIDs = make([]SRTPIDEntry, h.NumCS)
		}
		for i := range h.SRTPIDs {
			if d.left() < 9 {
				d.ctx, d.idx = "HDR SRTP-ID entry", i+1
				return 0, d.truncated(fmt.Sprintf("of %d", h.NumCS), 9)
			}
			e := d.b[d.off:]
			h.SRTPIDs[i] = SRTPIDEntry{PolicyNo: e[0], SSRC: binary.BigEndian.Uint32(e[1:]), ROC: binary.BigEndian.Uint32(e[5:])}
			d.off += 9
		}
	case CSIDMapEmpty:
		// RFC 4563 §5: the map and policy are conveyed outside MIKEY; nothing follows.
	case CSIDMapGenericID:
		if h.NumCS > 0 {
			h.GenericIDs = make([]GenericIDEntry, h.NumCS)
		}
		d.ctx = "HDR GENERIC-ID block"
		for i := range h.GenericIDs {
			d.idx = i + 1
			if err := h.GenericIDs[i].parse(d); err != nil {
				return 0, err
			}
			for j := 0; j < i; j++ {
				if h.GenericIDs[j].CSID == h.GenericIDs[i].CSID {
					return 0, d.invalid(d.off, "CS ID", "CS ID %d appears twice", h.GenericIDs[i].CSID)
				}
			}
		}
	default:
		return 0, invalid(start+9, "HDR CS ID map type", "unknown map type %d", h.CSIDMapType)
	}
	return next, nil
}

func (e *GenericIDEntry) parse(d *decoder) error {
	if d.left() < 3 {
		return d.truncated("", 3)
	}
	e.CSID = d.b[d.off]
	e.ProtType = ProtType(d.b[d.off+1])
	e.S = d.b[d.off+2]&0x80 != 0
	np := int(d.b[d.off+2] & 0x7f)
	d.off += 3
	ps, err := d.bytes(np, "Ps")
	if err != nil {
		return err
	}
	e.PolicyNos = ps
	sdOff := d.off
	if e.SessionData, err = d.lenBytes(2, "Session Data"); err != nil {
		return err
	}
	if e.ProtType == ProtSRTP {
		if err := checkSRTPSessionData(e.S, len(e.SessionData)); err != nil {
			return &ParseError{Offset: sdOff, Field: d.name("Session Data"), Err: err}
		}
	}
	if e.SPI, err = d.lenBytes(1, "SPI"); err != nil {
		return err
	}
	return nil
}

// appendTo encodes the HDR with next as its Next Payload.
func (h *HDR) appendTo(b []byte, next PayloadType) ([]byte, error) {
	v := h.Version
	if v == 0 {
		v = Version
	}
	if v != Version {
		return nil, marshalError("HDR version", "version %d, want %d", v, Version)
	}
	if h.PRF > 0x7f {
		return nil, marshalError("HDR PRF func", "%d does not fit in 7 bits", h.PRF)
	}
	flags := byte(h.PRF)
	if h.V {
		flags |= 0x80
	}
	switch h.CSIDMapType {
	case CSIDMapSRTPID:
		if len(h.GenericIDs) != 0 || int(h.NumCS) != len(h.SRTPIDs) {
			return nil, marshalError("HDR #CS", "#CS %d but %d SRTP-ID entries and %d GENERIC-ID blocks", h.NumCS, len(h.SRTPIDs), len(h.GenericIDs))
		}
	case CSIDMapGenericID:
		if len(h.SRTPIDs) != 0 || int(h.NumCS) != len(h.GenericIDs) {
			return nil, marshalError("HDR #CS", "#CS %d but %d GENERIC-ID blocks and %d SRTP-ID entries", h.NumCS, len(h.GenericIDs), len(h.SRTPIDs))
		}
	case CSIDMapEmpty:
		if len(h.SRTPIDs) != 0 || len(h.GenericIDs) != 0 {
			return nil, marshalError("HDR CS ID map", "Empty map (RFC 4563) with map entries")
		}
	default:
		return nil, marshalError("HDR CS ID map type", "unknown map type %d", h.CSIDMapType)
	}
	b = append(b, v, byte(h.DataType), byte(next), flags)
	b = appendU32(b, h.CSBID)
	b = append(b, h.NumCS, byte(h.CSIDMapType))
	for _, e := range h.SRTPIDs {
		b = append(b, e.PolicyNo)
		b = appendU32(b, e.SSRC)
		b = appendU32(b, e.ROC)
	}
	for i := range h.GenericIDs {
		e := &h.GenericIDs[i]
		for j := 0; j < i; j++ {
			if h.GenericIDs[j].CSID == e.CSID {
				return nil, marshalError("HDR GENERIC-ID CS ID", "CS ID %d appears twice", e.CSID)
			}
		}
		if len(e.PolicyNos) > 0x7f {
			return nil, marshalError("HDR GENERIC-ID #P", "%d policies do not fit in 7 bits", len(e.PolicyNos))
		}
		if e.ProtType == ProtSRTP {
			if err := checkSRTPSessionData(e.S, len(e.SessionData)); err != nil {
				return nil, fmt.Errorf("mikey: marshal HDR GENERIC-ID CS %d: %w", e.CSID, err)
			}
		}
		sp := byte(len(e.PolicyNos))
		if e.S {
			sp |= 0x80
		}
		b = append(b, e.CSID, byte(e.ProtType), sp)
		b = append(b, e.PolicyNos...)
		var err error
		if b, err = appendLenBytes(b, 2, e.SessionData, "HDR GENERIC-ID Session Data"); err != nil {
			return nil, err
		}
		if b, err = appendLenBytes(b, 1, e.SPI, "HDR GENERIC-ID SPI"); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// ParseHDR decodes a HDR that fills b exactly and returns it with its Next Payload value.
func ParseHDR(b []byte) (HDR, PayloadType, error) {
	var h HDR
	d := &decoder{b: b, end: len(b)}
	next, err := h.parse(d)
	if err == nil && d.off != d.end {
		err = &ParseError{Offset: d.off, Field: "HDR", Err: fmt.Errorf("%w: %d bytes after the CS ID map", ErrTrailingBytes, d.left())}
	}
	return h, next, err
}

// Marshal encodes the HDR alone with the given Next Payload value.
func (h *HDR) Marshal(next PayloadType) ([]byte, error) { return h.appendTo(nil, next) }
