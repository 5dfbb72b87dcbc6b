package keymgmt

import (
	"context"
	"strings"

	"github.com/pion/sdp/v3"
)

// Attribute names.
const (
	// CryptoAttribute is RFC 4568's a=crypto (media level).
	CryptoAttribute = "crypto"
	// KeyMgmtAttribute is RFC 4567's a=key-mgmt (session or media level).
	KeyMgmtAttribute = "key-mgmt"
	// E2AEAttribute is the 3GPP e2ae indication (values "requested", "applied").
	E2AEAttribute = "3ge2ae"
)

// Lines are the key-management attributes of one SDP that concern the protected audio stream:
// the session-level ones and those of its m-line.
type Lines struct {
	Session []sdp.Attribute
	Media   []sdp.Attribute
}

// MediaValues returns the media-level values of attribute key.
func (l Lines) MediaValues(key string) []string { return attrValues(l.Media, key) }

func attrValues(attrs []sdp.Attribute, key string) []string {
	var out []string
	for _, a := range attrs {
		if a.Key == key {
			out = append(out, a.Value)
		}
	}
	return out
}

// KeyMgmtValues returns the keymgmt-data of the a=key-mgmt lines for protocol prtcl (e.g.
// "mikey") that apply to the stream: the media-level ones if any, else the session-level ones
// (RFC 4567 §3.1: media level overrides session level). The leading space RFC 4567's ABNF
// allows before prtcl-id is accepted.
func KeyMgmtValues(l Lines, prtcl string) []string {
	pick := func(attrs []sdp.Attribute) []string {
		var out []string
		for _, v := range attrValues(attrs, KeyMgmtAttribute) {
			id, data, ok := strings.Cut(strings.TrimLeft(v, " "), " ")
			if ok && strings.EqualFold(id, prtcl) {
				out = append(out, data)
			}
		}
		return out
	}
	if len(attrValues(l.Media, KeyMgmtAttribute)) > 0 {
		return pick(l.Media)
	}
	return pick(l.Session)
}

// Stream says what is being keyed, for methods that bind keys to identities and streams.
type Stream struct {
	// Local and Remote are the SIP identities (the MIKEY-TICKET IDRi and IDRr).
	Local, Remote string
	// SSRC is our RTP SSRC (MIKEY CS ID map, RFC 3830 §6.1.1); 0 if not fixed yet.
	SSRC uint32
	// SecureSignalling says the SDP travels over TLS to the next hop (our request leaves, or
	// the peer's arrived, over TLS). Without it SDES keys are refused unless the policy allows
	// them (Policy.AllowSDESWithoutTLS, RFC 4568 §8.3).
	SecureSignalling bool
}

// Method is one key-management protocol. SDES is implemented here; the MIKEY-TICKET/KMS
// method (RFC 6043 TRANSFER_INIT in the offer's a=key-mgmt:mikey, TRANSFER_RESP in the answer,
// RFC 4567 §3) implements the same interface with Name "mikey".
type Method interface {
	// Name is the key source reported in Keys.Method ("sdes", "mikey").
	Name() string
	// Present reports whether an offer's lines carry this method's attributes.
	Present(offer Lines) bool
	// Offer creates the lines to put into an offer and the state to process the answer.
	Offer(ctx context.Context, s Stream) (PendingOffer, error)
	// Answer processes an offer's lines and returns the answer's lines and the keys. A
	// failure is refused with 488.
	Answer(ctx context.Context, offer Lines, s Stream) (Lines, *Keys, error)
}

// PendingOffer is an offer sent and waiting for its answer.
type PendingOffer interface {
	// Lines are the attributes to put into the offer (keys included: for the SDP body only).
	Lines() Lines
	// Accept processes the answer's lines (RFC 4568 §7.1.3, RFC 4567 §3.1).
	Accept(ctx context.Context, answer Lines, s Stream) (*Keys, error)
}
