package keymgmt

import (
	"bytes"
	"context"
	"slices"

	"github.com/pion/sdp/v3"

	"github.com/imsphone/imsphone/keymgmt/sdes"
)

// Reoffer makes the key lines of a re-offer that keeps the session's keys (a re-INVITE for hold
// or resume): our active a=crypto line again, same tag, suite and key. RFC 4568 §7.1.4 demands a
// new master key (and so a new context with ROC 0) only when the address or port changes;
// keeping address and key keeps the SRTP cryptographic context and with it the ROC (RFC 3711
// §3.3.1). k nil means a plain stream. Rekeying by re-INVITE is not offered.
func (n *Negotiator) Reoffer(k *Keys) *Offer {
	if k == nil {
		return &Offer{policy: n.policy}
	}
	return &Offer{Protected: true, policy: n.policy, pending: &keepPending{k: k}}
}

type keepPending struct{ k *Keys }

func (p *keepPending) Lines() Lines { return p.k.local }

// Accept requires the answer to keep the peer's key too.
func (p *keepPending) Accept(_ context.Context, answer Lines, _ Stream) (*Keys, error) {
	if !sameKeyLines(answer, p.k.peer) {
		return nil, refuse(WarnMiscellaneous, nil, "re-offer answer changes the SRTP key; rekey by re-INVITE not supported")
	}
	return p.k, nil
}

// Reanswer answers a re-offer within a session keyed with k: the offer must repeat the peer's
// active key (RFC 4568 §7.1.4, no new key; the caller checks that the address did not change,
// which would require one) or its a=key-mgmt message unchanged; the answer repeats ours.
//
// An SDES re-offer may carry several a=crypto lines, as an initial offer does (RFC 4568 §7.1.4:
// "all negotiated aspects ... can be modified"; some peers simply repeat their whole initial
// offer): one of them repeating the active suite and key keeps the context, and our answer is
// our active line under that line's tag (§7.1.2: the answer's tag is the selected offer's).
func (n *Negotiator) Reanswer(k *Keys, protected bool, offer Lines) (Lines, error) {
	switch {
	case k == nil && !protected:
		return Lines{}, nil
	case k == nil || !protected:
		return Lines{}, refuse(WarnMiscellaneous, nil, "re-offer changes between RTP/AVP and RTP/SAVP")
	}
	if active := k.peer.MediaValues(CryptoAttribute); len(active) == 1 {
		tag, ok := matchActiveCrypto(offer.MediaValues(CryptoAttribute), active[0])
		if !ok {
			return Lines{}, refuse(WarnMiscellaneous, nil, "re-offer changes the SRTP key; rekey by re-INVITE not supported")
		}
		return retagCrypto(k.local, tag)
	}
	if !sameKeyLines(offer, k.peer) {
		return Lines{}, refuse(WarnMiscellaneous, nil, "re-offer changes the SRTP key; rekey by re-INVITE not supported")
	}
	return k.local, nil
}

// matchActiveCrypto returns the tag of the first offered a=crypto line with the active line's
// suite and keys (compared by meaning; the offerer may have renumbered its tags).
func matchActiveCrypto(offered []string, active string) (uint32, bool) {
	a, err := sdes.Parse(active)
	if err != nil {
		return 0, false
	}
	for _, o := range offered {
		c, err := sdes.Parse(o)
		if err != nil {
			continue
		}
		if sameCryptoKeys(c, a) {
			return c.Tag, true
		}
	}
	return 0, false
}

// retagCrypto returns l with its one a=crypto line under tag.
func retagCrypto(l Lines, tag uint32) (Lines, error) {
	out := Lines{Session: l.Session, Media: make([]sdp.Attribute, len(l.Media))}
	copy(out.Media, l.Media)
	for i, a := range out.Media {
		if a.Key != CryptoAttribute {
			continue
		}
		c, err := sdes.Parse(a.Value)
		if err != nil {
			return Lines{}, refuse(WarnMiscellaneous, err, "our active a=crypto line does not parse")
		}
		if c.Tag != tag {
			c.Tag = tag
			out.Media[i] = sdp.NewAttribute(CryptoAttribute, c.Marshal())
		}
	}
	return out, nil
}

// sameKeyLines reports whether got repeats the active key lines want: one a=crypto line of the
// same meaning, or (MIKEY) the same a=key-mgmt:mikey messages byte for byte, which a receiver
// recognises as the exchange already done rather than a new one to process (RFC 4567 §3.1:
// rekeying is a new key-management message, RFC 6043 §5.3 a CSB update with a new T).
func sameKeyLines(got, want Lines) bool {
	if w := want.MediaValues(CryptoAttribute); len(w) > 0 {
		return sameCrypto(got.MediaValues(CryptoAttribute), w)
	}
	w, g := KeyMgmtValues(want, "mikey"), KeyMgmtValues(got, "mikey")
	return len(w) > 0 && slices.Equal(w, g)
}

// sameCrypto compares one a=crypto line each by meaning (tag, suite, keys), not spelling.
func sameCrypto(got, want []string) bool {
	if len(got) != 1 || len(want) != 1 {
		return false
	}
	a, err := sdes.Parse(got[0])
	if err != nil {
		return false
	}
	b, err := sdes.Parse(want[0])
	return err == nil && a.Tag == b.Tag && sameCryptoKeys(a, b)
}

// sameCryptoKeys reports whether two a=crypto lines have the same suite and master keys (key,
// salt and MKI).
func sameCryptoKeys(a, b *sdes.Crypto) bool {
	if a.Suite != b.Suite || len(a.Keys) != len(b.Keys) {
		return false
	}
	for i := range a.Keys {
		if !bytes.Equal(a.Keys[i].KeySalt, b.Keys[i].KeySalt) || !bytes.Equal(a.Keys[i].MKI, b.Keys[i].MKI) {
			return false
		}
	}
	return true
}
