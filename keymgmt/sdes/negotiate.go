package sdes

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Policy is what this endpoint accepts and offers.
type Policy struct {
	// Suites are the suites we allow, in our preference order for offers. Empty means
	// DefaultSuites. Names not usable with pion/srtp/v2 are an error.
	Suites []string
	// AllowUnencryptedSRTP and AllowUnencryptedSRTCP accept an offer or answer with
	// UNENCRYPTED_SRTP / UNENCRYPTED_SRTCP (RFC 4568 §6.3.2). Authentication stays on.
	AllowUnencryptedSRTP  bool
	AllowUnencryptedSRTCP bool
	// MKILen, when not 0, gives our keys an MKI of this many octets (value 1), so that a
	// later rekey can switch keys without a gap (RFC 3711 §8.1).
	MKILen int
	// Lifetime, when not 0, is signalled as our keys' lifetime in packets.
	Lifetime uint64
}

func (p Policy) suites() ([]Suite, error) {
	names := p.Suites
	if len(names) == 0 {
		names = DefaultSuites()
	}
	out := make([]Suite, 0, len(names))
	for _, n := range names {
		s, ok := LookupSuite(n)
		if !ok || !s.Usable {
			return nil, fmt.Errorf("sdes: policy: crypto suite %q is not usable", n)
		}
		out = append(out, s)
	}
	if p.MKILen < 0 || p.MKILen > maxMKILen {
		return nil, fmt.Errorf("sdes: policy: MKI length %d not in 0..%d", p.MKILen, maxMKILen)
	}
	if p.Lifetime > maxLifetime {
		return nil, fmt.Errorf("sdes: policy: lifetime above 2^48")
	}
	return out, nil
}

func (p Policy) allows(s Suite, all []Suite) bool {
	for _, a := range all {
		if a.Name == s.Name {
			return true
		}
	}
	return false
}

// Negotiated is the outcome of an offer/answer: the tag and suite chosen, and the keys of
// each direction. Send protects what we send; Receive checks what the peer sends (RFC 4568
// §7.1.1: each side's inline key protects what that side transmits).
type Negotiated struct {
	Tag     uint32
	Suite   Suite
	Send    Keys
	Receive Keys
}

func (n *Negotiated) String() string {
	return fmt.Sprintf("tag=%d send{%s} receive{%s}", n.Tag, n.Send, n.Receive)
}

// NegotiationError says why no offered line could be accepted; the text suits a SIP 488
// Warning (RFC 4568 §7.1.2: reject the media stream). It carries no key material.
type NegotiationError struct {
	// Reasons holds one entry per offered or answered line, in order.
	Reasons []string
}

func (e *NegotiationError) Error() string {
	return "sdes: no acceptable crypto attribute: " + strings.Join(e.Reasons, "; ")
}

// maxWarnText bounds the Warning text so one hostile offer cannot bloat the 488.
const maxWarnText = 240

// WarningText is the reason as the content of a SIP Warning warn-text quoted-string
// (RFC 3261 §20.43, §25.1: '"' and '\\' escaped, control characters dropped), cut to a
// bounded length. The caller adds the quotes, code and agent.
func (e *NegotiationError) WarningText() string {
	var b strings.Builder
	for _, r := range strings.Join(e.Reasons, "; ") {
		if b.Len() >= maxWarnText {
			b.WriteString("...")
			break
		}
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// acceptable applies our local policy to a valid line (RFC 4568 §7.1.2 and §7.1.3: every
// parameter must be acceptable).
func (p Policy) acceptable(c *Crypto, all []Suite) (Suite, error) {
	s, ok := LookupSuite(c.Suite)
	switch {
	case !ok:
		return s, fmt.Errorf("crypto suite %s unknown", c.Suite)
	case !s.Usable:
		return s, fmt.Errorf("crypto suite %s not supported", s.Name)
	case !p.allows(s, all):
		return s, fmt.Errorf("crypto suite %s not allowed by policy", s.Name)
	case c.UnauthenticatedSRTP:
		return s, fmt.Errorf("UNAUTHENTICATED_SRTP refused: SRTP integrity is mandatory")
	case c.HasKDR && c.KDR != 0:
		return s, fmt.Errorf("KDR=%d refused: only a single key derivation (KDR 0) is supported", c.KDR)
	case c.FECKeys != nil:
		return s, fmt.Errorf("FEC_KEY refused: FEC streams are not supported")
	case c.UnencryptedSRTP && !p.AllowUnencryptedSRTP:
		return s, fmt.Errorf("UNENCRYPTED_SRTP refused by policy")
	case c.UnencryptedSRTCP && !p.AllowUnencryptedSRTCP:
		return s, fmt.Errorf("UNENCRYPTED_SRTCP refused by policy")
	}
	if m := c.Mandatory(); len(m) > 0 {
		return s, fmt.Errorf("unknown mandatory session parameter %q (RFC 4568 §6.3.7)", m[0])
	}
	return s, nil
}

// newKey makes our own key parameter for suite s under the policy.
func (p Policy) newKey(rand io.Reader, s Suite) (KeyParam, error) {
	ks, err := GenerateKeySalt(rand, s)
	if err != nil {
		return KeyParam{}, err
	}
	kp := KeyParam{KeySalt: ks, Lifetime: p.Lifetime}
	if p.MKILen > 0 {
		kp.MKI = make([]byte, p.MKILen)
		kp.MKI[p.MKILen-1] = 1
	}
	return kp, nil
}

// Offer is an SDES offer for one media description: the lines in preference order, holding
// our keys until the answer arrives.
type Offer struct {
	Lines []*Crypto
}

// Attributes returns the a=crypto values to put in the SDP, keys included.
func (o *Offer) Attributes() []string {
	out := make([]string, len(o.Lines))
	for i, c := range o.Lines {
		out[i] = c.Marshal()
	}
	return out
}

// String lists the lines with keys redacted.
func (o *Offer) String() string {
	parts := make([]string, len(o.Lines))
	for i, c := range o.Lines {
		parts[i] = c.String()
	}
	return strings.Join(parts, ", ")
}

// NewOffer builds an offer with one line per allowed suite, tags 1..n in preference order
// and a fresh key per line (RFC 4568 §7.1.1, §6.1: keys unique in the SDP).
func NewOffer(rand io.Reader, p Policy) (*Offer, error) {
	all, err := p.suites()
	if err != nil {
		return nil, err
	}
	o := &Offer{}
	for i, s := range all {
		kp, err := p.newKey(rand, s)
		if err != nil {
			return nil, err
		}
		for _, prev := range o.Lines {
			if n := min(len(prev.Keys[0].KeySalt), len(kp.KeySalt)); bytes.Equal(prev.Keys[0].KeySalt[:n], kp.KeySalt[:n]) {
				return nil, fmt.Errorf("sdes: offer: random source repeated a key")
			}
		}
		o.Lines = append(o.Lines, &Crypto{Tag: uint32(i + 1), Suite: s.Name, Keys: []KeyParam{kp}})
	}
	return o, nil
}

// Answer selects the first offered line that is valid and acceptable (RFC 4568 §7.1.2: the
// offerer's order), echoes its tag and suite with a fresh key of our own and the negotiated
// UNENCRYPTED_* parameters, and returns the answer line with the negotiated keys. offered
// are the a=crypto values of one media description. If none is acceptable the error is a
// *NegotiationError naming each line's reason.
func Answer(rand io.Reader, p Policy, offered []string) (*Crypto, *Negotiated, error) {
	all, err := p.suites()
	if err != nil {
		return nil, nil, err
	}
	lines := make([]*Crypto, len(offered))
	tags := map[uint32]bool{}
	ne := &NegotiationError{}
	for i, v := range offered {
		c, err := Parse(v)
		if err != nil {
			ne.Reasons = append(ne.Reasons, fmt.Sprintf("line %d invalid: %v", i+1, err))
			continue
		}
		if tags[c.Tag] {
			// RFC 4568 §4.1: tags are unique per media line; an answer could not say which.
			return nil, nil, fmt.Errorf("sdes: offer repeats tag %d", c.Tag)
		}
		tags[c.Tag] = true
		lines[i] = c
	}
	for _, c := range lines {
		if c == nil {
			continue
		}
		s, err := p.acceptable(c, all)
		if err != nil {
			ne.Reasons = append(ne.Reasons, fmt.Sprintf("tag %d: %v", c.Tag, err))
			continue
		}
		kp, err := p.newKey(rand, s)
		if err != nil {
			return nil, nil, err
		}
		for _, theirs := range c.Keys {
			// RFC 4568 §7.1.2: the answer's keys differ from the offer's.
			if bytes.Equal(theirs.KeySalt, kp.KeySalt) {
				return nil, nil, fmt.Errorf("sdes: answer: generated key equals an offered key")
			}
		}
		ans := &Crypto{
			Tag: c.Tag, Suite: s.Name, Keys: []KeyParam{kp},
			UnencryptedSRTP: c.UnencryptedSRTP, UnencryptedSRTCP: c.UnencryptedSRTCP,
		}
		return ans, &Negotiated{Tag: c.Tag, Suite: s, Send: keysFrom(s, ans), Receive: keysFrom(s, c)}, nil
	}
	if len(offered) == 0 {
		ne.Reasons = append(ne.Reasons, "no crypto attribute offered")
	}
	return nil, nil, ne
}

// AcceptAnswer checks the answer's a=crypto value against our offer (RFC 4568 §7.1.3): the
// tag names an offered line, the suite is that line's, every parameter is acceptable, no
// UNENCRYPTED_* appears that we did not offer, and the answerer's key is not one of ours.
func AcceptAnswer(p Policy, o *Offer, answer string) (*Negotiated, error) {
	all, err := p.suites()
	if err != nil {
		return nil, err
	}
	a, err := Parse(answer)
	if err != nil {
		return nil, &NegotiationError{Reasons: []string{fmt.Sprintf("answer invalid: %v", err)}}
	}
	fail := func(format string, args ...any) error {
		return &NegotiationError{Reasons: []string{fmt.Sprintf("answer tag %d: ", a.Tag) + fmt.Sprintf(format, args...)}}
	}
	var ours *Crypto
	for _, c := range o.Lines {
		if c.Tag == a.Tag {
			ours = c
		}
	}
	if ours == nil {
		return nil, fail("tag was not offered")
	}
	if !strings.EqualFold(ours.Suite, a.Suite) {
		return nil, fail("suite %s differs from the offered %s", a.Suite, ours.Suite)
	}
	s, err := p.acceptable(a, all)
	if err != nil {
		return nil, fail("%v", err)
	}
	if a.UnencryptedSRTP && !ours.UnencryptedSRTP || a.UnencryptedSRTCP && !ours.UnencryptedSRTCP {
		return nil, fail("UNENCRYPTED_* parameter that was not offered")
	}
	for _, theirs := range a.Keys {
		for _, c := range o.Lines {
			for _, k := range c.Keys {
				if bytes.Equal(theirs.KeySalt, k.KeySalt) {
					return nil, fail("answer reuses an offered key (RFC 4568 §7.1.2)")
				}
			}
		}
	}
	send := *ours
	send.UnencryptedSRTP, send.UnencryptedSRTCP = a.UnencryptedSRTP, a.UnencryptedSRTCP
	send.WSH = 0
	recv := keysFrom(s, a)
	return &Negotiated{Tag: a.Tag, Suite: s, Send: keysFrom(s, &send), Receive: recv}, nil
}
