package keymgmt

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Config builds a Negotiator.
type Config struct {
	Policy Policy
	// Rand is the key source for SDES; required unless the mode is none.
	Rand io.Reader
	// KMS is the MIKEY-TICKET method; required for mode kms.
	KMS Method
}

// Negotiator applies one account's policy to offers and answers.
type Negotiator struct {
	policy Policy
	sdes   Method
	kms    Method
}

// New checks the policy and builds the Negotiator.
func New(cfg Config) (*Negotiator, error) {
	p := cfg.Policy
	if p.Requirement == "" {
		p.Requirement = Preferred
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	if p.Mode != ModeNone && cfg.Rand == nil {
		return nil, errors.New("keymgmt: a key source (Rand) is needed for SRTP")
	}
	if p.Mode == ModeKMS && cfg.KMS == nil {
		return nil, errors.New("keymgmt: policy kms needs a MIKEY-TICKET method (Config.KMS)")
	}
	return &Negotiator{policy: p, sdes: &SDES{Rand: cfg.Rand, Policy: p.SDES, E2AE: p.E2AE}, kms: cfg.KMS}, nil
}

// sdesAllowed says whether SDES keys may go into SDP carried as s says: over TLS, or anywhere
// when the policy allows it (RFC 4568 §8.3).
func (n *Negotiator) sdesAllowed(s Stream) bool {
	return s.SecureSignalling || n.policy.AllowSDESWithoutTLS
}

// Policy returns the policy in force.
func (n *Negotiator) Policy() Policy { return n.policy }

// Offer is an offer made under the policy.
type Offer struct {
	// Protected says the m-line is RTP/SAVP.
	Protected bool
	// Fallback, when not empty, says why a policy that prefers SRTP made a plain offer.
	Fallback string
	pending  PendingOffer
	policy   Policy
}

// Lines are the key-management lines to put into the offer.
func (o *Offer) Lines() Lines {
	if o.pending == nil {
		return Lines{}
	}
	return o.pending.Lines()
}

// Offer prepares an offer: RTP/AVP without lines for mode none, else RTP/SAVP with the lines of
// the policy's method (an RTP/SAVP offer cannot fall back to plain RTP without SDP capability
// negotiation, RFC 5939: with "preferred" the UA offers again without SRTP in a new INVITE when
// the protected offer is refused with 488, and as answerer accepts plain offers).
func (n *Negotiator) Offer(ctx context.Context, s Stream) (*Offer, error) {
	o := &Offer{policy: n.policy}
	var m Method
	switch n.policy.Mode {
	case ModeNone:
		return o, nil
	case ModeSDES:
		if !n.sdesAllowed(s) {
			if n.policy.Requirement == Mandatory {
				return nil, fmt.Errorf("keymgmt: sdes offer: %w", ErrSDESWithoutTLS)
			}
			// Preferred: protection is wanted where it can be had; keys readable by anyone on
			// the path would not protect the call, so offer plain RTP and say why.
			o.Fallback = ErrSDESWithoutTLS.Error()
			return o, nil
		}
		m = n.sdes
	case ModeKMS:
		m = n.kms
	}
	p, err := m.Offer(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("keymgmt: %s offer: %w", m.Name(), err)
	}
	o.Protected, o.pending = true, p
	return o, nil
}

// Accept processes the answer at the offerer. protected is whether the answer's m-line is
// RTP/SAVP. It returns nil keys for a plain stream.
func (o *Offer) Accept(ctx context.Context, protected bool, answer Lines, s Stream) (*Keys, error) {
	if protected != o.Protected {
		return nil, refuse(WarnMiscellaneous, nil, "answer proto differs from the offer (RFC 3264 §6.1)")
	}
	if !o.Protected {
		return nil, nil
	}
	return o.pending.Accept(ctx, answer, s)
}

// Answer processes a received offer. protected is whether its m-line is RTP/SAVP. The result
// has nil keys for a plain stream. A refusal is an *Error (488 with Warning).
func (n *Negotiator) Answer(ctx context.Context, protected bool, offer Lines, s Stream) (Lines, *Keys, error) {
	p := n.policy
	if !protected {
		if p.Mode != ModeNone && p.Requirement == Mandatory {
			return Lines{}, nil, refuse(WarnMiscellaneous, nil, "policy %s requires SRTP; offer is RTP/AVP", p)
		}
		return Lines{}, nil, nil
	}
	hasKMS := len(KeyMgmtValues(offer, "mikey")) > 0
	hasSDES := n.sdes.Present(offer)
	useKMS := p.Mode == ModeKMS && hasKMS
	useSDES := hasSDES && (p.Mode == ModeSDES || (p.Mode == ModeKMS && p.Requirement == Preferred && !hasKMS))
	switch {
	case useKMS:
		return n.kms.Answer(ctx, offer, s)
	case useSDES:
		if !n.sdesAllowed(s) {
			// RFC 3264 §6: an RTP/SAVP offer cannot be answered with plain RTP, so even a
			// preferred policy refuses; the offerer may try again without SRTP.
			return Lines{}, nil, refuse(WarnMiscellaneous, ErrSDESWithoutTLS, "a=crypto offer refused")
		}
		return n.sdes.Answer(ctx, offer, s)
	case p.Mode == ModeNone:
		return Lines{}, nil, refuse(WarnMiscellaneous, nil, "SRTP not enabled (policy none); offer is RTP/SAVP")
	case hasKMS && p.Mode == ModeSDES:
		return Lines{}, nil, refuse(WarnAttributeNotUnderstood, nil, "a=key-mgmt:mikey not supported by policy %s; a=crypto wanted", p)
	case hasSDES:
		return Lines{}, nil, refuse(WarnMiscellaneous, nil, "policy %s requires a=key-mgmt:mikey; offer has only a=crypto", p)
	}
	return Lines{}, nil, refuse(WarnMiscellaneous, nil, "RTP/SAVP offer without usable key management for policy %s", p)
}
