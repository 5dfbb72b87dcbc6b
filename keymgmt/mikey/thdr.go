package mikey

import (
	"encoding/binary"
	"fmt"
)

// THDR is the Ticket Header payload that begins the Ticket Data of a MIKEY base ticket (RFC 6043
// Appendix A.3): Next Payload (8) | THDR Data length (16) | THDR Data. It has no payload type number
// of its own, since nothing points at it: it is always first.
//
// RFC 6043 leaves THDR Data to the implementation. Ours is THDRVersion (1 byte) followed by the
// 32-bit big-endian id of the Ticket Protection Key (TPK) that protects the ticket, so that the
// KMS can rotate TPKs and any replica can find the right one (IDRpsk, the RFC's other way to name
// the TPK, stays free for its RFC 3830 use):
//
//	THDR Data = 0x01 | TPK key id (4 bytes)
type THDR struct {
	KeyID uint32
}

// THDRVersion is the first byte of our THDR Data.
const THDRVersion = 1

// thdrDataLen is the length of our THDR Data.
const thdrDataLen = 5

// appendTHDR encodes the THDR with next as its Next Payload.
func (h THDR) appendTHDR(b []byte, next PayloadType) []byte {
	b = append(b, byte(next), 0, thdrDataLen, THDRVersion)
	return binary.BigEndian.AppendUint32(b, h.KeyID)
}

// parseTHDR reads a THDR at the decoder's position and returns it with its Next Payload. THDR Data
// of another length or version is not ours: RFC 6043 A.3 says unexpected THDR Data SHOULD be
// ignored, but without the key id the ticket cannot be verified, so it is an error.
func parseTHDR(d *decoder) (THDR, PayloadType, error) {
	d.ctx, d.idx = "THDR", 0
	np, err := d.u8("Next Payload")
	if err != nil {
		return THDR{}, 0, err
	}
	off := d.off
	data, err := d.lenBytes(2, "THDR Data")
	if err != nil {
		return THDR{}, 0, err
	}
	if len(data) != thdrDataLen || data[0] != THDRVersion {
		return THDR{}, 0, d.invalid(off, "THDR Data", "%d bytes beginning %s: not THDR version %d with a 4-byte key id", len(data), firstByte(data), THDRVersion)
	}
	return THDR{KeyID: binary.BigEndian.Uint32(data[1:])}, PayloadType(np), nil
}

func firstByte(b []byte) string {
	if len(b) == 0 {
		return "(none)"
	}
	return fmt.Sprintf("%#02x", b[0])
}
