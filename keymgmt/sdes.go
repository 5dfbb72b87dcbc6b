package keymgmt

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/imsphone/imsphone/keymgmt/sdes"
	"github.com/pion/sdp/v3"
)

// SDES is the RFC 4568 method.
type SDES struct {
	Rand   io.Reader
	Policy sdes.Policy
	// E2AE adds a=3ge2ae:requested to offers.
	E2AE bool
}

// Name implements Method.
func (*SDES) Name() string { return "sdes" }

// Present implements Method.
func (*SDES) Present(offer Lines) bool { return len(offer.MediaValues(CryptoAttribute)) > 0 }

type sdesPending struct {
	m     *SDES
	offer *sdes.Offer
	lines Lines
}

// Offer implements Method (RFC 4568 §7.1.1: one a=crypto per suite, preference order).
func (m *SDES) Offer(_ context.Context, _ Stream) (PendingOffer, error) {
	o, err := sdes.NewOffer(m.Rand, m.Policy)
	if err != nil {
		return nil, fmt.Errorf("sdes offer: %w", err)
	}
	p := &sdesPending{m: m, offer: o}
	for _, v := range o.Attributes() {
		p.lines.Media = append(p.lines.Media, sdp.NewAttribute(CryptoAttribute, v))
	}
	if m.E2AE {
		p.lines.Media = append(p.lines.Media, sdp.NewAttribute(E2AEAttribute, "requested"))
	}
	return p, nil
}

func (p *sdesPending) Lines() Lines { return p.lines }

// Accept implements PendingOffer: exactly one a=crypto in the answer (RFC 4568 §7.1.2).
func (p *sdesPending) Accept(_ context.Context, answer Lines, _ Stream) (*Keys, error) {
	vals := answer.MediaValues(CryptoAttribute)
	if len(vals) != 1 {
		return nil, refuse(WarnMiscellaneous, nil, "answer has %d a=crypto lines, want 1 (RFC 4568 §7.1.2)", len(vals))
	}
	n, err := sdes.AcceptAnswer(p.m.Policy, p.offer, vals[0])
	if err != nil {
		return nil, refuse(WarnMiscellaneous, err, "a=crypto answer refused")
	}
	k, err := keysFromSDES(n)
	if err != nil {
		return nil, err
	}
	for _, l := range p.offer.Lines {
		if l.Tag == n.Tag {
			k.local = Lines{Media: []sdp.Attribute{sdp.NewAttribute(CryptoAttribute, l.Marshal())}}
		}
	}
	k.peer = Lines{Media: []sdp.Attribute{sdp.NewAttribute(CryptoAttribute, vals[0])}}
	for _, v := range answer.MediaValues(E2AEAttribute) {
		if v == "applied" {
			k.E2AE = true
		}
	}
	return k, nil
}

// Answer implements Method (RFC 4568 §7.1.2: the first acceptable line in the offerer's order).
func (m *SDES) Answer(_ context.Context, offer Lines, _ Stream) (Lines, *Keys, error) {
	c, n, err := sdes.Answer(m.Rand, m.Policy, offer.MediaValues(CryptoAttribute))
	if err != nil {
		var ne *sdes.NegotiationError
		if errors.As(err, &ne) {
			return Lines{}, nil, refuse(WarnMiscellaneous, nil, "no acceptable a=crypto: %s", ne.WarningText())
		}
		return Lines{}, nil, refuse(WarnMiscellaneous, err, "a=crypto offer refused")
	}
	k, err := keysFromSDES(n)
	if err != nil {
		return Lines{}, nil, err
	}
	for _, v := range offer.MediaValues(E2AEAttribute) {
		if v == "requested" {
			k.E2AE = true
		}
	}
	for _, v := range offer.MediaValues(CryptoAttribute) {
		if oc, err := sdes.Parse(v); err == nil && oc.Tag == n.Tag {
			k.peer = Lines{Media: []sdp.Attribute{sdp.NewAttribute(CryptoAttribute, v)}}
		}
	}
	k.local = Lines{Media: []sdp.Attribute{sdp.NewAttribute(CryptoAttribute, c.Marshal())}}
	return k.local, k, nil
}

func keysFromSDES(n *sdes.Negotiated) (*Keys, error) {
	conv := func(k sdes.Keys) (SRTP, error) {
		if len(k.MoreKeys) > 0 {
			return SRTP{}, refuse(WarnMiscellaneous, nil, "a=crypto with %d master keys: one key per line supported", 1+len(k.MoreKeys))
		}
		return SRTP{Profile: k.Profile, MasterKey: k.Key, MasterSalt: k.Salt, MKI: k.MKI,
			EncryptSRTP: k.EncryptSRTP, EncryptSRTCP: k.EncryptSRTCP}, nil // ROC 0: RFC 4568 §6.4
	}
	send, err := conv(n.Send)
	if err != nil {
		return nil, err
	}
	recv, err := conv(n.Receive)
	if err != nil {
		return nil, err
	}
	return &Keys{Method: "sdes", Suite: n.Suite.Name, Send: send, Recv: recv}, nil
}
