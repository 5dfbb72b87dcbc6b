package keymgmt

import (
	"context"
	"errors"
	"fmt"
)

// ErrRekeyPlain is returned by RekeyOffer for a stream without SRTP keys.
var ErrRekeyPlain = errors.New("keymgmt: rekey of a plain RTP stream")

// RekeyOffer makes a re-offer with new keys for a session keyed with k (RFC 4568 §7.1.4: "a
// new master key can be established"; RFC 4567 §3.1: rekeying is a new key-management
// message). The method stays the one in use:
//   - SDES: fresh a=crypto lines, one per suite of the policy in its preference order, each
//     with a new master key and salt; the answer's line becomes a new crypto context with
//     ROC 0 (RFC 4568 §6.4).
//   - MIKEY: a new ticket from the KMS and a new TRANSFER_INIT (RFC 6043 §4.2): a new Ticket
//     Transfer exchange with a new CSB ID, timestamp and RANDs, which the peer resolves like
//     an initial offer. The CSB update of RFC 6043 §5.2 (same CSB ID, no ticket) is not used.
//
// s names the identities, our SSRC (kept across the rekey: the stream continues) and whether
// the SDP rides TLS (SDES keys need it unless the policy allows otherwise, as for Offer). A KMS
// failure is returned as is and leaves k in force.
func (n *Negotiator) RekeyOffer(ctx context.Context, k *Keys, s Stream) (*Offer, error) {
	if k == nil {
		return nil, ErrRekeyPlain
	}
	var m Method
	switch k.Method {
	case "sdes":
		// The same gate as an initial offer (RFC 4568 §8.3); a rekey never falls back to plain
		// RTP, the stream's protection being fixed for the call.
		if !n.sdesAllowed(s) {
			return nil, fmt.Errorf("keymgmt: sdes rekey offer: %w", ErrSDESWithoutTLS)
		}
		m = n.sdes
	case "mikey":
		m = n.kms
	}
	if m == nil {
		return nil, fmt.Errorf("keymgmt: rekey: no %q method configured", k.Method)
	}
	p, err := m.Offer(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("keymgmt: %s rekey offer: %w", m.Name(), err)
	}
	return &Offer{Protected: true, policy: n.policy, pending: p}, nil
}

// AnswerReoffer answers a re-offer within a session keyed with k (nil: plain RTP). A re-offer
// repeating the active keys (Reanswer) keeps k itself: same contexts, ROC kept (RFC 3711
// §3.3.1), as for hold and resume. A re-offer with new keys is answered like an initial
// offer under the policy (SDES: the first acceptable a=crypto line, answered with a new key
// of ours; MIKEY: the new TRANSFER_INIT resolved at the KMS and answered with TRANSFER_RESP),
// and the new Keys are returned: the caller installs them as new crypto contexts.
//
// A change between RTP/AVP and RTP/SAVP is refused as before: the stream's protection is
// fixed for the call (and mandatory policy could not drop it anyway).
func (n *Negotiator) AnswerReoffer(ctx context.Context, k *Keys, protected bool, offer Lines, s Stream) (Lines, *Keys, error) {
	if k == nil || !protected {
		l, err := n.Reanswer(k, protected, offer)
		return l, k, err
	}
	if l, err := n.Reanswer(k, protected, offer); err == nil {
		return l, k, nil
	}
	l, nk, err := n.Answer(ctx, protected, offer, s)
	if err != nil {
		return Lines{}, nil, err
	}
	return l, nk, nil
}
