package codec

import "github.com/zaf/g711"

// RFC 3551 Table 4 static payload types.
const (
	PayloadTypePCMU uint8 = 0
	PayloadTypePCMA uint8 = 8
)

// G711ClockRate is the sampling rate of G.711 and its RTP clock (RFC 3551 §4.5.14).
const G711ClockRate = 8000

// PCMU is ITU-T G.711 µ-law. Samples are 16-bit linear; the 14-bit G.711 range is scaled by 4,
// so the largest decoded magnitude is 32124.
type PCMU struct{}

// Name implements Codec.
func (PCMU) Name() string { return "PCMU" }

// PayloadType implements Codec.
func (PCMU) PayloadType() uint8 { return PayloadTypePCMU }

// ClockRate implements Codec.
func (PCMU) ClockRate() int { return G711ClockRate }

// Channels implements Codec.
func (PCMU) Channels() int { return 1 }

// Encode implements Codec: one octet per sample.
func (PCMU) Encode(dst []byte, pcm []int16) []byte {
	dst = grow(dst, len(pcm))
	out := dst[len(dst)-len(pcm):]
	for i, s := range pcm {
		out[i] = g711.EncodeUlawFrame(s)
	}
	return dst
}

// Decode implements Codec. Every octet is a valid µ-law code, so it never fails.
func (PCMU) Decode(dst []int16, payload []byte) ([]int16, error) {
	dst = growPCM(dst, len(payload))
	out := dst[len(dst)-len(payload):]
	for i, b := range payload {
		out[i] = g711.DecodeUlawFrame(b)
	}
	return dst, nil
}

// PCMA is ITU-T G.711 A-law. Samples are 16-bit linear; the 13-bit G.711 range is scaled by 8,
// so the largest decoded magnitude is 32256.
type PCMA struct{}

// Name implements Codec.
func (PCMA) Name() string { return "PCMA" }

// PayloadType implements Codec.
func (PCMA) PayloadType() uint8 { return PayloadTypePCMA }

// ClockRate implements Codec.
func (PCMA) ClockRate() int { return G711ClockRate }

// Channels implements Codec.
func (PCMA) Channels() int { return 1 }

// Encode implements Codec: one octet per sample.
func (PCMA) Encode(dst []byte, pcm []int16) []byte {
	dst = grow(dst, len(pcm))
	out := dst[len(dst)-len(pcm):]
	for i, s := range pcm {
		out[i] = g711.EncodeAlawFrame(s)
	}
	return dst
}

// Decode implements Codec. Every octet is a valid A-law code, so it never fails.
func (PCMA) Decode(dst []int16, payload []byte) ([]int16, error) {
	dst = growPCM(dst, len(payload))
	out := dst[len(dst)-len(payload):]
	for i, b := range payload {
		out[i] = g711.DecodeAlawFrame(b)
	}
	return dst, nil
}

// grow extends dst by n octets, reallocating only when its capacity is short.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) < n {
		nd := make([]byte, len(dst), len(dst)+n)
		copy(nd, dst)
		dst = nd
	}
	return dst[:len(dst)+n]
}

func growPCM(dst []int16, n int) []int16 {
	if cap(dst)-len(dst) < n {
		nd := make([]int16, len(dst), len(dst)+n)
		copy(nd, dst)
		dst = nd
	}
	return dst[:len(dst)+n]
}
