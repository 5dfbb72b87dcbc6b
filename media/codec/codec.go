package codec

import (
	"errors"
	"fmt"
	"strings"
)

// Codec is an audio codec for RTP. Implementations are stateless or keep state per direction, so
// a Stream uses one Codec value for sending and another for receiving when the codec has state.
type Codec interface {
	// Name is the SDP rtpmap encoding name, e.g. "PCMU".
	Name() string
	// PayloadType is the RFC 3551 static payload type, or the default dynamic one.
	PayloadType() uint8
	// ClockRate is the RTP clock rate in Hz (8000 for G.711, RFC 3551 §4.5.14).
	ClockRate() int
	// Channels is the number of audio channels in the RTP payload.
	Channels() int
	// Encode appends the encoded frame of pcm (16-bit linear, mono, at ClockRate, or at
	// PCMRate for a PCMRater) to dst.
	Encode(dst []byte, pcm []int16) []byte
	// Decode appends the decoded samples of payload to dst.
	Decode(dst []int16, payload []byte) ([]int16, error)
}

// ErrUnknownCodec is returned (wrapped) when a name or payload type has no codec.
var ErrUnknownCodec = errors.New("codec: unknown codec")

// Registry maps SDP encoding names and payload types to codecs. The zero value is empty; Default
// returns one with the built-in codecs. A Registry is not safe for concurrent Register calls.
type Registry struct {
	byName map[string]Codec
	byPT   map[uint8]Codec
}

// Default returns a new Registry holding PCMU and PCMA.
func Default() *Registry {
	r := &Registry{}
	r.Register(PCMU{})
	r.Register(PCMA{})
	return r
}

// Register adds c, replacing any codec with the same name or payload type.
func (r *Registry) Register(c Codec) {
	if r.byName == nil {
		r.byName = make(map[string]Codec)
		r.byPT = make(map[uint8]Codec)
	}
	r.byName[strings.ToUpper(c.Name())] = c
	r.byPT[c.PayloadType()] = c
}

// ByName finds a codec by its SDP encoding name, case-insensitively (RFC 4566 §6: encoding
// names are case-insensitive).
func (r *Registry) ByName(name string) (Codec, error) {
	if c, ok := r.byName[strings.ToUpper(name)]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("%w: name %q", ErrUnknownCodec, name)
}

// ByPayloadType finds a codec by its RTP payload type.
func (r *Registry) ByPayloadType(pt uint8) (Codec, error) {
	if c, ok := r.byPT[pt]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("%w: payload type %d", ErrUnknownCodec, pt)
}

// Names lists the registered encoding names in upper case, in no particular order.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.byName))
	for n := range r.byName {
		out = append(out, n)
	}
	return out
}

// ByName finds a built-in codec by SDP encoding name, case-insensitively.
func ByName(name string) (Codec, error) {
	switch strings.ToUpper(name) {
	case "PCMU":
		return PCMU{}, nil
	case "PCMA":
		return PCMA{}, nil
	}
	return nil, fmt.Errorf("%w: name %q", ErrUnknownCodec, name)
}

// ByPayloadType finds a built-in codec by its RFC 3551 static payload type.
func ByPayloadType(pt uint8) (Codec, error) {
	switch pt {
	case PayloadTypePCMU:
		return PCMU{}, nil
	case PayloadTypePCMA:
		return PCMA{}, nil
	}
	return nil, fmt.Errorf("%w: payload type %d", ErrUnknownCodec, pt)
}

// PCMRater is implemented by codecs whose PCM sampling rate differs from their RTP clock rate:
// G.722 samples at 16 kHz but keeps the 8000 Hz RTP clock of RFC 3551 §4.5.2 for backward
// compatibility. Encode and Decode of such a codec work at PCMRate.
type PCMRater interface {
	PCMRate() int
}

// PCMRate is the sampling rate of c's PCM: PCMRate when c implements PCMRater, else its RTP
// clock rate (as for G.711).
func PCMRate(c Codec) int {
	if r, ok := c.(PCMRater); ok {
		return r.PCMRate()
	}
	return c.ClockRate()
}
