package sdpoa

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Errors of negotiation; a UA answers them with 488 and a Warning (RFC 3261 §21.4.26, §20.43:
// 304 media type not available, 305 incompatible media format).
var (
	ErrNoAudio       = errors.New("no usable audio m-line")
	ErrNoCommonCodec = errors.New("no common audio codec")
	ErrRejected      = errors.New("audio stream rejected by the answer")
	ErrMismatch      = errors.New("answer does not match the offer")
)

// DefaultPtime is the packet time we send and offer (RFC 4566 §6 a=ptime; media sends 20 ms).
const DefaultPtime = 20

// Local describes our end of the audio stream for an offer or an answer.
type Local struct {
	// Addr is our RTP address and port.
	Addr netip.AddrPort
	// RTCP is our RTCP address when RTCP is not multiplexed (RFC 3605 a=rtcp); invalid means
	// Addr's port + 1 (RFC 3550 §11).
	RTCP netip.AddrPort
	// Formats in our preference order; nil means DefaultFormats.
	Formats []Format
	// Ptime in ms; 0 means DefaultPtime.
	Ptime int
	// RTCPMux offers (or, answering, accepts) RFC 5761 multiplexing.
	RTCPMux   bool
	Direction Direction
	// Proto of an offer: ProtoAVP or ProtoSAVP. An answer always mirrors the offered proto.
	Proto string
	// Attributes are added to our audio m-line (key management lines).
	Attributes []Attribute
}

func (l *Local) formats() []Format {
	if len(l.Formats) == 0 {
		return DefaultFormats()
	}
	return l.Formats
}

func (l *Local) ptime() int {
	if l.Ptime <= 0 {
		return DefaultPtime
	}
	return l.Ptime
}

// Negotiated is the outcome of offer/answer for the audio stream, from our side.
type Negotiated struct {
	// Index is the audio m-line's position in both SDPs.
	Index int
	// Remote is where we send RTP; RemoteRTCP where we send RTCP without RTCP-mux.
	Remote, RemoteRTCP netip.AddrPort
	RTCPMux            bool
	// Codec is the audio format both sides use (the first one of the answer, RFC 3264 §6.1/§7).
	Codec Format
	// TelephoneEvent is the negotiated RFC 4733 payload type; 0 when none was agreed.
	TelephoneEvent uint8
	// Ptime is the peer's packet time (ms).
	Ptime int
	// Direction is ours: whether we send and receive.
	Direction Direction
	// Protected reports RTP/SAVP.
	Protected bool
	// RemoteMedia is the peer's m-line (its key-management attributes, for package keymgmt).
	RemoteMedia *Media
}

// NewOffer builds an offer with one audio m-line (RFC 3264 §5).
func NewOffer(origin Origin, l Local, sessionAttrs []Attribute) *Session {
	proto := l.Proto
	if proto == "" {
		proto = ProtoAVP
	}
	m := Media{Type: "audio", Addr: l.Addr, Proto: proto, Formats: append([]Format(nil), l.formats()...),
		Ptime: l.ptime(), RTCPMux: l.RTCPMux, RTCP: l.RTCP, Direction: l.Direction,
		Attributes: append([]Attribute(nil), l.Attributes...)}
	return &Session{Origin: origin, Attributes: sessionAttrs, Media: []Media{m}}
}

// SelectAudio finds the offered m-line we would answer: the first audio RTP m-line, not
// disabled, with a codec we support.
func SelectAudio(offer *Session, l Local) (int, error) {
	sawAudio := false
	for i := range offer.Media {
		m := &offer.Media[i]
		if m.Type != "audio" || !m.IsRTP() || m.Addr.Port() == 0 {
			continue
		}
		sawAudio = true
		if _, ok := firstCommon(m.Formats, l.formats()); ok {
			return i, nil
		}
	}
	if sawAudio {
		return -1, ErrNoCommonCodec
	}
	return -1, ErrNoAudio
}

// firstCommon returns the first format of theirs (their order) that is also ours, leaving out
// telephone-event.
func firstCommon(theirs, ours []Format) (Format, bool) {
	for _, t := range theirs {
		if t.IsTelephoneEvent() || t.Name == "" {
			continue
		}
		for _, o := range ours {
			if t.Same(o) {
				return t, true
			}
		}
	}
	return Format{}, false
}

// Answer builds the answer to offer (RFC 3264 §6): every m-line answered in order, the selected
// audio m-line with the common formats in the offerer's order and the offerer's payload types
// (§6.1), the mirrored direction narrowed by ours, the offered proto, and rtcp-mux only when
// offered and wanted (RFC 5761 §5.1.1); every other m-line rejected with port 0.
func Answer(offer *Session, origin Origin, l Local) (*Session, *Negotiated, error) {
	idx, err := SelectAudio(offer, l)
	if err != nil {
		return nil, nil, err
	}
	ans := &Session{Origin: origin}
	var n *Negotiated
	for i := range offer.Media {
		om := &offer.Media[i]
		if i != idx {
			rej := Media{Type: om.Type, Proto: om.Proto, Formats: om.Formats, RawFormats: om.RawFormats}
			// An m-line needs at least one format (RFC 4566 §5.14), even a rejected one.
			switch {
			case rej.IsRTP() && len(rej.Formats) == 0:
				rej.Formats = []Format{{PT: 0}}
			case !rej.IsRTP() && len(rej.RawFormats) == 0:
				rej.RawFormats = []string{"0"}
			}
			ans.Media = append(ans.Media, rej)
			continue
		}
		var fmts []Format
		var te uint8
		for _, f := range om.Formats {
			for _, o := range l.formats() {
				if f.Name != "" && f.Same(o) {
					if f.IsTelephoneEvent() {
						if te != 0 {
							break
						}
						te = f.PT
						if f.Fmtp == "" {
							f.Fmtp = o.Fmtp
						}
					}
					fmts = append(fmts, f)
					break
				}
			}
		}
		dir := om.Direction.Mirror().Intersect(l.Direction)
		mux := om.RTCPMux && l.RTCPMux
		am := Media{Type: "audio", Addr: l.Addr, Proto: om.Proto, Formats: fmts, Ptime: l.ptime(),
			RTCPMux: mux, Direction: dir, Attributes: append([]Attribute(nil), l.Attributes...)}
		if !mux {
			am.RTCP = l.RTCP
		}
		ans.Media = append(ans.Media, am)
		codec, _ := firstCommon(om.Formats, l.formats())
		n = &Negotiated{Index: i, Remote: om.Addr, RTCPMux: mux, Codec: codec, TelephoneEvent: te,
			Ptime: om.Ptime, Direction: dir, Protected: om.Protected(), RemoteMedia: om}
		n.RemoteRTCP = remoteRTCP(om, mux)
	}
	return ans, n, nil
}

func remoteRTCP(m *Media, mux bool) netip.AddrPort {
	switch {
	case mux:
		return m.Addr
	case m.RTCP.IsValid():
		return m.RTCP
	}
	return netip.AddrPortFrom(m.Addr.Addr(), m.Addr.Port()+1)
}

// AcceptAnswer processes the answer at the offerer (RFC 3264 §7): the same m-lines in the same
// order, the audio stream not rejected, the same proto, a codec we offered, rtcp-mux only if we
// offered it.
func AcceptAnswer(offer, answer *Session) (*Negotiated, error) {
	if len(answer.Media) != len(offer.Media) {
		return nil, fmt.Errorf("%w: %d m-lines for %d offered (RFC 3264 §6)", ErrMismatch, len(answer.Media), len(offer.Media))
	}
	// The audio stream is the first offered audio RTP m-line the answer did not reject (RFC 3264
	// §6: a rejected stream comes back with port 0).
	idx, offered := -1, false
	for i := range offer.Media {
		om := &offer.Media[i]
		if om.Type != "audio" || !om.IsRTP() || om.Addr.Port() == 0 {
			continue
		}
		offered = true
		if answer.Media[i].Addr.Port() != 0 {
			idx = i
			break
		}
	}
	if !offered {
		return nil, fmt.Errorf("%w: offer has no audio m-line", ErrMismatch)
	}
	if idx < 0 {
		return nil, ErrRejected
	}
	om, am := &offer.Media[idx], &answer.Media[idx]
	if am.Type != om.Type {
		return nil, fmt.Errorf("%w: m-line %d is %q, offered %q", ErrMismatch, idx, am.Type, om.Type)
	}
	if !strings.EqualFold(am.Proto, om.Proto) {
		return nil, fmt.Errorf("%w: proto %s, offered %s", ErrMismatch, am.Proto, om.Proto)
	}
	codec, ok := firstCommon(am.Formats, om.Formats)
	if !ok {
		return nil, fmt.Errorf("%w: answer names no audio format we offered", ErrNoCommonCodec)
	}
	var te uint8
	for _, f := range am.Formats {
		if f.IsTelephoneEvent() {
			for _, o := range om.Formats {
				if o.Same(f) {
					te = f.PT
				}
			}
			break
		}
	}
	if am.RTCPMux && !om.RTCPMux {
		return nil, fmt.Errorf("%w: rtcp-mux answered but not offered (RFC 5761 §5.1.1)", ErrMismatch)
	}
	dir := om.Direction.Intersect(am.Direction.Mirror())
	n := &Negotiated{Index: idx, Remote: am.Addr, RTCPMux: am.RTCPMux, Codec: codec, TelephoneEvent: te,
		Ptime: am.Ptime, Direction: dir, Protected: om.Protected(), RemoteMedia: am}
	n.RemoteRTCP = remoteRTCP(am, am.RTCPMux)
	return n, nil
}
